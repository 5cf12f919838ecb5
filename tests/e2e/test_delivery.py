"""Bot API faults lose no reply (issue 12 §2): the issue's three cases, shortened in time.

Transient failures (5xx, dropped or refused connections, timeouts) are retried with backoff and
jitter for up to 90 s a request, and each chat's replies keep their order. The same retries
over a 60 s outage, in simulated time, are in tests/tg/test_ratelimit.py.
"""

from __future__ import annotations

import random
import time

import pytest

from tests.e2e.conftest import WAIT, BotProcess, entity_text

pytestmark = pytest.mark.usefixtures("clear_faults")

QUESTIONS = {
    "工伤怎么认定": "网上办工伤业务",
    "失业金怎么申领": "网上申领失业金",
    "电子社保卡怎么领": "怎样领取电子社保卡",
}
ORDER = list(QUESTIONS)


def ask_all(bot: BotProcess, users: range, rounds: int = 3) -> int:
    """Every user asks the questions of ORDER in turn (all users at once); the seq to count
    replies from."""
    messages = [
        {"user_id": user, "text": ORDER[turn % len(ORDER)]}
        for turn in range(rounds)
        for user in users
    ]
    return bot.api.send_many(messages)[0].seq


def answers(bot: BotProcess, since: int) -> dict[int, list[str]]:
    """The titles of the text messages the bot sent each chat after *since*, in order."""
    titles: dict[int, list[str]] = {}
    for message in bot.api.messages(since=since):
        if "text" in message:
            bold = entity_text(message, "bold") or [message["text"][:20]]
            titles.setdefault(int(message["chat"]["id"]), []).append(bold[0])
    return titles


def assert_every_reply_once_in_order(
    bot: BotProcess,
    users: range,
    since: int,
    rounds: int = 3,
    timeout: float = WAIT,
    *,
    at_least: bool = False,
) -> None:
    """Each user got exactly one answer a question, in the order asked (photos aside); with
    *at_least*, a reply may come twice in a row: a connection cut while Telegram was answering
    a request it had carried out leaves the bot no way to know, so it sends again (the
    delivery is at least once, bot/tg/ratelimit.py)."""
    expected = [QUESTIONS[ORDER[turn % len(ORDER)]] for turn in range(rounds)]

    def replies() -> dict[int, list[str]]:
        got = answers(bot, since)
        if at_least:
            return {
                u: [t for n, t in enumerate(ts) if not n or ts[n - 1] != t]
                for u, ts in got.items()
            }
        return got

    deadline = time.monotonic() + timeout
    while sum(len(replies().get(user, [])) for user in users) < rounds * len(users):
        bot.assert_running()
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    time.sleep(0.3)  # a late duplicate would show up now
    got = replies()
    wrong = {user: got.get(user, []) for user in users if got.get(user, []) != expected}
    lost = sum(len(set(expected) - set(titles)) for titles in wrong.values())
    assert not wrong, f"{lost} of {rounds * len(users)} answers lost; {len(wrong)} chats: {wrong}"


def test_30_percent_failing_calls_lose_no_reply(bot: BotProcess) -> None:
    plan = random.Random(12).choices(["pass", "500", "502", "drop"], [70, 10, 10, 10], k=400)
    for kind in plan:
        if kind == "502":
            bot.api.inject("error", "sendMessage", code=502, description="Bad Gateway")
        else:
            bot.api.inject(kind, "sendMessage")
    users = range(5101, 5134)  # 33 users x 3 questions: about 100 replies
    since = ask_all(bot, users)
    assert_every_reply_once_in_order(bot, users, since, timeout=30)
    failed = [c for c in bot.api.sent(method="sendMessage", since=since) if not c.get("ok")]
    assert failed, "the faults were injected"
    assert "Traceback" not in bot.log(since_mark=True)


def test_a_run_of_server_errors_loses_no_reply(bot: BotProcess) -> None:
    bot.api.inject("500", "sendMessage", count=100_000)
    users = range(5201, 5211)
    since = ask_all(bot, users)
    time.sleep(4.0)  # the old retries (0.5 s, then 2 s) gave up after 2.5 s
    bot.api.clear_faults()
    assert_every_reply_once_in_order(bot, users, since, timeout=20)


def test_refused_connections_lose_no_reply(bot: BotProcess) -> None:
    users = range(5301, 5311)
    # The first replies are in flight when the API goes away (cut, then refused).
    bot.api.inject("hang", "sendMessage", seconds=30, count=5)
    since = ask_all(bot, users)
    bot.wait_until(lambda: not bot.api.state()["faults"], "the bot's first replies")
    bot.api.offline(5.0)
    time.sleep(5.0)
    deadline = time.monotonic() + WAIT
    while True:  # the fake's control API comes back with it
        try:
            bot.api.seq()
            break
        except OSError:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert_every_reply_once_in_order(bot, users, since, timeout=20, at_least=True)
