"""Per-chat lanes (issue 12 §1), in a real Application talking HTTP to the fake Bot API.

Updates go through python-telegram-bot's own queue and the ``FairUpdateProcessor``; replies go
through the ``RateLimiter`` to the fake. Each test runs with a single slot, so who gets it
shows in the order the fake logged the replies.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.tg.lanes import FairUpdateProcessor
from bot.tg.ratelimit import RateLimiter
from tests.fakebotapi import FakeBotApi, FakeBotApiServer, group

TOKEN = "123456789:AAFakeTokenForLaneTests_abcdefghijk"
GROUP = group(-1001300000001, "忙碌的群")
OTHER_GROUP = group(-1001300000002, "另一个群")
PRIVATE = 3101

App = Application[Any, ContextTypes.DEFAULT_TYPE, Any, Any, Any, Any]


@pytest.fixture
def server() -> Iterator[FakeBotApiServer]:
    with FakeBotApiServer(TOKEN) as srv:
        yield srv


class Lanes:
    """A running Application with one slot, an echo handler, and ways to feed it."""

    def __init__(self, server: FakeBotApiServer, app: App) -> None:
        self.api: FakeBotApi = server.client()
        self.app = app
        self.gate = asyncio.Event()
        """A message starting with "wait" is answered once this is set."""

    @property
    def processor(self) -> FairUpdateProcessor:
        processor = self.app.update_processor
        assert isinstance(processor, FairUpdateProcessor)
        return processor

    async def push(self, text: str, chat: dict[str, object] | None = None, user: int = 1) -> int:
        """Send *text* (privately from *user*, or in *chat*) into the application's queue."""
        pushed = await asyncio.to_thread(self.api.send_text, user, text, chat=chat)
        raw = {**pushed.update, "update_id": pushed.update_id}
        await self.app.update_queue.put(Update.de_json(raw, self.app.bot))
        return int(pushed.seq)

    async def replies(self, since: int = 0) -> list[str]:
        """The texts the bot sent, every chat, in the order the fake received them."""
        return [m["text"] for m in self.api.messages(since=since) if "text" in m]

    async def until(self, check: Callable[[], Awaitable[bool]], what: str) -> None:
        deadline = time.monotonic() + 10
        while not await check():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            await asyncio.sleep(0.02)


MakeLanes = Callable[..., Awaitable[Lanes]]


@pytest.fixture
async def make_lanes(server: FakeBotApiServer) -> AsyncIterator[MakeLanes]:
    made: list[Lanes] = []

    async def make(limiter: RateLimiter | None = None, *, group_backlog: int = 10) -> Lanes:
        processor = FairUpdateProcessor(1, group_backlog=group_backlog)
        app: App = (
            ApplicationBuilder()
            .token(TOKEN)
            .base_url(server.bot_api_url)
            .updater(None)
            .concurrent_updates(processor)
            .rate_limiter(limiter or RateLimiter(group_max_rate=0))
            .build()
        )
        lanes = Lanes(server, app)

        async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            message = update.effective_message
            assert message is not None and message.text is not None
            if message.text.startswith("wait"):
                await lanes.gate.wait()
            await message.reply_text(f"echo {message.text}", do_quote=False)

        async def slow_down(update: object) -> None:
            assert isinstance(update, Update) and update.effective_chat is not None
            await app.bot.send_message(update.effective_chat.id, "slow down")

        app.add_handler(MessageHandler(filters.TEXT, echo))
        processor.on_shed = slow_down
        await app.initialize()
        await app.start()
        made.append(lanes)
        return lanes

    yield make
    for lanes in made:
        lanes.gate.set()
        await lanes.app.stop()
        await lanes.app.shutdown()


async def test_a_group_waiting_for_its_flood_limit_lends_its_slot(make_lanes: MakeLanes) -> None:
    lanes = await make_lanes(RateLimiter(group_max_rate=1, group_time_period=1.5))
    since = await lanes.push("g1", GROUP)
    await lanes.push("g2", GROUP)  # its reply must wait for the group's limit
    await lanes.until(lambda: _has(lanes, "echo g1", since), "the first group reply")
    await lanes.push("p1")
    await lanes.until(lambda: _has(lanes, "echo g2", since), "the second group reply")
    assert await lanes.replies(since) == ["echo g1", "echo p1", "echo g2"]


async def test_a_retry_pause_lends_the_slot(make_lanes: MakeLanes) -> None:
    lanes = await make_lanes(RateLimiter(group_max_rate=0, first_delay=1.0))
    lanes.api.inject("500", "sendMessage")
    since = await lanes.push("g1", GROUP)
    await lanes.until(lambda: _failed(lanes, since), "the failed reply")
    await lanes.push("p1")
    await lanes.until(lambda: _has(lanes, "echo g1", since), "the retried reply")
    assert await lanes.replies(since) == ["echo p1", "echo g1"]


async def test_a_chat_beyond_its_backlog_is_skipped_and_told_once_a_minute(
    make_lanes: MakeLanes,
) -> None:
    lanes = await make_lanes(group_backlog=3)
    since = await lanes.push("wait 0", GROUP)  # holds the lane until the gate opens
    for n in range(1, 10):
        await lanes.push(f"text {n}", GROUP)
    await lanes.push("other", OTHER_GROUP)
    await lanes.until(lambda: _true(lanes.processor.skipped == 7), "7 skipped updates")
    lanes.gate.set()
    await lanes.until(lambda: _has(lanes, "echo other", since), "the other group's reply")
    await lanes.until(lambda: _has(lanes, "slow down", since), "the notice")
    # The other group waited for the slot, not behind this lane: it went first once freed.
    assert await lanes.replies(since) == [
        "echo wait 0",
        "echo other",
        "echo text 1",
        "echo text 2",
        "slow down",
    ]
    idle = lambda: _true(lanes.processor.current_concurrent_updates == 0)  # noqa: E731
    await lanes.until(idle, "the notice's update to end")  # logged before its answer is read
    lanes.gate = asyncio.Event()
    mark = await lanes.push("wait 1", GROUP)
    for n in range(10, 20):
        await lanes.push(f"text {n}", GROUP)
    await lanes.until(lambda: _true(lanes.processor.skipped == 15), "8 more skipped")
    lanes.gate.set()
    await lanes.until(lambda: _has(lanes, "echo text 11", mark), "the lane to drain")
    assert await lanes.replies(mark) == ["echo wait 1", "echo text 10", "echo text 11"]


async def _true(value: bool) -> bool:
    return value


async def _has(lanes: Lanes, text: str, since: int) -> bool:
    return text in await lanes.replies(since)


async def _failed(lanes: Lanes, since: int) -> bool:
    calls = lanes.api.sent(method="sendMessage", since=since)
    return any(not call.get("ok") for call in calls)
