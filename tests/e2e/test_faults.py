"""A flaky Bot API (issue 5 §3): flood limits, server errors, a hang, an outage.

The bot must keep running and deliver the reply, exactly once, when the API recovers
(more in test_delivery.py: issue 12 §2).
"""

from __future__ import annotations

import time
import urllib.error

import pytest

from tests.e2e.conftest import JSON, WAIT, BotProcess, entity_text

pytestmark = pytest.mark.usefixtures("clear_faults")

READ_TIMEOUT = 5.0
"""python-telegram-bot's default read timeout, which the bot keeps."""


def answer_calls(bot: BotProcess, user: int, since: int) -> list[JSON]:
    """The bot's sendMessage attempts to *user* after *since*, failed ones included."""
    return bot.api.sent(user, method="sendMessage", since=since)


def assert_alive_and_answering(bot: BotProcess, user: int) -> None:
    """The process still runs and polls: a new question is answered at once."""
    (reply,) = bot.ask(user, "失业金怎么申领")
    assert entity_text(reply, "bold") == ["网上申领失业金"]


def test_flood_limit_429_is_waited_out(bot: BotProcess) -> None:
    user = 5001
    bot.api.inject("429", "sendMessage", retry_after=1)
    pushed = bot.api.send_text(user, "工伤怎么认定")
    (reply,) = bot.api.wait_for(user, 1, WAIT, since=pushed.seq)
    assert entity_text(reply, "bold") == ["网上办工伤业务"]
    refused, sent = answer_calls(bot, user, pushed.seq)
    assert refused["error_code"] == 429 and sent["ok"]
    assert sent["time"] - refused["time"] >= 1.0  # retry_after was honoured
    assert_alive_and_answering(bot, user)


def test_server_errors_are_retried(bot: BotProcess) -> None:
    user = 5002
    bot.api.inject("500", "sendMessage", count=2)
    pushed = bot.api.send_text(user, "工伤怎么认定")
    (reply,) = bot.api.wait_for(user, 1, WAIT, since=pushed.seq)
    assert entity_text(reply, "bold") == ["网上办工伤业务"]
    calls = answer_calls(bot, user, pushed.seq)
    assert [call.get("error_code") for call in calls] == [500, 500, None]
    assert calls[-1]["ok"]
    bot.wait_for_log("sendMessage failed")
    assert "Traceback" not in bot.log(since_mark=True)
    assert_alive_and_answering(bot, user)


def test_a_reply_telegram_refuses_becomes_an_apology(bot: BotProcess) -> None:
    user = 5003
    bot.api.inject(
        "error", "sendMessage", code=400, description="Bad Request: can't parse entities"
    )
    pushed = bot.api.send_text(user, "工伤怎么认定")
    (apology,) = bot.api.wait_for(user, 1, WAIT, since=pushed.seq)
    assert apology["text"].startswith("抱歉，刚才出了点问题") and "12333" in apology["text"]
    refused, _ = answer_calls(bot, user, pushed.seq)  # a refusal is not retried
    assert refused["error_code"] == 400
    bot.wait_for_log("Error while handling update")
    assert_alive_and_answering(bot, user)


def test_a_hanging_request_times_out_and_is_retried(bot: BotProcess) -> None:
    user = 5004
    bot.api.inject("hang", "sendMessage", seconds=READ_TIMEOUT + 3)
    pushed = bot.api.send_text(user, "工伤怎么认定")
    started = time.monotonic()
    (reply,) = bot.api.wait_for(user, 1, READ_TIMEOUT + WAIT, since=pushed.seq)
    assert time.monotonic() - started >= READ_TIMEOUT - 0.5
    assert entity_text(reply, "bold") == ["网上办工伤业务"]
    bot.wait_for_log("sendMessage failed (Timed out)")
    assert_alive_and_answering(bot, user)
    assert len(bot.api.messages(user, since=pushed.seq)) == 2  # sent once, then the new answer


def wait_until_online(bot: BotProcess, timeout: float = WAIT) -> None:
    """Wait until the fake answers its control API again."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            bot.api.seq()
            return
        except urllib.error.URLError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_an_outage_is_survived_and_the_reply_delivered_after(bot: BotProcess) -> None:
    user = 5005
    # The reply's request is in flight when the API goes away (connections cut, then refused).
    bot.api.inject("hang", "sendMessage", seconds=30)
    pushed = bot.api.send_text(user, "工伤怎么认定")
    bot.wait_until(lambda: not bot.api.state()["faults"], "the bot's sendMessage")
    bot.api.offline(1.5)
    time.sleep(1.0)
    bot.assert_running()
    wait_until_online(bot)
    (reply,) = bot.api.wait_for(user, 1, WAIT, since=pushed.seq)
    assert entity_text(reply, "bold") == ["网上办工伤业务"]
    # Long polling came back too: the bot still hears new questions.
    assert_alive_and_answering(bot, user)
    log = bot.log(since_mark=True)
    assert "Cannot reach the Telegram Bot API" in log  # one line a failed poll, no traceback
    assert "Traceback" not in log
