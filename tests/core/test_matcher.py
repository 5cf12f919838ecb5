from __future__ import annotations

import itertools
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.synthetic import synthetic_kb
from bot.core.faq import Faq
from bot.core.matcher import Candidate, Matcher, Weights, _top_two
from bot.core.scope import answer_sentences
from tests.question_sets import every_question

QUESTIONS = every_question()


def pruned(faq: Faq, kb_size: int | None = None) -> tuple[Matcher, Matcher]:
    """A matcher that always prunes and one that always scores every phrasing."""
    lexicon = faq.matcher.lexicon
    kb = faq.kb if kb_size is None else synthetic_kb(faq.kb, lexicon, kb_size)
    always = Matcher(kb, lexicon, Weights(prefilter=0), previous=faq.matcher)
    never = Matcher(kb, lexicon, Weights(prefilter=sys.maxsize), previous=always)
    return always, never


def ranking(candidates: list[Candidate]) -> list[tuple[str, float]]:
    return [(candidate.entry.id, round(candidate.score, 12)) for candidate in candidates]


def test_pruning_never_changes_a_ranking_of_the_shipped_kb(faq: Faq) -> None:
    always, never = pruned(faq)
    for question in QUESTIONS:
        assert ranking(always.rank(question)[1]) == ranking(never.rank(question)[1]), question


def test_pruning_never_changes_a_ranking_of_a_large_kb(faq: Faq) -> None:
    always, never = pruned(faq, 5_000)
    for question in QUESTIONS[::7]:
        assert ranking(always.rank(question)[1]) == ranking(never.rank(question)[1]), question


@pytest.mark.parametrize("limit", [0, 1, 3, 5, 20])
def test_candidates_are_distinct_entries_best_first_scored_in_0_1(faq: Faq, limit: int) -> None:
    for question in QUESTIONS[::5]:
        _, candidates = faq.matcher.rank(question, limit)
        assert len(candidates) <= limit
        assert len({candidate.entry.id for candidate in candidates}) == len(candidates)
        scores = [candidate.score for candidate in candidates]
        assert scores == sorted(scores, reverse=True)
        assert all(0 < score <= 1 for score in scores)
        for candidate in candidates:
            entry = candidate.entry
            assert candidate.phrasing in (*entry.phrasings, *answer_sentences(entry))


def test_equal_scores_keep_the_order_of_the_knowledge_base(faq: Faq) -> None:
    order = {entry.id: number for number, entry in enumerate(faq.kb.entries)}
    tied = 0
    for question in QUESTIONS:
        candidates = faq.matcher.rank(question)[1]
        for first, second in itertools.pairwise(candidates):
            if first.score == second.score:
                tied += 1
                assert order[first.entry.id] < order[second.entry.id], question
    assert tied, "no question ties two entries: this test checks nothing"


def test_an_exact_phrasing_ranks_its_entry_first(faq: Faq) -> None:
    for entry in faq.kb.entries:
        _, candidates = faq.matcher.rank(entry.questions[0])
        assert candidates[0].entry.id == entry.id
        assert candidates[0].phrasing == entry.questions[0]


def test_words_the_knowledge_base_never_uses_find_nothing(faq: Faq) -> None:
    analysis, candidates = faq.matcher.rank("明天下雨吗")
    assert analysis.tokens and candidates == []
    assert faq.matcher.rank("？？？") == (faq.matcher.analyse("？？？"), [])


@given(st.lists(st.lists(st.integers(0, 5), min_size=1, max_size=6), min_size=1, max_size=8))
def test_top_two_per_group(groups: list[list[int]]) -> None:
    values = np.array([float(v) for group in groups for v in group])
    starts = np.cumsum([0] + [len(group) for group in groups[:-1]])
    first, second, where = _top_two(values, starts)
    for number, group in enumerate(groups):
        ordered = sorted(group, reverse=True)
        assert first[number] == ordered[0]
        assert second[number] == (ordered[1] if len(group) > 1 else 0)
        assert where[number] == starts[number] + group.index(ordered[0])
