"""What the handlers share, kept in ``Application.bot_data``."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from telegram.ext import CallbackContext, ContextTypes, ExtBot

from bot.config import Settings
from bot.core.faq import Faq
from bot.core.matcher import Matcher
from bot.core.service import Answering
from bot.storage.base import Storage
from bot.tg.groups import FLOOD_SECONDS, GREETING_SECONDS, Cooldown

REFUSAL_LOG_SECONDS = 600.0
"""A user's refused admin commands are logged once in this long (the rest are counted)."""
REFUSALS_LOGGED_PER_MINUTE = 10
"""And at most this many a minute are logged, whoever sends them."""


class Budget:
    """At most *count* events in any *seconds*: ``allow()`` is True while there is room."""

    def __init__(
        self, count: int, seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.count = count
        self.seconds = seconds
        self.clock = clock
        self._times: deque[float] = deque()

    def allow(self) -> bool:
        """True (and counted) if fewer than *count* were allowed in the last *seconds*."""
        now = self.clock()
        while self._times and now - self._times[0] >= self.seconds:
            self._times.popleft()
        if len(self._times) >= self.count:
            return False
        self._times.append(now)
        return True


@dataclass
class Refusals:
    """Refused admin commands: which are logged, and how many were not."""

    per_user: Cooldown = field(default_factory=lambda: Cooldown(REFUSAL_LOG_SECONDS))
    overall: Budget = field(default_factory=lambda: Budget(REFUSALS_LOGGED_PER_MINUTE, 60.0))
    unlogged: int = 0


@dataclass
class Runtime:
    """Per-process state of the Telegram adapter: cooldowns, reloading, refusals."""

    flood: Cooldown = field(default_factory=lambda: Cooldown(FLOOD_SECONDS))
    greeted: Cooldown = field(default_factory=lambda: Cooldown(GREETING_SECONDS))
    reload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    reloading: asyncio.Future[Matcher] | None = None
    """The last reload's work in its thread (still running after its time ran out?)."""
    refusals: Refusals = field(default_factory=Refusals)


class BotData(dict[str, Any]):
    """``Application.bot_data``, typed: what every handler shares. A dict (python-telegram-bot
    makes it empty; ``build_application`` fills it), read through the properties below."""

    @property
    def faq(self) -> Faq:
        """The FAQ service: the knowledge base and matcher in use."""
        return cast(Faq, self["faq"])

    @property
    def answering(self) -> Answering:
        """The use case: a question in, a reply decision and what to store out."""
        return cast(Answering, self["answering"])

    @property
    def storage(self) -> Storage:
        """The storage."""
        return cast(Storage, self["storage"])

    @property
    def settings(self) -> Settings:
        """The settings."""
        return cast(Settings, self["settings"])

    @property
    def runtime(self) -> Runtime:
        """The per-process state of the Telegram adapter."""
        return cast(Runtime, self["runtime"])


Context = CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]
"""The ``context`` every handler gets, with ``bot_data`` typed."""
CONTEXT_TYPES = ContextTypes(bot_data=BotData)


def bot_data(settings: Settings, faq: Faq, storage: Storage) -> dict[str, object]:
    """The initial ``bot_data``: the FAQ, its use case, storage, settings and a fresh runtime."""
    return {
        "faq": faq,
        "answering": Answering(faq),
        "storage": storage,
        "settings": settings,
        "runtime": Runtime(),
    }
