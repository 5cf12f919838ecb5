"""Fair update processing: every chat has its own lane, so no chat can stall the others.

python-telegram-bot hands each update to an update processor. This one (a documented
``BaseUpdateProcessor``) runs a chat's updates one at a time and in order, each holding one of
a few *slots* (the CPU and Bot API connections the bot works with) only while it works:
``parked()`` gives the slot back while a request waits for a flood limit or a retry
(``bot.tg.ratelimit``). A chat with more updates waiting than its backlog allows has the rest
skipped (its lane is full); once a minute it is told to slow down instead.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Hashable
from contextlib import asynccontextmanager
from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import BaseUpdateProcessor

from bot.tg.groups import Cooldown

log = logging.getLogger(__name__)

GROUP_BACKLOG = 10
"""Updates a group may have waiting: Telegram lets a bot post about 20 messages a minute in a
group, so the tenth is answered within about half a minute."""
PRIVATE_BACKLOG = 50
"""Updates a private chat may have waiting (no per-chat limit there but the bot's own pace)."""
NOTICE_SECONDS = 60.0
"""A chat whose updates are skipped is told so at most once in this many seconds."""
ADMITTED = 4096
"""Updates python-telegram-bot may hand over at once (most of them only wait in their lane)."""

OnShed = Callable[[object], Coroutine[Any, Any, None]]


class _Slot:
    """One update's claim on a working slot; released at most once per acquisition."""

    def __init__(self, semaphore: asyncio.Semaphore) -> None:
        self._semaphore = semaphore
        self.held = False

    async def acquire(self) -> None:
        await self._semaphore.acquire()
        self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self._semaphore.release()


_current: contextvars.ContextVar[_Slot | None] = contextvars.ContextVar("slot", default=None)


@asynccontextmanager
async def parked() -> AsyncIterator[None]:
    """Lend the running update's slot to other chats while waiting inside this block."""
    slot = _current.get()
    if slot is None or not slot.held:
        yield
        return
    slot.release()
    try:
        yield
    finally:
        await slot.acquire()


def lane_of(update: object) -> tuple[Hashable, bool] | None:
    """The lane an update waits in (its chat, else its user) and whether it is a group's."""
    if not isinstance(update, Update):
        return None
    chat = update.effective_chat
    if chat is not None:
        return chat.id, chat.type != ChatType.PRIVATE
    user = update.effective_user
    return (("user", user.id), False) if user is not None else None


class _Lane:
    """A chat's updates: how many are admitted (running or waiting) and whose turn it is."""

    __slots__ = ("lock", "size")

    def __init__(self) -> None:
        self.size = 0
        self.lock = asyncio.Lock()


class FairUpdateProcessor(BaseUpdateProcessor):
    """Runs each chat's updates in order, *slots* updates at once, a flood shed per chat."""

    def __init__(
        self,
        slots: int,
        *,
        group_backlog: int = GROUP_BACKLOG,
        private_backlog: int = PRIVATE_BACKLOG,
        notice_seconds: float = NOTICE_SECONDS,
    ) -> None:
        super().__init__(ADMITTED)
        self.slots = slots
        self.group_backlog = group_backlog
        self.private_backlog = private_backlog
        self.notices = Cooldown(notice_seconds)
        self.on_shed: OnShed | None = None
        """Called (in the chat's lane) for the first update skipped in a minute."""
        self.skipped = 0
        self._working = asyncio.Semaphore(slots)
        self._lanes: dict[Hashable, _Lane] = {}

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run *coroutine* in its chat's lane, or skip it when that lane is full."""
        where = lane_of(update)
        if where is None:
            await self._work(coroutine)
            return
        key, group = where
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane()
        if lane.size >= (self.group_backlog if group else self.private_backlog):
            if isinstance(coroutine, Coroutine):
                coroutine.close()  # never started: the update is skipped
            self.skipped += 1
            if self.on_shed is None or not self.notices.allow(key):
                return
            log.info(
                "A %s chat sends faster than it can be answered; its updates beyond %d "
                "waiting are skipped (it is told once a minute).",
                "group" if group else "private",
                lane.size,
            )
            coroutine = self.on_shed(update)
        lane.size += 1
        try:
            async with lane.lock:
                await self._work(coroutine)
        finally:
            lane.size -= 1
            if lane.size == 0 and self._lanes.get(key) is lane:
                del self._lanes[key]

    async def _work(self, coroutine: Awaitable[Any]) -> None:
        slot = _Slot(self._working)
        await slot.acquire()
        token = _current.set(slot)
        try:
            await coroutine
        finally:
            _current.reset(token)
            slot.release()
