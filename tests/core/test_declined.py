"""Questions to decline (knowledge/declined.yaml): refusal learned from reviewed examples,
scored like an entry, never stronger than an entry that explains the question."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.core.decision import Kind
from bot.core.faq import Faq
from bot.core.knowledge import KnowledgeError, load_knowledge
from tests.conftest import SOURCE, entry_yaml

CARDS = (
    SOURCE
    + "entries:\n"
    + entry_yaml(
        "apply",
        title="怎样领取电子社保卡",
        questions=["电子社保卡怎么领", "电子社保卡 领取", "手机上咋领电子社保卡"],
        answer="在支付宝首页搜电子社保卡，按提示领取。",
    )
)
HOUSING = (
    SOURCE
    + "entries:\n"
    + entry_yaml(
        "housing-fund",
        title="公积金怎么提取",
        questions=["住房公积金如何提取", "公积金 提取", "公积金咋取出来"],
        answer="带身份证到公积金中心柜台提取，或在当地公积金App上申请。",
    )
)
DECLINED = """\
declined:
  - 公积金怎么提取出来
  - 电子社保卡怎么注销
"""
NO_WORD_LIST = "terms: []\n"
"""lexicon/out_of_scope.yaml with no words: 注销 is one of the bot's generic ones."""


def test_a_question_like_a_declined_one_is_refused(write_kb: Callable[..., Path]) -> None:
    words = {"lexicon/out_of_scope.yaml": NO_WORD_LIST}
    faq = Faq(write_kb({"cards.yaml": CARDS, "declined.yaml": DECLINED, **words}))
    assert faq.kb.declined[1].text == "电子社保卡怎么注销"
    assert faq.kb.declined[1].location.endswith("declined.yaml:3")
    decision = faq.ask("电子社保卡注销")
    assert decision.kind is Kind.FALLBACK
    assert decision.analysis.declined_example == "电子社保卡怎么注销"
    assert faq.ask("电子社保卡怎么领").kind is Kind.ANSWER


def test_without_the_example_the_same_question_is_answered(
    write_kb: Callable[..., Path],
) -> None:
    # The example, not a word list, does the refusing: the entry alone takes the question.
    words = {"lexicon/out_of_scope.yaml": NO_WORD_LIST}
    decision = Faq(write_kb({"cards.yaml": CARDS, **words})).ask("电子社保卡注销")
    assert decision.kind is not Kind.FALLBACK


def test_an_entry_that_explains_the_question_wins_over_a_declined_example(
    write_kb: Callable[..., Path],
) -> None:
    folder = write_kb({"cards.yaml": CARDS, "declined.yaml": DECLINED})
    assert Faq(folder).ask("公积金怎么提取").kind is Kind.FALLBACK
    (folder / "housing.yaml").write_text(HOUSING, encoding="utf-8")
    decision = Faq(folder).ask("公积金怎么提取")
    assert decision.kind is Kind.ANSWER and decision.entry is not None
    assert decision.entry.id == "housing-fund"


def test_a_declined_question_that_is_also_a_phrasing_is_a_located_problem(
    write_kb: Callable[..., Path],
) -> None:
    folder = write_kb({"cards.yaml": CARDS, "declined.yaml": "declined:\n  - 电子社保卡 领取\n"})
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(folder)
    [problem] = caught.value.problems
    assert problem.file.endswith("declined.yaml") and problem.line == 2
    assert "also a question of entry 'apply'" in problem.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- 只是一个列表\n", "declined.yaml needs a 'declined' list of questions"),
        ("declined:\n  - [一个, 列表]\n", "must be text"),
    ],
)
def test_a_broken_declined_file_is_a_located_problem(
    write_kb: Callable[..., Path], text: str, message: str
) -> None:
    folder = write_kb({"cards.yaml": CARDS, "declined.yaml": text})
    with pytest.raises(KnowledgeError, match=message):
        load_knowledge(folder)


def test_the_shipped_declined_file_loads_and_refuses_its_own_questions(faq: Faq) -> None:
    assert len(faq.kb.declined) >= 500
    answered = [e.text for e in faq.kb.declined if faq.ask(e.text).kind is Kind.ANSWER]
    # The few that an entry outscores are listed by `kb check`; the rest are refused.
    assert len(answered) <= len(faq.kb.declined) * 0.05, answered
