"""Scoring a question against every phrasing of every entry."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray
from rapidfuzz import fuzz, process

from bot.core import general
from bot.core.knowledge import Entry, KnowledgeBase
from bot.core.lexicon import Lexicon
from bot.core.postings import Postings
from bot.core.scope import answer_sentences, fit
from bot.core.segment import Segmenter
from bot.core.semantic import SemanticIndex
from bot.core.text import HAN, normalize

_LATIN_LETTER = re.compile(r"[a-z]")


@dataclass(frozen=True)
class Weights:
    """How the parts of the score combine; defaults measured on ``tests/data``."""

    tokens: float = 0.55
    bigrams: float = 0.15
    ratio: float = 0.10
    coverage: float = 0.30
    query_miss: float = 0.15
    """Tversky weight of query words the phrasing lacks (rambling questions add many)."""
    phrasing_miss: float = 0.50
    """Tversky weight of phrasing words the question lacks."""
    unknown_weight: float = 3.0
    """Weight of a word the knowledge base never uses, in a short question, times how telling
    the word is in general Chinese (``informative``)."""
    general_low: float = 4.0
    general_span: float = 5.0
    general_min: float = 0.1
    general_max: float = 1.5
    """A word's general-Chinese IDF *g* makes it weigh (g - low) / span, within [min, max]:
    怎么 (4.4) next to nothing, 天气 (6.5) half, 公积金 (8.4) almost one, 护照 (9.7) more."""
    general_ascii: float = 0.4
    """What a word in Latin letters weighs (pinyin, English): the table knows none."""
    short_question: float = 4
    """Up to this many words, a question's unknown words weigh in full; beyond, less."""
    out_of_scope_weight: float = 6.0
    """Weight of a word naming a topic the knowledge base does not cover."""
    answer: float = 0.8
    """An answer's or a step's sentence counts as a phrasing scored at this share (0: not at
    all): with an admin's three phrasings, much of what people ask is in the answer's words."""
    telling: float = 0.3
    """A word is telling from this ``informative`` weight on (天气 0.5; 怎么, 可以 less)."""
    unknown_telling: float = 0.8
    """A word no entry uses says the question may be about something else from this
    ``informative`` weight on (天气 0.5, 公积金 0.9); see ``Analysis.unknown``."""
    semantic: float = 0.5
    """Share of a candidate's score taken from sentence embeddings, when a model is there..."""
    semantic_floor: float = 0.8
    """...whose cosine counts from this floor up (0 at the floor, 1 at 1.0): below it, two
    Chinese sentences are about as alike as any two are."""
    semantic_pool: int = 10
    """How many of the best lexical candidates the embeddings score again."""
    second: float = 0.2
    """Share of an entry's score taken from its second-best phrasing."""
    evidence: float = 2.0
    """Weight of matched words at which an entry's coverage counts in full."""
    prefilter: int = 1_000
    """Up to this many phrasings sharing a word with a question are all scored in full at once;
    with more, entries are scored in batches, highest bound first, until none left could reach
    the best few. The result is the same (0: always in batches, ``sys.maxsize``: never)."""


@dataclass(frozen=True)
class Candidate:
    """An entry ranked for a question."""

    entry: Entry
    score: float
    phrasing: str
    matched: frozenset[str] = frozenset()
    """Words of the question that this entry's phrasings use."""
    cosine: float | None = None
    """The best cosine of the question with this entry's phrasings (None: no model asked)."""


@dataclass(frozen=True)
class Analysis:
    """What the matcher understood of a question."""

    normalized: str
    tokens: tuple[str, ...]
    out_of_scope: tuple[str, ...]
    """Out-of-scope topic words in the question."""
    topics: frozenset[str] = frozenset()
    """Words of the question that name a topic the knowledge base knows (not intent words)."""
    breadth: int = 0
    """In how many entries the question's most specific word appears, when it holds topic words
    only (电子社保卡 alone: many); 0 when it holds any other word (怎么, an unknown word)."""
    telling: frozenset[str] = frozenset()
    """Words that say what the question is about, by general Chinese (not 怎么, 吗)."""
    declined: float = 0.0
    """The score of the knowledge base's most similar question to decline (0: none),"""
    declined_example: str = ""
    """...its text,"""
    declined_words: frozenset[str] = frozenset()
    """...and the words of the question it shares."""
    declined_cosine: float | None = None
    """The best cosine of the question with a question to decline (None: no model asked)."""
    unknown: frozenset[str] = frozenset()
    """Telling words of the question that no entry uses (``Weights.unknown_telling``)."""


@dataclass(frozen=True)
class _Phrasing:
    entry: int
    text: str
    tokens: frozenset[str]
    joined: str
    bigrams: frozenset[str]
    share: float = 1.0


@dataclass(frozen=True)
class _Scores:
    """The phrasings of a table that share a word with a question, grouped by target (in
    order), and their scores but for the ``fuzz.ratio`` part."""

    rows: NDArray[np.intp]
    lower: NDArray[np.float64]
    starts: NDArray[np.intp]
    """Where each entry's phrasings start in the arrays above."""
    entries: NDArray[np.intp]
    extra: NDArray[np.float64]
    """Each target's coverage bonus: how much of the question its words explain."""


def _bigrams(text: str) -> frozenset[str]:
    if len(text) < 2:
        return frozenset({text}) if text else frozenset()
    return frozenset(text[i : i + 2] for i in range(len(text) - 1))


def _sizes(starts: NDArray[np.intp], total: int) -> NDArray[np.intp]:
    """The length of each group that begins at *starts* in an array of *total* items."""
    sizes = np.empty_like(starts)  # np.diff(starts, append=total) takes ten times as long
    sizes[:-1] = starts[1:]
    sizes[-1] = total
    sizes -= starts
    return sizes


def _top_two(
    values: NDArray[np.float64], starts: NDArray[np.intp]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.intp]]:
    """Per group of *values* (groups begin at *starts*; values are never negative): the
    largest, the second largest (the largest again on a tie, 0 for a group of one), and where
    the first largest is."""
    first = np.maximum.reduceat(values, starts)
    tops = np.flatnonzero(values == np.repeat(first, _sizes(starts, len(values))))
    best = tops[np.searchsorted(tops, starts)]
    rest = values.copy()
    rest[best] = -np.inf
    second = np.maximum.reduceat(rest, starts)
    return first, np.maximum(second, 0.0, out=second), best


class _Table:
    """Phrasings indexed for scoring, each belonging to one target (an entry, or a question
    to decline), with every word weighed by *weight*."""

    def __init__(
        self,
        phrasings: list[_Phrasing],
        vocabularies: list[frozenset[str]],
        weight: Callable[[str], float],
        weights: Weights,
    ) -> None:
        self.phrasings = phrasings
        self.vocabularies = vocabularies
        self.weights = weights
        self.targets = Postings(vocabularies, weight)
        self._words = Postings([phrasing.tokens for phrasing in phrasings], weight)
        self._pairs = Postings([phrasing.bigrams for phrasing in phrasings])
        self._entry = np.array([phrasing.entry for phrasing in phrasings], dtype=np.intp)
        self._missing = weights.phrasing_miss * np.array(
            [sum(map(weight, phrasing.tokens)) for phrasing in phrasings], dtype=float
        )
        """What each phrasing's words weigh, times the weight of what a question lacks."""
        self._length = np.array([len(phrasing.joined) for phrasing in phrasings], dtype=float)
        self._pair_count = np.array([len(phrasing.bigrams) for phrasing in phrasings], dtype=float)
        self._joined = np.array([phrasing.joined for phrasing in phrasings], dtype=object)
        self._share = np.array([phrasing.share for phrasing in phrasings], dtype=float)
        self._rows_of: dict[str, list[int]] = {}
        for row, phrasing in enumerate(phrasings):
            self._rows_of.setdefault(phrasing.text, []).append(row)

    def scores(
        self, query: dict[str, float], joined: str, leave_out: str | None = None
    ) -> _Scores | None:
        """Every phrasing that shares a word with the question, scored but for ``fuzz.ratio``
        (None: not one); the phrasing *leave_out* is not scored."""
        shared_all = self._words.sums(query)
        if leave_out is not None:
            shared_all[self._rows_of.get(leave_out, [])] = 0
        rows = np.flatnonzero(shared_all > 0)  # sharing characters but no word is no evidence
        if not rows.size:
            return None
        weights = self.weights
        bigrams = _bigrams(joined)
        query_weight = sum(query.values())
        shared = shared_all[rows]
        # Tversky similarity needs only the shared weight: a phrasing's words are all known.
        # shared / (shared + query_miss·(query - shared) + phrasing_miss·(weight - shared))
        keep = 1 - weights.query_miss - weights.phrasing_miss
        token_score = (
            weights.tokens
            * shared
            / (keep * shared + (weights.query_miss * query_weight + self._missing[rows]))
        )
        # Dice over character bigrams, exact for every row at once.
        dice = 2 * self._pairs.counts(bigrams)[rows] / (len(bigrams) + self._pair_count[rows])
        lower = token_score + weights.bigrams * dice
        entry = self._entry[rows]
        starts = np.flatnonzero(np.concatenate(([True], entry[1:] != entry[:-1])))
        entries = entry[starts]
        explained = self.targets.sums(query)[entries]
        extra = (
            weights.coverage
            * explained
            / query_weight
            * np.minimum(1.0, explained / weights.evidence)
        )
        return _Scores(rows, lower, starts, entries, extra)

    def _targets(
        self, scores: _Scores, groups: NDArray[np.intp], joined: str
    ) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
        """The scores of the entries *groups* (positions in *scores*) with every phrasing of
        theirs scored in full, and for each the row of its best phrasing."""
        if len(groups) == len(scores.starts):  # every entry, in order
            rows, lower, offsets = scores.rows, scores.lower, scores.starts
        else:
            starts = scores.starts[groups]
            sizes = _sizes(scores.starts, len(scores.rows))[groups]
            offsets = np.cumsum(sizes) - sizes
            picked = np.repeat(starts - offsets, sizes) + np.arange(offsets[-1] + sizes[-1])
            rows, lower = scores.rows[picked], scores.lower[picked]
        texts = self._joined[rows].tolist()
        similarity = process.cdist([joined], texts, scorer=fuzz.ratio, dtype=np.float64)[0]
        exact = (lower + self.weights.ratio * similarity / 100) * self._share[rows]
        first, second, best = _top_two(exact, offsets)
        share = self.weights.second
        totals = np.minimum(1.0, (1 - share) * first + share * second + scores.extra[groups])
        return totals, rows[best]

    def _bounds(self, scores: _Scores, joined: str) -> NDArray[np.float64]:
        """The most each entry of *scores* could score: its best phrasing's score with the
        ``fuzz.ratio`` part at its ceiling (2·min/sum of the two lengths), plus its bonus."""
        length, other = len(joined), self._length[scores.rows]
        ceiling = 2 * self.weights.ratio * np.minimum(length, other) / (length + other)
        best = (scores.lower + ceiling) * self._share[scores.rows]
        return np.maximum.reduceat(best, scores.starts) + scores.extra

    def best(self, scores: _Scores, joined: str, limit: int) -> list[tuple[int, float, str]]:
        """The best *limit* (entry, score, best phrasing), ties in knowledge-base order.

        With few phrasings, all are scored in full at once. Otherwise entries are scored in
        growing batches, highest bound first, until no entry left could reach the best *limit*.
        """
        left = np.arange(len(scores.starts))
        if len(scores.rows) <= self.weights.prefilter:
            batch, bounds = left.size, None
        else:
            batch, bounds = 2 * limit, self._bounds(scores, joined)
        found: list[tuple[float, int, int]] = []
        while left.size:
            if bounds is not None and left.size > batch:
                split = np.argpartition(-bounds[left], batch - 1)
                chosen, left = left[split[:batch]], left[split[batch:]]
            else:
                chosen, left = left, left[:0]
            totals, best = self._targets(scores, chosen, joined)
            found += zip(
                totals.tolist(), scores.entries[chosen].tolist(), best.tolist(), strict=True
            )
            found.sort(key=lambda item: (-item[0], item[1]))
            if (
                bounds is not None
                and left.size
                and len(found) >= limit
                and bounds[left].max() < found[limit - 1][0]
            ):
                break  # no entry left can reach the best *limit*
            batch *= 2
        return [(entry, score, self.phrasings[row].text) for score, entry, row in found[:limit]]


class Matcher:
    """Ranks the entries of one knowledge base for a question."""

    def __init__(
        self,
        kb: KnowledgeBase,
        lexicon: Lexicon,
        weights: Weights | None = None,
        *,
        previous: Matcher | None = None,
        semantic: SemanticIndex | None = None,
    ) -> None:
        self.kb = kb
        self.semantic = semantic
        self.weights = weights or Weights()
        self.given = lexicon
        """The lexicon as written; ``lexicon`` is fitted to the knowledge base (``scope``)."""
        reuse = previous is not None and previous.given == lexicon
        given: Segmenter = previous._given_segmenter if previous and reuse else Segmenter(lexicon)
        self._given_segmenter: Segmenter = given
        self.fitted = fit(lexicon, kb, given)
        self.lexicon = lexicon = self.fitted.lexicon
        same = previous is not None and previous.lexicon == lexicon
        if previous and same:
            self.segmenter: Segmenter = previous.segmenter
        else:
            self.segmenter = given if lexicon is self.given else Segmenter(lexicon)
        known = previous._tokenised if previous and same else {}
        self._tokenised: dict[str, list[str]] = {}
        """Phrasing text -> its tokens, reused by the next reload if the lexicon is the same."""
        self._not_topics = lexicon.intent_words | lexicon.out_of_scope
        share = self.weights.answer
        entries = self._phrasings(
            [
                [(text, 1.0) for text in entry.phrasings]
                + ([(text, share) for text in answer_sentences(entry)] if share else [])
                for entry in kb.entries
            ],
            known,
        )
        frequency = Counter(token for vocabulary in entries[1] for token in vocabulary)
        count = max(len(kb.entries), 1)
        self._idf = {token: math.log(1 + count / df) for token, df in frequency.items()}
        # A known word weighs its idf in every question, so the index holds the weights too.
        self._table = _Table(*entries, self._idf.__getitem__, self.weights)
        declined = self._phrasings([[(example.text, 1.0)] for example in kb.declined], known)
        self._declined = _Table(*declined, self.weight, self.weights) if declined[0] else None
        self._declined_words = frozenset().union(*declined[1])

    def _phrasings(
        self, texts: list[list[tuple[str, float]]], known: dict[str, list[str]]
    ) -> tuple[list[_Phrasing], list[frozenset[str]]]:
        """The phrasings of each target (its texts, each with its share) and each target's
        words."""
        phrasings: list[_Phrasing] = []
        vocabularies: list[frozenset[str]] = []
        for number, target in enumerate(texts):
            vocabulary: set[str] = set()
            for text, share in target:
                phrasing = self._prepare(number, text, known, share)
                if phrasing.tokens:
                    phrasings.append(phrasing)
                    vocabulary |= phrasing.tokens
            vocabularies.append(frozenset(vocabulary))
        return phrasings, vocabularies

    def _prepare(
        self, entry: int, text: str, known: dict[str, list[str]], share: float = 1.0
    ) -> _Phrasing:
        tokens = known.get(text)
        if tokens is None:
            tokens = self.segmenter.tokens(normalize(text), repair=False)
        self._tokenised[text] = tokens
        joined = "".join(tokens)
        return _Phrasing(entry, text, frozenset(tokens), joined, _bigrams(joined), share)

    def analyse(self, question: str) -> Analysis:
        """Normalise and tokenise *question*."""
        normalized = normalize(question)
        words, aside = self.segmenter.read(normalized)
        tokens = tuple(words)
        out_of_scope = tuple(t for t in self.lexicon.out_of_scope_in(tokens) if t not in aside)
        topics = frozenset(t for t in tokens if self._is_topic(t))
        breadth = (
            min(self._table.targets.frequency(t) for t in topics)
            if topics and topics.issuperset(tokens)
            else 0
        )
        telling = frozenset(
            t for t in tokens if self.informative(t) >= self.weights.telling or t in topics
        )
        bar = self.weights.unknown_telling
        unknown = frozenset(t for t in tokens if t not in self._idf and self.informative(t) >= bar)
        return Analysis(
            normalized, tokens, out_of_scope, topics, breadth, telling, unknown=unknown
        )

    def words_of(self, entry_id: str) -> frozenset[str]:
        """The words an entry's phrasings and answer use (none for an unknown id)."""
        for number, entry in enumerate(self.kb.entries):
            if entry.id == entry_id:
                return self._table.vocabularies[number]
        return frozenset()

    def entries_using(self, word: str) -> int:
        """In how many entries *word* appears (phrasings or answer)."""
        return self._table.targets.frequency(word)

    def _is_topic(self, token: str) -> bool:
        """Whether *token* names something the knowledge base is about (not 怎么, 发, 沈阳)."""
        if token in self._not_topics or (
            token not in self._idf and token not in self._declined_words
        ):
            return False
        return len(token) > 1 or token in self.segmenter.domain_words

    def informative(self, token: str) -> float:
        """How telling *token* is in general Chinese, from next to nothing (怎么) up."""
        weights = self.weights
        if token.isascii():  # pinyin or English: the table is of Chinese words
            return weights.general_ascii
        value = (general.idf(token) - weights.general_low) / weights.general_span
        value = min(weights.general_max, max(weights.general_min, value))
        return value * (0.5 if len(token) == 1 else 1.0)

    def weight(
        self, token: str, unknown: float = 1.0, uncovered: frozenset[str] | None = None
    ) -> float:
        """How much a word says about which entry is meant; *uncovered*: the out-of-scope
        words of its question (default: every out-of-scope word)."""
        idf = self._idf.get(token)
        if idf is not None:
            return idf
        if token in (self.lexicon.out_of_scope if uncovered is None else uncovered):
            return self.weights.out_of_scope_weight
        return unknown * self.informative(token)

    def _query_weights(self, analysis: Analysis) -> dict[str, float]:
        """Word weights for one question: in a long question, unknown words are mostly filler,
        and an out-of-scope word another one brings back in scope weighs as one of those."""
        tokens = frozenset(analysis.tokens)
        share = min(1.0, self.weights.short_question / len(tokens)) ** 1.5
        unknown = self.weights.unknown_weight * share
        uncovered = frozenset(analysis.out_of_scope)
        return {token: self.weight(token, unknown, uncovered) for token in tokens}

    def rank(
        self, question: str, limit: int = 5, *, leave_out: bool = False, meaning: bool = True
    ) -> tuple[Analysis, list[Candidate]]:
        """The best *limit* entries for *question*, best first, each scored in [0, 1]; the
        analysis holds the best question to decline and its score. With *leave_out*, the
        question's own text is not scored where it is a phrasing (for calibration); without
        *meaning*, the sentence model is not asked (words only)."""
        analysis = self.analyse(question)
        tokens = frozenset(analysis.tokens)
        if not tokens or limit < 1:
            return analysis, []
        joined = "".join(analysis.tokens)
        query = self._query_weights(analysis)
        if self._declined is not None:
            scores = self._declined.scores(query, joined, question if leave_out else None)
            if scores is not None:
                [(number, score, text)] = self._declined.best(scores, joined, 1)
                shared = tokens & self._declined.vocabularies[number]
                analysis = replace(
                    analysis, declined=score, declined_example=text, declined_words=shared
                )
        table = self._table
        scores = table.scores(query, joined, question if leave_out else None)
        if scores is None:
            return analysis, []
        pool = max(limit, self.weights.semantic_pool) if self.semantic and meaning else limit
        found = table.best(scores, joined, pool)
        cosines = None
        if self.semantic is not None and meaning and not leave_out:
            found, analysis, cosines = self._with_meaning(question, found, analysis)
        return analysis, [
            Candidate(
                self.kb.entries[number],
                score,
                text,
                tokens & table.vocabularies[number],
                None if cosines is None else float(cosines[number]),
            )
            for number, score, text in found[:limit]
        ]

    def _with_meaning(
        self, question: str, found: list[tuple[int, float, str]], analysis: Analysis
    ) -> tuple[list[tuple[int, float, str]], Analysis, NDArray[np.float64]]:
        """*found* scored again with sentence embeddings, best first; the question to decline
        likewise; and every entry's cosine."""
        assert self.semantic is not None
        floor = self.weights.semantic_floor
        # The model reads Chinese; pinyin or English typed for it (dianzi shebaoka) it misreads,
        # so its share shrinks with the share of the question written in Latin letters.
        han = len(HAN.findall(analysis.normalized))
        latin = len(_LATIN_LETTER.findall(analysis.normalized)) / 3  # ~3 letters a syllable
        share = self.weights.semantic * (han / (han + latin) if han + latin else 0.0)
        cosines, declined = self.semantic.similarities(question)

        def blend(lexical: float, cosine: float) -> float:
            meaning = min(1.0, max(0.0, (cosine - floor) / (1 - floor)))
            return (1 - share) * lexical + share * meaning

        rescored = [(n, blend(score, float(cosines[n])), text) for n, score, text in found]
        rescored.sort(key=lambda item: (-item[1], item[0]))
        if analysis.declined or declined > floor:
            analysis = replace(analysis, declined=blend(analysis.declined, declined))
        if share and declined > -1:
            analysis = replace(analysis, declined_cosine=declined)
        return rescored, analysis, cosines
