from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.decision import Kind
from bot.core.faq import Faq
from bot.core.knowledge import KnowledgeError
from bot.core.service import Answering


def test_reload_reports_changes(kb_copy: Path) -> None:
    faq = Faq(kb_copy)
    path = kb_copy / "services.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("title: 在支付宝查社保、交社保", "title: 支付宝查社保交社保"), "utf-8"
    )
    report = faq.reload()
    assert report.changed == ("query-and-payment",)
    assert report.added == () and report.removed == ()
    assert report.entries == len(faq.kb.entries)
    assert "query-and-payment" in report.summary()


def test_failed_reload_keeps_the_old_knowledge(kb_copy: Path) -> None:
    faq = Faq(kb_copy)
    before = faq.kb
    (kb_copy / "services.yaml").write_text("entries:\n  - id: [broken\n", encoding="utf-8")
    with pytest.raises(KnowledgeError) as error:
        faq.reload()
    assert "services.yaml" in str(error.value)
    assert faq.kb is before
    assert faq.ask("失业金怎么申领").entry is not None


def test_reload_of_a_missing_folder_keeps_the_old_knowledge(kb_copy: Path) -> None:
    faq = Faq(kb_copy)
    before = faq.kb
    faq.directory = kb_copy / "gone"
    with pytest.raises(KnowledgeError, match="does not exist"):
        faq.reload()
    assert faq.kb is before


def test_a_reload_reuses_phrasing_tokens_only_while_the_lexicon_is_the_same(
    kb_copy: Path,
) -> None:
    faq = Faq(kb_copy)
    before = faq.matcher._tokenised
    faq.reload()
    after = faq.matcher._tokenised
    assert after.keys() == before.keys()
    assert all(after[text] is before[text] for text in before)  # not segmented again

    synonyms = kb_copy / "lexicon" / "synonyms.yaml"
    synonyms.write_text(
        synonyms.read_text(encoding="utf-8") + "\n电子社保卡: [小蓝本本]\n", encoding="utf-8"
    )
    assert faq.ask("小蓝本本怎么领").kind is Kind.FALLBACK
    faq.reload()
    assert faq.ask("小蓝本本怎么领").entry.id == "apply-e-card"  # type: ignore[union-attr]
    assert not any(faq.matcher._tokenised[text] is before[text] for text in before)


def test_the_first_of_two_questions_is_answered_and_the_rest_named(faq: Faq) -> None:
    decision = faq.ask("电子社保卡怎么领？另外公积金怎么取")
    assert decision.kind is Kind.ANSWER and decision.entry is not None
    assert decision.entry.id == "apply-e-card"
    assert decision.unanswered == "公积金怎么取"
    assert decision.question == "电子社保卡怎么领？另外公积金怎么取"


def test_an_out_of_scope_first_question_is_named_beside_the_answered_one(faq: Faq) -> None:
    decision = faq.ask("公积金怎么取？电子社保卡怎么领")
    assert decision.kind is Kind.ANSWER and decision.entry is not None
    assert decision.entry.id == "apply-e-card"
    assert decision.unanswered == "公积金怎么取"


def test_an_out_of_scope_question_alone_is_refused(faq: Faq) -> None:
    decision = faq.ask("公积金怎么取")
    assert decision.kind is not Kind.ANSWER and decision.unanswered == ""


@pytest.mark.parametrize(
    "question", ["电子社保卡怎么激活", "支付宝里那个社保卡咋激活", "新社保卡怎么激活"]
)
def test_activating_a_card_is_declined_by_a_reviewed_example(faq: Faq, question: str) -> None:
    # The article says how to claim the e-card, not how to activate a card: the reviewed
    # questions to decline (knowledge/declined.yaml) hold "新领的社保卡怎么激活".
    decision = faq.ask(question)
    assert decision.kind is Kind.FALLBACK
    assert "激活" in decision.analysis.declined_words


def test_a_term_brought_back_in_scope_does_not_veto(faq: Faq) -> None:
    # 被骗 (being cheated) is out of scope, but next to 官方/正规 the question asks whether the
    # e-card is official, which the knowledge base answers.
    decision = faq.ask("电子社保卡是官方正规的吗，怕被骗")
    assert decision.kind is Kind.ANSWER and decision.entry is not None
    assert decision.entry.id == "what-is-e-card"
    refused = faq.ask("电子社保卡被骗了怎么办")
    assert refused.kind is not Kind.ANSWER and refused.analysis.out_of_scope == ("被骗",)


def test_an_id_number_in_a_question_does_not_stop_the_answer(faq: Faq) -> None:
    # 身份证号 is an out-of-scope word (lost ID cards); next to the number itself it only names
    # the personal data, which is never evidence of what is asked.
    decision = Answering(faq).decide("我身份证号210102198001011232，电子社保卡怎么领")
    assert decision.kind is Kind.ANSWER and decision.entry is not None
    assert decision.entry.id == "apply-e-card"
