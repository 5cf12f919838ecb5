"""Scoring a question against every phrasing of every entry."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from rapidfuzz import fuzz, process

from bot.core.knowledge import Entry, KnowledgeBase
from bot.core.lexicon import Lexicon
from bot.core.postings import Postings
from bot.core.text import normalize
from bot.core.tokens import Segmenter


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
    unknown_weight: float = 1.0
    """Weight of a word the knowledge base never uses, in a short question."""
    short_question: float = 4
    """Up to this many words, a question's unknown words weigh in full; beyond, less."""
    out_of_scope_weight: float = 6.0
    """Weight of a word naming a topic the knowledge base does not cover."""
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


@dataclass(frozen=True)
class _Phrasing:
    entry: int
    text: str
    tokens: frozenset[str]
    joined: str
    bigrams: frozenset[str]


@dataclass(frozen=True)
class _Scores:
    """The phrasings that share a word with a question, grouped by entry (entries in order),
    and their scores but for the ``fuzz.ratio`` part."""

    rows: NDArray[np.intp]
    lower: NDArray[np.float64]
    starts: NDArray[np.intp]
    """Where each entry's phrasings start in the arrays above."""
    entries: NDArray[np.intp]
    extra: NDArray[np.float64]
    """Each entry's coverage bonus: how much of the question its words explain."""


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


class Matcher:
    """Ranks the entries of one knowledge base for a question."""

    def __init__(
        self,
        kb: KnowledgeBase,
        lexicon: Lexicon,
        weights: Weights | None = None,
        *,
        previous: Matcher | None = None,
    ) -> None:
        self.kb = kb
        self.lexicon = lexicon
        self.weights = weights or Weights()
        same = previous is not None and previous.lexicon == lexicon
        self.segmenter: Segmenter = previous.segmenter if previous and same else Segmenter(lexicon)
        known = previous._tokenised if previous and same else {}
        self._tokenised: dict[str, list[str]] = {}
        """Phrasing text -> its tokens, reused by the next reload if the lexicon is the same."""
        self._not_topics = lexicon.intent_words | lexicon.out_of_scope
        self._phrasings: list[_Phrasing] = []
        vocabularies: list[set[str]] = []
        for number, entry in enumerate(kb.entries):
            vocabulary: set[str] = set()
            for text in entry.phrasings:
                phrasing = self._prepare(number, text, known)
                if phrasing.tokens:
                    self._phrasings.append(phrasing)
                    vocabulary |= phrasing.tokens
            vocabularies.append(vocabulary)
        self._vocabularies = [frozenset(v) for v in vocabularies]
        frequency = Counter(token for vocabulary in vocabularies for token in vocabulary)
        count = max(len(kb.entries), 1)
        self._idf = {token: math.log(1 + count / df) for token, df in frequency.items()}
        # A known word weighs its idf in every question, so the index holds the weights too.
        self._entry_words = Postings(vocabularies, self._idf.__getitem__)
        phrasings = self._phrasings
        self._words = Postings([phrasing.tokens for phrasing in phrasings], self._idf.__getitem__)
        self._pairs = Postings([phrasing.bigrams for phrasing in phrasings])
        self._entry = np.array([phrasing.entry for phrasing in phrasings], dtype=np.intp)
        self._missing = self.weights.phrasing_miss * np.array(
            [sum(self._idf[token] for token in phrasing.tokens) for phrasing in phrasings]
        )
        """What each phrasing's words weigh, times the weight of what a question lacks."""
        self._length = np.array([len(phrasing.joined) for phrasing in phrasings], dtype=float)
        self._pair_count = np.array([len(phrasing.bigrams) for phrasing in phrasings], dtype=float)
        self._joined = np.array([phrasing.joined for phrasing in phrasings], dtype=object)

    def _prepare(self, entry: int, text: str, known: dict[str, list[str]]) -> _Phrasing:
        tokens = known.get(text)
        if tokens is None:
            tokens = self.segmenter.tokens(normalize(text), repair=False)
        self._tokenised[text] = tokens
        joined = "".join(tokens)
        return _Phrasing(entry, text, frozenset(tokens), joined, _bigrams(joined))

    def analyse(self, question: str) -> Analysis:
        """Normalise and tokenise *question*."""
        normalized = normalize(question)
        words, aside = self.segmenter.read(normalized)
        tokens = tuple(words)
        out_of_scope = tuple(t for t in self.lexicon.out_of_scope_in(tokens) if t not in aside)
        topics = frozenset(t for t in tokens if self._is_topic(t))
        breadth = (
            min(self._entry_words.frequency(t) for t in topics)
            if topics and topics.issuperset(tokens)
            else 0
        )
        return Analysis(normalized, tokens, out_of_scope, topics, breadth)

    def _is_topic(self, token: str) -> bool:
        """Whether *token* names something the knowledge base is about (not 怎么, 发, 沈阳)."""
        if token not in self._idf or token in self._not_topics:
            return False
        return len(token) > 1 or token in self.segmenter.domain_words

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
        return unknown * (0.5 if len(token) == 1 else 1.0)

    def _query_weights(self, analysis: Analysis) -> dict[str, float]:
        """Word weights for one question: in a long question, unknown words are mostly filler,
        and an out-of-scope word another one brings back in scope weighs as one of those."""
        tokens = frozenset(analysis.tokens)
        unknown = self.weights.unknown_weight * min(1.0, self.weights.short_question / len(tokens))
        uncovered = frozenset(analysis.out_of_scope)
        return {token: self.weight(token, unknown, uncovered) for token in tokens}

    def rank(self, question: str, limit: int = 5) -> tuple[Analysis, list[Candidate]]:
        """The best *limit* entries for *question*, best first, each scored in [0, 1]."""
        analysis = self.analyse(question)
        tokens = frozenset(analysis.tokens)
        if not tokens or limit < 1:
            return analysis, []
        joined = "".join(analysis.tokens)
        query = self._query_weights(analysis)
        scores = self._scores(query, joined)
        if scores is None:
            return analysis, []
        return analysis, [
            Candidate(self.kb.entries[number], score, text, tokens & self._vocabularies[number])
            for number, score, text in self._best(scores, joined, limit)
        ]

    def _scores(self, query: dict[str, float], joined: str) -> _Scores | None:
        """Every phrasing that shares a word with the question, scored but for ``fuzz.ratio``
        (None: not one)."""
        shared_all = self._words.sums(query)
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
        explained = self._entry_words.sums(query)[entries]
        extra = (
            weights.coverage
            * explained
            / query_weight
            * np.minimum(1.0, explained / weights.evidence)
        )
        return _Scores(rows, lower, starts, entries, extra)

    def _entries(
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
        exact = lower + self.weights.ratio * similarity / 100
        first, second, best = _top_two(exact, offsets)
        share = self.weights.second
        totals = np.minimum(1.0, (1 - share) * first + share * second + scores.extra[groups])
        return totals, rows[best]

    def _bounds(self, scores: _Scores, joined: str) -> NDArray[np.float64]:
        """The most each entry of *scores* could score: its best phrasing's score with the
        ``fuzz.ratio`` part at its ceiling (2·min/sum of the two lengths), plus its bonus."""
        length, other = len(joined), self._length[scores.rows]
        ceiling = 2 * self.weights.ratio * np.minimum(length, other) / (length + other)
        return np.maximum.reduceat(scores.lower + ceiling, scores.starts) + scores.extra

    def _best(self, scores: _Scores, joined: str, limit: int) -> list[tuple[int, float, str]]:
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
            totals, best = self._entries(scores, chosen, joined)
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
        return [(entry, score, self._phrasings[row].text) for score, entry, row in found[:limit]]
