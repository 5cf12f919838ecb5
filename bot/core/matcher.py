"""Scoring a question against every phrasing of every entry."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
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
    idf: str = "bm25"
    prefilter: int = 200
    """With more phrasings than this, only those sharing a token or bigram are scored."""


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


@dataclass(frozen=True)
class _Phrasing:
    entry: int
    text: str
    tokens: frozenset[str]
    joined: str
    bigrams: frozenset[str]


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
        self, kb: KnowledgeBase, lexicon: Lexicon, weights: Weights | None = None
    ) -> None:
        self.kb = kb
        self.lexicon = lexicon
        self.weights = weights or Weights()
        self.segmenter = Segmenter(lexicon)
        self._domain_words = frozenset(lexicon.canonical(word) for word in lexicon.vocabulary)
        self._not_topics = lexicon.intent_words | lexicon.out_of_scope
        self._phrasings: list[_Phrasing] = []
        vocabularies: list[set[str]] = []
        for number, entry in enumerate(kb.entries):
            vocabulary: set[str] = set()
            for text in entry.phrasings:
                phrasing = self._prepare(number, text)
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
        self._by_key: dict[str, list[int]] = defaultdict(list)
        for position, phrasing in enumerate(self._phrasings):
            for key in phrasing.tokens | phrasing.bigrams:
                self._by_key[key].append(position)

    def _prepare(self, entry: int, text: str) -> _Phrasing:
        tokens = self.segmenter.tokens(normalize(text), repair=False)
        joined = "".join(tokens)
        return _Phrasing(entry, text, frozenset(tokens), joined, _bigrams(joined))

    def analyse(self, question: str) -> Analysis:
        """Normalise and tokenise *question*."""
        normalized = normalize(question)
        tokens = tuple(self.segmenter.tokens(normalized))
        out_of_scope = tuple(t for t in tokens if t in self.lexicon.out_of_scope)
        topics = frozenset(t for t in tokens if self._is_topic(t))
        return Analysis(normalized, tokens, out_of_scope, topics)

    def _is_topic(self, token: str) -> bool:
        """Whether *token* names something the knowledge base is about (not 怎么, 发, 沈阳)."""
        lexicon = self.lexicon
        if (
            token not in self._idf
            or token in lexicon.intent_words
            or token in lexicon.out_of_scope
        ):
            return False
        return len(token) > 1 or token in self._domain_words

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

    def _candidates(self, tokens: frozenset[str], bigrams: frozenset[str]) -> Sequence[int]:
        if len(self._phrasings) <= self.weights.prefilter:
            return range(len(self._phrasings))
        hits: set[int] = set()
        for key in tokens | bigrams:
            hits.update(self._by_key.get(key, ()))
        return sorted(hits)

    def rank(self, question: str, limit: int = 5) -> tuple[Analysis, list[Candidate]]:
        """The best *limit* entries for *question*, best first, each scored in [0, 1]."""
        analysis = self.analyse(question)
        tokens = frozenset(analysis.tokens)
        if not tokens:
            return analysis, []
        joined = "".join(analysis.tokens)
        bigrams = _bigrams(joined)
        weights = self.weights
        query = self._query_weights(tokens)
        query_weight = sum(query.values())
        idf = self._idf
        best: dict[int, tuple[float, str]] = {}
        second: dict[int, float] = defaultdict(float)
        for position in self._candidates(tokens, bigrams):
            phrasing = self._phrasings[position]
            shared = sum(query[token] for token in tokens & phrasing.tokens)
            if shared == 0 and not bigrams & phrasing.bigrams:
                continue
            missing_phrasing = sum(idf[token] for token in phrasing.tokens - tokens)
            tversky = shared / (
                shared
                + weights.query_miss * (query_weight - shared)
                + weights.phrasing_miss * missing_phrasing
                or 1.0
            )
            score = (
                weights.tokens * tversky
                + weights.bigrams * _dice(bigrams, phrasing.bigrams)
                + weights.ratio * fuzz.ratio(joined, phrasing.joined) / 100
            )
            top = best.get(phrasing.entry, (-1.0, ""))[0]
            if score > top:
                second[phrasing.entry] = max(top, 0.0)
                best[phrasing.entry] = (score, phrasing.text)
            elif score > second[phrasing.entry]:
                second[phrasing.entry] = score
        ranked = []
        for number, (score, text) in best.items():
            # A second close phrasing of the same entry is evidence too; one lucky hit is less.
            score = (1 - weights.second) * score + weights.second * second[number]
            matched = tokens & self._vocabularies[number]
            explained = sum(query[token] for token in matched)
            coverage = explained / query_weight
            evidence = min(1.0, explained / weights.evidence)
            total = score + weights.coverage * coverage * evidence
            entry = self.kb.entries[number]
            ranked.append(Candidate(entry, min(1.0, total), text, matched))
        ranked.sort(key=lambda c: c.score, reverse=True)
        return analysis, ranked[:limit]
