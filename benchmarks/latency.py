"""In-process figures: matcher and BM25 latency, top-1 accuracy, pruned vs. full scan."""

from __future__ import annotations

import dataclasses
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.decision import Decision, Thresholds, decide
from bot.core.evaluate import Labelled
from bot.core.knowledge import Entry, KnowledgeBase
from bot.core.lexicon import Lexicon
from bot.core.matcher import Matcher, Weights
from bot.core.text import normalize

DecisionKey = tuple[str, str | None, tuple[str, ...]]


def ask(matcher: Matcher, thresholds: Thresholds, question: str) -> Decision:
    """What ``Faq.ask`` does, on any matcher."""
    analysis, candidates = matcher.rank(question)
    return decide(question, analysis, candidates, thresholds)


def decision_key(decision: Decision) -> DecisionKey:
    """What the user sees of a decision: its kind, the answer and the suggestions."""
    entry = decision.entry.id if decision.entry else None
    return (str(decision.kind), entry, tuple(e.id for e in decision.suggestions))


def time_each(questions: Sequence[str], fn: Callable[[str], Any], repeats: int) -> list[float]:
    """Seconds per question: the median of *repeats* passes over all questions, after a
    warm-up pass over a few (a per-question median keeps scheduler noise out)."""
    for question in questions[:20]:
        fn(question)
    runs: list[list[float]] = [[] for _ in questions]
    clock = time.perf_counter
    for _ in range(max(1, repeats)):
        for number, question in enumerate(questions):
            start = clock()
            fn(question)
            runs[number].append(clock() - start)
    return [statistics.median(times) for times in runs]


def has_prefilter_knob() -> bool:
    """Whether ``Weights`` still has the ``prefilter`` size that turns the pruning on."""
    return any(f.name == "prefilter" for f in dataclasses.fields(Weights))


def full_scan_weights(weights: Weights | None = None) -> Weights:
    """*weights* with the pruning off: every phrasing sharing a word is scored in full."""
    return dataclasses.replace(weights or Weights(), prefilter=sys.maxsize)


def pruned_weights(weights: Weights | None = None) -> Weights:
    """*weights* with the pruning on for every question, however few phrasings it finds."""
    return dataclasses.replace(weights or Weights(), prefilter=0)


class Bm25Baseline:
    """Okapi BM25 (``rank_bm25``) over the matcher's own jieba tokens, one document a phrasing;
    a question gets the entry of its best-scoring phrasing."""

    def __init__(self, matcher: Matcher) -> None:
        from rank_bm25 import BM25Okapi

        self.matcher = matcher
        self.owners: list[Entry] = []
        corpus: list[list[str]] = []
        tokens = matcher.segmenter.tokens
        for entry in matcher.kb.entries:
            for text in entry.phrasings:
                corpus.append(tokens(normalize(text), repair=False) or [""])
                self.owners.append(entry)
        self.index = BM25Okapi(corpus)

    def best(self, question: str) -> Entry | None:
        """The entry BM25 ranks first for *question* (None when it has no tokens)."""
        tokens = list(self.matcher.analyse(question).tokens)
        if not tokens:
            return None
        scores = self.index.get_scores(tokens)
        return self.owners[int(scores.argmax())]


@dataclass
class KbRun:
    """Everything measured on one knowledge base."""

    name: str
    phrasings: int
    build_seconds: float
    questions: int
    repeats: int
    matcher_seconds: list[float]
    decisions: list[DecisionKey]
    ranked_first: list[str | None]
    bm25_seconds: list[float] | None = None
    bm25_first: list[str | None] | None = None
    bm25_build_seconds: float = 0.0


def measure_kb(
    name: str,
    kb: KnowledgeBase,
    lexicon: Lexicon,
    questions: Sequence[Labelled],
    *,
    thresholds: Thresholds,
    repeats: int,
    bm25: bool,
    bm25_repeats: int | None = None,
    weights: Weights | None = None,
) -> tuple[KbRun, Matcher]:
    """Build the matcher (and BM25) for *kb* and time every question on both."""
    start = time.perf_counter()
    matcher = Matcher(kb, lexicon, weights)
    build = time.perf_counter() - start
    texts = [item.question for item in questions]
    seconds = time_each(texts, lambda q: ask(matcher, thresholds, q), repeats)
    decisions = [ask(matcher, thresholds, q) for q in texts]
    run = KbRun(
        name=name,
        phrasings=kb.phrasing_count,
        build_seconds=build,
        questions=len(texts),
        repeats=repeats,
        matcher_seconds=seconds,
        decisions=[decision_key(d) for d in decisions],
        ranked_first=[d.candidates[0].entry.id if d.candidates else None for d in decisions],
    )
    if bm25:
        start = time.perf_counter()
        baseline = Bm25Baseline(matcher)
        run.bm25_build_seconds = time.perf_counter() - start
        run.bm25_seconds = time_each(texts, baseline.best, bm25_repeats or repeats)
        run.bm25_first = [
            best.id if (best := baseline.best(q)) is not None else None for q in texts
        ]
    return run, matcher


def differing_decisions(
    kb: KnowledgeBase,
    lexicon: Lexicon,
    questions: Sequence[Labelled],
    thresholds: Thresholds,
    previous: Matcher | None = None,
) -> int:
    """How many questions get another decision when every phrasing is scored than when the
    entries that cannot make the best few are skipped (pruning forced on for every question)."""
    pruned = Matcher(kb, lexicon, pruned_weights(), previous=previous)
    full = Matcher(kb, lexicon, full_scan_weights(), previous=pruned)
    return sum(
        decision_key(ask(pruned, thresholds, item.question))
        != decision_key(ask(full, thresholds, item.question))
        for item in questions
    )


def top1(expected: Sequence[str | None], got: Sequence[str | None]) -> tuple[int, int]:
    """Right answers and in-scope questions (an expected entry that is not None)."""
    pairs = [(e, g) for e, g in zip(expected, got, strict=True) if e is not None]
    return sum(e == g for e, g in pairs), len(pairs)
