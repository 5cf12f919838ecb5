"""The error handler: logs with context (never the token), apologises to the user."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import cast

import pytest
from telegram.error import NetworkError

from bot.core.decision import Decision
from bot.core.strings_zh import APOLOGY
from bot.tg.context import Context
from bot.tg.errors import on_error
from tests.tg.conftest import BOT_USERNAME, GROUP_ID, TOKEN, Harness


def _break_matching(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    def ask(question: str) -> Decision:
        raise RuntimeError(f"matcher exploded with token {TOKEN}?")

    monkeypatch.setattr(harness.faq, "ask", ask)


async def test_a_failing_handler_apologises_and_logs_context(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _break_matching(harness, monkeypatch)
    with caplog.at_level(logging.ERROR, logger="bot.tg.errors"):
        await harness.say("电子社保卡怎么领")
    assert harness.request.texts() == [APOLOGY]
    [record] = [r for r in caplog.records if r.name == "bot.tg.errors"]
    assert record.getMessage() == "Error while handling update 1 (message, private chat)"
    assert record.exc_info is not None and "matcher exploded" in str(record.exc_info[1])
    assert "电子社保卡怎么领" not in record.getMessage()


async def test_in_groups_the_apology_replies_to_the_question(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    _break_matching(harness, monkeypatch)
    question = await harness.say(f"/ask@{BOT_USERNAME} 电子社保卡怎么领", chat_id=GROUP_ID)
    [apology] = harness.request.of("sendMessage")
    assert apology.params["text"] == APOLOGY
    assert apology.params["reply_parameters"]["message_id"] == question["message_id"]


async def test_a_failing_button_apologises_in_an_alert(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("storage exploded")

    monkeypatch.setattr(harness.storage, "record_vote", broken)
    await harness.press("v:+:1:apply-e-card")
    [alert] = harness.request.of("answerCallbackQuery")
    assert alert.params["text"] == APOLOGY and alert.params["show_alert"] is True
    assert harness.request.of("sendMessage") == []


async def test_a_failing_inline_query_is_only_logged(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _break_matching(harness, monkeypatch)
    with caplog.at_level(logging.ERROR, logger="bot.tg.errors"):
        await harness.inline("电子社保卡")
    assert harness.request.sent() == []
    assert "(inline_query, no chat)" in caplog.text


async def test_an_expired_inline_query_is_one_info_line_without_a_traceback(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.request.fail(
        "answerInlineQuery",
        400,
        "Bad Request: query is too old and response timeout expired or query id is invalid",
    )
    with caplog.at_level(logging.INFO, logger="bot.tg.errors"):
        await harness.inline("电子社保卡")
    [record] = [r for r in caplog.records if r.name == "bot.tg.errors"]
    assert record.levelname == "INFO" and record.exc_info is None
    assert "(inline_query, no chat)" in record.getMessage()
    assert harness.request.sent() == []


async def test_a_refused_answer_is_not_retried_and_apologised_for(harness: Harness) -> None:
    harness.request.fail("sendMessage", 400, "Bad Request: can't parse entities")
    await harness.say("电子社保卡怎么领")
    refused, apology = harness.request.of("sendMessage")
    assert refused.params["text"].startswith("<b>")
    assert apology.params["text"] == APOLOGY


async def test_a_user_who_blocked_the_bot_is_not_an_error(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.request.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
    with caplog.at_level(logging.INFO, logger="bot.tg.errors"):
        await harness.say("电子社保卡怎么领")
    assert len(harness.request.of("sendMessage")) == 1  # no apology into a blocked chat
    assert [r.levelname for r in caplog.records if r.name == "bot.tg.errors"] == ["INFO"]


async def test_an_unreachable_api_while_polling_is_one_warning_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    error = NetworkError("httpx.ConnectError: All connection attempts failed")
    context = cast(Context, SimpleNamespace(error=error))
    with caplog.at_level(logging.INFO, logger="bot.tg.errors"):
        await on_error(None, context)
    [record] = caplog.records
    assert record.levelname == "WARNING" and record.exc_info is None
    assert "All connection attempts failed" in record.getMessage()
