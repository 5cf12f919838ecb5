"""Scope comes from the knowledge base: an admin's new entry is answerable with its own words,
whatever the shipped lexicon and questions to decline say (issue 11, points 1, 2 and 4)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.decision import Kind
from bot.core.faq import Faq
from bot.core.knowledge import KnowledgeError, load_knowledge
from bot.core.lexicon import load_lexicon
from bot.core.scope import fit
from bot.core.segment import Segmenter
from tests.conftest import KNOWLEDGE

# An admin's entry on a topic the shipped knowledge declines (密码 is an out-of-scope term,
# and knowledge/declined.yaml holds questions about forgotten card passwords), with three
# phrasings, as an admin writes them.
PASSWORD_ENTRY = """\
source:
  outlet: 本地社保经办机构
  date: 2026-11-01
entries:
  - id: card-password
    title: 社保卡密码忘了怎么办
    category: 社保卡服务
    questions:
      - 社保卡密码忘记了如何重置
      - 社保卡 密码
      - 社保卡的密码不记得了咋整
    answer: |
      带上身份证原件和社保卡，到社保卡上印着的合作银行任一网点，在柜台办理密码重置。
    related: []
"""


@pytest.fixture
def extended(kb_copy: Path) -> Path:
    """The shipped knowledge base plus the admin's new entry."""
    (kb_copy / "password.yaml").write_text(PASSWORD_ENTRY, encoding="utf-8")
    return kb_copy


def test_the_shipped_knowledge_declines_the_new_topic(faq: Faq) -> None:
    assert faq.ask("社保卡密码忘了在哪重置").kind is not Kind.ANSWER


@pytest.mark.parametrize(
    "question",
    ["社保卡密码忘了在哪重置", "我爸社保卡密码忘了，要去哪里弄", "社保卡密码不记得了咋办"],
)
def test_a_new_entry_answers_its_topic_despite_the_term_list_and_declined_examples(
    extended: Path, question: str
) -> None:
    decision = Faq(extended).ask(question)
    assert decision.kind is Kind.ANSWER, decision
    assert decision.entry is not None and decision.entry.id == "card-password"


def test_a_term_an_entry_uses_is_in_scope_and_reported(extended: Path) -> None:
    kb, lexicon = load_knowledge(extended), load_lexicon(extended)
    assert "密码" in lexicon.out_of_scope
    fitted = fit(lexicon, kb, Segmenter(lexicon))
    assert "密码" not in fitted.lexicon.out_of_scope
    assert ("密码", "card-password") in fitted.terms
    assert "密码" in fitted.lexicon.words  # still kept whole by the segmenter


def test_kb_check_names_the_colliding_term_with_its_line(
    extended: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["kb", "check", str(extended)]) == 0
    out = capsys.readouterr().out
    terms = extended / "lexicon" / "out_of_scope.yaml"
    line = next(
        number
        for number, text in enumerate(terms.read_text("utf-8").splitlines(), 1)
        if text.strip() == "- 密码"
    )
    assert f"warning: {terms}:{line}: out-of-scope term '密码' is a word of entry " in out
    assert "'card-password'" in out


def test_a_synonym_whose_canonical_word_is_out_of_scope_is_set_aside(kb_copy: Path) -> None:
    # 账户 -> 个人账户 with 个人账户 out of scope would turn a new entry's own word into a
    # refused one.
    kb, lexicon = load_knowledge(kb_copy), load_lexicon(kb_copy)
    lexicon = replace(
        lexicon,
        synonyms={**lexicon.synonyms, "账户": "个人账户"},
        out_of_scope=lexicon.out_of_scope | {"个人账户"},
    )
    entry = replace(kb.entries[0], id="account", questions=("怎么查账户余额",))
    fitted = fit(lexicon, replace(kb, entries=(*kb.entries, entry)), Segmenter(lexicon))
    assert ("账户", "个人账户", "account") in fitted.synonyms
    assert "账户" not in fitted.lexicon.synonyms
    untouched = fit(lexicon, kb, Segmenter(lexicon))
    assert untouched.lexicon.synonyms["账户"] == "个人账户"


THREE_PHRASINGS = """\
source: {outlet: 本地社保经办机构, date: 2026-11-01}
entries:
  - id: office-hours
    title: 社保大厅周末开门吗
    category: 办事指南
    questions: [社保大厅周六周日上班吗, 社保大厅 周末, 礼拜天能去大厅办社保不]
    answer: 本地社保大厅周六上午开放，周日休息。
"""


def test_an_entry_with_three_phrasings_loads_and_is_answerable_after_reload(
    kb_copy: Path,
) -> None:
    faq = Faq(kb_copy)
    assert faq.ask("周末社保大厅开不开门").kind is not Kind.ANSWER
    (kb_copy / "hours.yaml").write_text(THREE_PHRASINGS, encoding="utf-8")
    report = faq.reload()
    assert report.added == ("office-hours",)
    decision = faq.ask("周末社保大厅开不开门")
    assert decision.kind is Kind.ANSWER and decision.entry is not None
    assert decision.entry.id == "office-hours"


def test_two_phrasings_are_too_few(kb_copy: Path) -> None:
    text = THREE_PHRASINGS.replace(", 礼拜天能去大厅办社保不", "")
    (kb_copy / "hours.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(KnowledgeError, match="has 2 questions, needs at least 3"):
        load_knowledge(kb_copy)


def test_kb_check_advises_more_phrasings_under_five(
    kb_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (kb_copy / "hours.yaml").write_text(THREE_PHRASINGS, encoding="utf-8")
    assert main(["kb", "check", str(kb_copy)]) == 0
    out = capsys.readouterr().out
    assert f"warning: {kb_copy / 'hours.yaml'}:3: entry 'office-hours' has 3 phrasings" in out
    assert "colloquial" in out and "keyword" in out and "older person" in out


def test_a_fresh_knowledge_base_needs_no_lexicon_or_declined_file(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "hours.yaml").write_text(THREE_PHRASINGS, encoding="utf-8")
    faq = Faq(fresh)
    assert faq.kb.declined == ()
    decision = faq.ask("礼拜六社保大厅上不上班")
    assert decision.entry is not None and decision.entry.id == "office-hours"
    assert faq.ask("明天天气怎么样").kind is Kind.FALLBACK


ASKS_WHAT_NO_ANSWER_TELLS = ["周六去社保大厅办事要带啥材料", "社保大厅周六办事要手续费吗"]


@pytest.mark.parametrize("question", ASKS_WHAT_NO_ANSWER_TELLS)
def test_without_its_own_list_a_knowledge_base_gets_the_generic_words(
    tmp_path: Path, question: str
) -> None:
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "hours.yaml").write_text(THREE_PHRASINGS, encoding="utf-8")
    # The answer tells the opening hours, not the documents or fees asked about.
    assert Faq(fresh).ask(question).kind is Kind.FALLBACK
    (fresh / "lexicon").mkdir()
    (fresh / "lexicon" / "out_of_scope.yaml").write_text("terms: []\n", encoding="utf-8")
    decision = Faq(fresh).ask(question)  # the folder's own list replaces the generic one
    assert decision.kind is Kind.ANSWER and decision.entry is not None
    assert decision.entry.id == "office-hours"


def test_a_generic_word_an_entry_uses_is_in_scope_without_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    text = THREE_PHRASINGS.replace("周日休息。", "周日休息；办事请带身份证等材料。")
    (fresh / "hours.yaml").write_text(text, encoding="utf-8")
    decision = Faq(fresh).ask("周六去社保大厅办事要带啥材料")
    assert decision.kind is Kind.ANSWER and decision.entry is not None
    assert main(["kb", "check", str(fresh)]) == 0
    out = capsys.readouterr().out
    assert "out-of-scope term" not in out
    assert "generic out-of-scope words are used (44, and 1 that entries use set aside)" in out


def test_the_generic_words_are_the_shipped_list_and_a_handful(tmp_path: Path) -> None:
    generic = load_lexicon(tmp_path)  # a folder with no lexicon at all
    shipped = load_lexicon(KNOWLEDGE)
    assert generic.out_of_scope == shipped.out_of_scope
    assert len(generic.out_of_scope) <= 50
    assert "激活" not in generic.in_scope_with and "激活" in shipped.in_scope_with
