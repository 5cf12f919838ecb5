"""Scoring a question against every phrasing of every entry."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from rapidfuzz import fuzz

from bot.core.knowledge import Entry, KnowledgeBase
from bot.core.lexicon import Lexicon
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
    prefilter: int = 0
    """With more phrasings than this, only phrasings sharing a word with the question are
    scored, best bound first, and one that cannot reach its entry's top two is skipped (the
    result is the same as a full scan's). ``sys.maxsize`` scores every phrasing."""
    exact_up_to: int = 20_000
    common: float = 0.02
    """Beyond ``exact_up_to`` phrasings, a word in more than this share of them (and in over
    500) only adds to phrasings that rarer words found: 怎么 alone would find too many. Then
    the ranking is no longer exactly a full scan's."""


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


@dataclass
class _Phrasing:
    entry: int
    text: str
    tokens: frozenset[str]
    joined: str
    bigrams: frozenset[str]
    length: int
    pairs: int
    weight: float = 0.0
    """The summed rarity of its words (set once every entry is known)."""


def _bigrams(text: str) -> frozenset[str]:
    if len(text) < 2:
        return frozenset({text}) if text else frozenset()
    return frozenset(text[i : i + 2] for i in range(len(text) - 1))


def _dice(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


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
        document_frequency: dict[str, int] = defaultdict(int)
        for vocabulary in vocabularies:
            for token in vocabulary:
                document_frequency[token] += 1
        count = max(len(kb.entries), 1)
        self._idf = {token: math.log(1 + count / df) for token, df in document_frequency.items()}
        self._postings: dict[str, list[int]] = defaultdict(list)
        for position, phrasing in enumerate(self._phrasings):
            phrasing.weight = sum(self._idf[token] for token in phrasing.tokens)
            for token in phrasing.tokens:
                self._postings[token].append(position)
        self._common = (
            len(self._phrasings)
            if len(self._phrasings) <= self.weights.exact_up_to
            else max(500, int(self.weights.common * len(self._phrasings)))
        )

    def _prepare(self, entry: int, text: str, known: dict[str, list[str]]) -> _Phrasing:
        tokens = known.get(text)
        if tokens is None:
            tokens = self.segmenter.tokens(normalize(text), repair=False)
        self._tokenised[text] = tokens
        joined = "".join(tokens)
        bigrams = _bigrams(joined)
        return _Phrasing(
            entry, text, frozenset(tokens), joined, bigrams, len(joined), len(bigrams)
        )

    def analyse(self, question: str) -> Analysis:
        """Normalise and tokenise *question*."""
        normalized = normalize(question)
        tokens = tuple(self.segmenter.tokens(normalized))
        out_of_scope = tuple(t for t in tokens if t in self.lexicon.out_of_scope)
        topics = frozenset(t for t in tokens if self._is_topic(t))
        return Analysis(normalized, tokens, out_of_scope, topics)

    def _is_topic(self, token: str) -> bool:
        """Whether *token* names something the knowledge base is about (not 怎么, 发, 沈阳)."""
        if token not in self._idf or token in self._not_topics:
            return False
        return len(token) > 1 or token in self.segmenter.domain_words

    def weight(self, token: str, unknown: float = 1.0) -> float:
        """How much a word says about which entry is meant."""
        idf = self._idf.get(token)
        if idf is not None:
            return idf
        if token in self.lexicon.out_of_scope:
            return self.weights.out_of_scope_weight
        return unknown * (0.5 if len(token) == 1 else 1.0)

    def _query_weights(self, tokens: frozenset[str]) -> dict[str, float]:
        """Word weights for one question: in a long question, unknown words are mostly filler."""
        unknown = self.weights.unknown_weight * min(1.0, self.weights.short_question / len(tokens))
        return {token: self.weight(token, unknown) for token in tokens}

    def _shared(self, query: dict[str, float]) -> dict[int, float]:
        """Phrasing -> summed weight of the question words it shares (only those sharing one)."""
        if len(self._phrasings) <= self.weights.prefilter:
            return {
                position: sum(query[token] for token in query.keys() & phrasing.tokens)
                for position, phrasing in enumerate(self._phrasings)
            }
        shared: dict[int, float] = defaultdict(float)
        rare_first = sorted(query, key=lambda token: len(self._postings.get(token, ())))
        for token in rare_first:
            postings = self._postings.get(token, ())
            weight = query[token]
            if len(postings) <= self._common or not shared:
                for position in postings:
                    shared[position] += weight
            else:
                for position in shared:
                    if token in self._phrasings[position].tokens:
                        shared[position] += weight
        return shared

    def rank(self, question: str, limit: int = 5) -> tuple[Analysis, list[Candidate]]:
        """The best *limit* entries for *question*, best first, each scored in [0, 1].

        Entries are visited by the most they could score, and phrasings within one by the most
        they could add; what cannot change the result is skipped, so the result is exact.
        """
        analysis = self.analyse(question)
        tokens = frozenset(analysis.tokens)
        if not tokens:
            return analysis, []
        joined = "".join(analysis.tokens)
        bigrams = _bigrams(joined)
        weights = self.weights
        query = self._query_weights(tokens)
        query_weight = sum(query.values())
        length, pairs = len(joined), len(bigrams)
        scale, missing = weights.tokens, weights.query_miss * query_weight
        keep, miss = 1 - weights.query_miss - weights.phrasing_miss, weights.phrasing_miss
        dice, ratio = 2 * weights.bigrams, 2 * weights.ratio
        phrasings = self._phrasings
        # Tversky similarity needs only the shared weight: a phrasing's words are all known.
        by_entry: dict[int, list[tuple[float, float, _Phrasing]]] = defaultdict(list)
        for position, shared in self._shared(query).items():
            if shared == 0:  # characters alone are no evidence (and the index skips these)
                continue
            phrasing = phrasings[position]
            # shared / (shared + query_miss·(query - shared) + phrasing_miss·(weight - shared))
            token_score = (
                scale * shared / (keep * shared + missing + miss * phrasing.weight or 1.0)
            )
            # Dice and ``ratio`` are at most 2·min/sum of the two sizes.
            other, other_pairs = phrasing.length, phrasing.pairs
            ceiling = dice * min(pairs, other_pairs) / (pairs + other_pairs) + ratio * min(
                length, other
            ) / (length + other)
            by_entry[phrasing.entry].append((token_score + ceiling, token_score, phrasing))
        plans = []
        for number, options in by_entry.items():
            options.sort(key=lambda option: option[0], reverse=True)
            matched = tokens & self._vocabularies[number]
            explained = sum(query[token] for token in matched)
            extra = (
                weights.coverage
                * explained
                / query_weight
                * min(1.0, explained / weights.evidence)
            )
            second = options[1][0] if len(options) > 1 else 0.0
            bound = (1 - weights.second) * options[0][0] + weights.second * second + extra
            plans.append((bound, number, extra, matched, options))
        plans.sort(key=lambda plan: plan[0], reverse=True)
        ranked: list[Candidate] = []
        for bound, number, extra, matched, options in plans:
            if len(ranked) >= limit and min(bound, 1.0) <= ranked[limit - 1].score:
                break  # neither this entry nor any after it can reach the best *limit*
            (best, text), second = self._best_two(options, joined, bigrams)
            score = (1 - weights.second) * best + weights.second * second + extra
            ranked.append(Candidate(self.kb.entries[number], min(1.0, score), text, matched))
            ranked.sort(key=lambda c: c.score, reverse=True)
        return analysis, ranked[:limit]

    def _best_two(
        self,
        options: list[tuple[float, float, _Phrasing]],
        joined: str,
        bigrams: frozenset[str],
    ) -> tuple[tuple[float, str], float]:
        """An entry's best phrasing (score, text) and second-best score; *options* are
        (upper bound, token score, phrasing), highest bound first."""
        weights = self.weights
        kept: list[tuple[float, str]] = []
        for bound, token_score, phrasing in options:
            if len(kept) == 2 and bound <= kept[1][0]:
                break  # the bounds only fall from here
            score = (
                token_score
                + weights.bigrams * _dice(bigrams, phrasing.bigrams)
                + weights.ratio * fuzz.ratio(joined, phrasing.joined) / 100
            )
            kept.append((score, phrasing.text))
            kept.sort(key=lambda pair: pair[0], reverse=True)
            del kept[2:]
        return kept[0], kept[1][0] if len(kept) > 1 else 0.0
