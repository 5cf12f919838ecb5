from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.faq import Faq
from bot.core.knowledge import KnowledgeError


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
