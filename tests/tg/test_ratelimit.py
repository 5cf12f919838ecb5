"""Bot API faults lose no reply (issue 12 §2): the retry policy over a real Bot and HTTP.

The outages here last 60 s and more, in simulated time: the limiter's clock and sleep are the
test's, while the requests are real ones to the fake Bot API, which really goes offline.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterator

import pytest
from telegram.error import BadRequest, NetworkError
from telegram.ext import ExtBot

from bot.tg import ratelimit
from bot.tg.ratelimit import (
    MAX_DELAY,
    RETRY_SECONDS,
    STOP_RETRY_SECONDS,
    NotSentWhileStopping,
    RateLimiter,
)
from tests.fakebotapi import FakeBotApiServer, group

TOKEN = "123456789:AAFakeTokenForRetryTests_abcdefghij"
CHAT = 3201


class FakeTime:
    """A clock that a sleep moves forward at once; *then* runs once it passes a moment."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self.then: list[tuple[float, Callable[[], Awaitable[None]]]] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        for at, action in list(self.then):
            if self.now >= at:
                self.then.remove((at, action))
                await action()


@pytest.fixture
def server() -> Iterator[FakeBotApiServer]:
    with FakeBotApiServer(TOKEN) as srv:
        srv.client().send_text(CHAT, "你好")  # the chat exists
        yield srv


def make_bot(server: FakeBotApiServer, clock: FakeTime, seed: int = 1) -> ExtBot[int]:
    limiter = RateLimiter(clock=clock.clock, sleep=clock.sleep, rng=random.Random(seed))
    return ExtBot(TOKEN, base_url=server.bot_api_url, rate_limiter=limiter)


async def test_a_60_second_outage_is_retried_through(server: FakeBotApiServer) -> None:
    clock = FakeTime()
    async with make_bot(server, clock) as bot:
        await asyncio.to_thread(server.go_offline)
        clock.then.append((60.0, lambda: asyncio.to_thread(server.go_online)))
        message = await bot.send_message(CHAT, "停机一分钟之后")
    assert message.text == "停机一分钟之后"
    assert 60.0 <= clock.now <= 60.0 + MAX_DELAY
    assert max(clock.sleeps) <= MAX_DELAY
    assert len(clock.sleeps) <= 15  # backoff, not a busy loop
    sent = server.client().messages(CHAT)
    assert [m["text"] for m in sent] == ["停机一分钟之后"]  # once


async def test_the_pauses_are_jittered(server: FakeBotApiServer) -> None:
    pauses = []
    for seed in (1, 2):
        clock = FakeTime()
        async with make_bot(server, clock, seed) as bot:
            server.client().inject("500", "sendMessage", count=4)
            await bot.send_message(CHAT, "抖动")
        pauses.append(clock.sleeps)
    assert len(pauses[0]) == len(pauses[1]) == 4
    assert pauses[0] != pauses[1]  # two bots that failed together do not retry together
    for attempt, (one, other) in enumerate(zip(*pauses, strict=True)):
        full = min(MAX_DELAY, 0.5 * 2**attempt)
        assert full / 2 <= one <= full and full / 2 <= other <= full


async def test_a_longer_outage_gives_up_within_the_retry_window(
    server: FakeBotApiServer,
) -> None:
    clock = FakeTime()
    async with make_bot(server, clock) as bot:
        await asyncio.to_thread(server.go_offline)
        try:
            with pytest.raises(NetworkError):
                await bot.send_message(CHAT, "一直停机")
        finally:
            await asyncio.to_thread(server.go_online)
    assert RETRY_SECONDS - MAX_DELAY <= clock.now <= RETRY_SECONDS
    assert len(clock.sleeps) <= 20


async def test_a_refusal_is_not_retried(server: FakeBotApiServer) -> None:
    clock = FakeTime()
    async with make_bot(server, clock) as bot:
        with pytest.raises(BadRequest):
            await bot.send_message(CHAT, "<b>没有闭合", parse_mode="HTML")
    assert clock.sleeps == []


# PTB 22 warns about its own RetryAfter.retry_after type change when it builds the error.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_a_flood_limit_pauses_only_its_own_chat(server: FakeBotApiServer) -> None:
    api = server.client()
    api.send_text(CHAT + 1, "你好")
    async with ExtBot(TOKEN, base_url=server.bot_api_url, rate_limiter=RateLimiter()) as bot:
        api.inject("429", "sendMessage", retry_after=1)
        flooded = asyncio.create_task(bot.send_message(CHAT, "被限流的"))
        await asyncio.to_thread(api.wait_calls, "sendMessage", 1)  # the 429
        await bot.send_message(CHAT + 1, "别的聊天")
        await flooded
    calls = api.sent(method="sendMessage")
    assert [(c["chat_id"], c.get("error_code")) for c in calls] == [
        (CHAT, 429),
        (CHAT + 1, None),
        (CHAT, None),
    ]
    assert calls[2]["time"] - calls[0]["time"] >= 1.0


async def test_retries_end_soon_once_the_bot_is_stopping(server: FakeBotApiServer) -> None:
    clock = FakeTime()
    running = [True]
    async with make_bot(server, clock) as bot:
        assert isinstance(bot.rate_limiter, RateLimiter)
        bot.rate_limiter.running = lambda: running[0]
        await bot.send_message(CHAT, "运行中")
        running[0] = False  # SIGTERM: the application stops
        await asyncio.to_thread(server.go_offline)
        try:
            with pytest.raises(NetworkError):
                await bot.send_message(CHAT, "停机中")
        finally:
            await asyncio.to_thread(server.go_online)
    assert clock.now <= STOP_RETRY_SECONDS


async def test_once_the_bot_is_stopping_a_group_limit_no_longer_holds_a_reply(
    server: FakeBotApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ratelimit, "STOP_RETRY_SECONDS", 0.3)
    chat = group(-1001400000001, "停机时的群")
    server.client().send_text(CHAT, f"/help@{server.telegram.username}", chat=chat)
    limiter = RateLimiter(group_max_rate=1)  # the next message in a minute
    running = [True]
    limiter.running = lambda: running[0]
    async with ExtBot(TOKEN, base_url=server.bot_api_url, rate_limiter=limiter) as bot:
        await bot.send_message(chat["id"], "第一条")
        running[0] = False  # SIGTERM
        with pytest.raises(NotSentWhileStopping):  # not after the group's minute
            await asyncio.wait_for(bot.send_message(chat["id"], "第二条"), 5)
    assert [m["text"] for m in server.client().messages(int(chat["id"]))] == ["第一条"]
