"""Deciding what to do with ranked candidates: answer, suggest, or fall back honestly."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.core.knowledge import Entry
from bot.core.matcher import Analysis, Candidate


class Kind(StrEnum):
    """The ways the bot can reply to a question."""

    ANSWER = "answer"
    SUGGEST = "suggest"
    FALLBACK = "fallback"
    SMALL_TALK = "small_talk"
    """A bare greeting or thanks (decided by the use case, ``service``, not by ``decide``)."""


@dataclass(frozen=True)
class Thresholds:
    """Confidence bars; defaults measured with ``esscard-bot eval`` on ``tests/data``."""

    answer: float = 0.50
    """The top candidate needs at least this confidence to be answered..."""
    lead: float = 0.05
    """...and must lead the runner-up by at least this much,"""
    sure: float = 0.65
    """...unless its confidence reaches this; then it only needs to lead by more than"""
    margin: float = 0.0
    """...this (a tie is never answered)."""
    suggest: float = 0.30
    """Candidates at or above this are offered as "did you mean"."""
    max_suggestions: int = 3
    veto_words: int = 10
    """An out-of-scope word vetoes an answer in questions of at most this many words (0: all);
    in a longer story it is often an aside ("前几个月被辞退了"), and only its weight counts."""
    long_question: int = 25
    """A question of at least this many words is a story: its weight is spread over many of
    them, so its best entry scores lower (0: no such rule)..."""
    long_answer: float = 0.42
    """...and it is answered from this confidence,"""
    long_margin: float = 0.05
    """...when its best entry leads the runner-up by at least this much. Over every labelled
    set's stories: 64 of 73 answered right, none wrong, 5 of 29 out-of-scope ones answered."""
    declined_within: float = 0.1
    """A question holding a telling word no entry uses, or one the best entry lacks and a
    question to decline has, is declined when that question to decline scores within this
    much of the best entry, or more (at least 0; words only: on the article's 44 sets
    refused 79.8 -> 83.0%, top-1 95.8 -> 95.5%; new topics unchanged),"""
    declined_within_meaning: float = 0.05
    """...this much when the sentence model scores both (half of each score is its cosine),"""
    closer: float = 0.01
    """...or when, by the model's cosine alone, a question to decline is nearer to it than
    the best entry by this much (article sets: 58 more declined, 15 fewer right)."""
    vague: int = 3
    """A question of topic words alone, each in at least this many entries (电子社保卡, 三代卡,
    社保卡 支付宝), is too vague to answer: the bot asks which one is meant (0: never)..."""
    vague_lead: float = 0.25
    """...unless its best entry leads the runner-up by at least this much (连续参保 奖励: one
    entry is about both words). On the article's and the development topics' sets with the
    model, vague questions leading by 0.18 or more had the right entry first (11 of 11);
    out-of-scope ones led by at most 0.14 (社保; 0.19 words only), and 电子社保卡 支付宝 (0.22)
    may mean any of three entries."""


@dataclass(frozen=True)
class Decision:
    """The outcome for one question."""

    question: str
    kind: Kind
    analysis: Analysis
    candidates: tuple[Candidate, ...]
    entry: Entry | None = None
    suggestions: tuple[Entry, ...] = ()
    unanswered: str = ""
    """The rest of a message whose first question is answered but whose rest is not."""
    alternatives: tuple[Entry, ...] = ()
    """An answer's runner-up when the call was close: offered beside it, one tap away."""

    @property
    def score(self) -> float:
        """Confidence of the best candidate (0 when there is none)."""
        return self.candidates[0].score if self.candidates else 0.0


def decide(
    question: str,
    analysis: Analysis,
    candidates: list[Candidate],
    thresholds: Thresholds,
) -> Decision:
    """Answer only a confident, clear winner; otherwise suggest or fall back."""
    ranked = tuple(candidates)
    # Sharing only question words ("护照怎么办理" vs "怎样领取电子社保卡") is no evidence.
    eligible = [c for c in ranked if c.matched & analysis.topics]
    if not eligible:
        return Decision(question, Kind.FALLBACK, analysis, ranked)
    top = eligible[0]
    # A question to decline wins only where the best entry leaves something unexplained: a
    # word the knowledge base never uses (刷三代卡坐地铁有折扣吗: 打折), or a telling word the
    # best entry lacks and the question to decline has (车辆年检在哪弄: 车辆); then it is
    # declined when a question to decline nearly matches it too, or by meaning is nearer. An
    # admin's new entry on 公积金 answers what the old examples declined.
    lacking = (analysis.telling - top.matched) & analysis.declined_words
    meaning = top.cosine is not None
    within = thresholds.declined_within_meaning if meaning else thresholds.declined_within
    if (analysis.unknown or lacking) and (
        (analysis.declined_example and analysis.declined >= top.score - within)
        or (
            top.cosine is not None
            and analysis.declined_cosine is not None
            and analysis.declined_cosine >= top.cosine + thresholds.closer
        )
    ):
        return Decision(question, Kind.FALLBACK, analysis, ranked)
    runner = max((c for c in ranked if c is not top), key=lambda c: c.score, default=None)
    runner_up = runner.score if runner else 0.0
    unexplained = [word for word in analysis.out_of_scope if not _mentions(top.entry, word)]
    if unexplained and (
        not thresholds.veto_words or len(analysis.tokens) <= thresholds.veto_words
    ):
        return Decision(question, Kind.FALLBACK, analysis, ranked)

    lead = top.score - runner_up
    vague = (
        bool(thresholds.vague)
        and analysis.breadth >= thresholds.vague
        and lead < thresholds.vague_lead
    )
    story = bool(thresholds.long_question) and len(analysis.tokens) >= thresholds.long_question
    confident = (
        (top.score >= max(thresholds.sure, thresholds.answer) and lead > thresholds.margin)
        or (top.score >= thresholds.answer and lead >= thresholds.lead)
    ) or (story and top.score >= thresholds.long_answer and lead >= thresholds.long_margin)
    # Sibling entries (生育津贴 申领 / 标准 / 发放) score close together, and a few topic words
    # may each be in many of them: the best one is still clear when it explains every telling
    # word the runner-up does, and more (one shared word at least: 多久能到账 is no comparison).
    theirs = runner.matched & analysis.telling if runner else frozenset()
    clearer = bool(theirs) and theirs < top.matched & analysis.telling
    close_call = (
        not confident and clearer and top.score >= thresholds.answer and lead > thresholds.margin
    )
    if (confident or close_call) and (not vague or clearer):
        # A close call offers the runner-up beside the answer, one tap away.
        others = (runner.entry,) if close_call and runner is not None else ()
        return Decision(
            question, Kind.ANSWER, analysis, ranked, entry=top.entry, alternatives=others
        )
    suggestions = tuple(
        c.entry for c in eligible[: thresholds.max_suggestions] if c.score >= thresholds.suggest
    )
    if suggestions:
        return Decision(question, Kind.SUGGEST, analysis, ranked, suggestions=suggestions)
    return Decision(question, Kind.FALLBACK, analysis, ranked)


def _mentions(entry: Entry, word: str) -> bool:
    return any(word in text for text in entry.phrasings)
