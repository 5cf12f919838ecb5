"""The use case: one question in, a reply decision and what to store out (issue 13)."""

from __future__ import annotations

import ast
from pathlib import Path

from bot.core.decision import Kind
from bot.core.faq import Faq
from bot.core.render import Action
from bot.core.service import CONSOLE, Answering, Incoming, read_question
from bot.core.strings_zh import GREETING_TEXT, PRIVACY_NOTICE, THANKS_TEXT
from bot.storage.sqlite import SqliteStorage

ROOT = Path(__file__).resolve().parents[2]


async def test_small_talk_is_stored_apart_from_the_unanswered(faq: Faq, tmp_path: Path) -> None:
    answering = Answering(faq)
    storage = SqliteStorage(tmp_path / "bot.sqlite3")
    await storage.open()
    try:
        for text in ("你好", "谢谢", "公积金怎么提取", "电子社保卡怎么领"):
            outcome = answering.ask(Incoming(text, user_id=7))
            for record in outcome.records:
                await storage.log_question(record)
        groups = await storage.unanswered(10)
        stats = await storage.stats(7)
    finally:
        await storage.close()
    assert groups is not None and [group.text for group in groups] == ["公积金怎么提取"]
    assert (stats.small_talk, stats.questions) == (2, 2)
    assert (stats.answered, stats.fallback) == (1, 1)


def test_a_bare_greeting_or_thanks_is_its_own_kind(faq: Faq) -> None:
    answering = Answering(faq)
    for text, reply in (("你好", GREETING_TEXT), ("谢谢您", THANKS_TEXT)):
        outcome = answering.ask(Incoming(text))
        assert outcome.decision.kind is Kind.SMALL_TALK
        assert outcome.reply.text == reply
        assert [record.decision for record in outcome.records] == ["small_talk"]
    # A greeting with a question is a question.
    assert answering.ask(Incoming("你好，电子社保卡怎么领")).decision.kind is Kind.ANSWER


def test_personal_data_is_hidden_at_the_entrance_and_the_user_told_once(faq: Faq) -> None:
    answering = Answering(faq)
    text = "电子社保卡怎么领，我手机13812345678"
    first = answering.ask(Incoming(text, user_id=1))
    again = answering.ask(Incoming(text, user_id=1))
    other = answering.ask(Incoming(text, user_id=2))
    assert first.decision.kind is Kind.ANSWER
    assert all("13812345678" not in record.text for record in first.records)
    assert "[手机号]" in first.records[0].text
    assert "13812345678" not in first.decision.question
    assert first.notice is not None and first.notice.text == PRIVACY_NOTICE
    assert again.notice is None and other.notice is not None
    assert read_question(text).matching.strip() == "电子社保卡怎么领，我"


def test_the_unanswered_rest_of_a_message_is_a_second_record(faq: Faq) -> None:
    outcome = Answering(faq).ask(Incoming("电子社保卡怎么领？另外公积金怎么取", "group"))
    first, rest = outcome.records
    assert (first.decision, first.entry_id, first.chat_type) == ("answer", "apply-e-card", "group")
    assert (rest.decision, rest.text) == ("fallback", "公积金怎么取")


def test_pressing_an_entry_makes_it_the_topic_for_a_follow_up(faq: Faq) -> None:
    answering = Answering(faq)
    shown = answering.press(Action.ENTRY, "apply-e-card", conversation=CONSOLE, compact=False)
    assert shown is not None and shown.entry_id == "apply-e-card"
    assert answering.conversations.last(CONSOLE) == faq.kb.by_id["apply-e-card"]
    assert answering.press(Action.ENTRY, "no-such-entry", conversation=None, compact=False) is None


def test_the_core_imports_no_adapter() -> None:
    for path in sorted((ROOT / "bot" / "core").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top not in ("telegram", "aiosqlite"), f"{path}: imports {name}"
                assert not name.startswith(("bot.tg", "bot.storage")), f"{path}: imports {name}"
