"""What the handlers share, kept in ``Application.bot_data``."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from telegram.ext import ContextTypes

from bot.config import Settings
from bot.core.conversation import Conversations
from bot.core.faq import Faq
from bot.core.matcher import Matcher
from bot.storage.base import Storage
from bot.tg.groups import FLOOD_SECONDS, GREETING_SECONDS, Cooldown

Context = ContextTypes.DEFAULT_TYPE

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
    """Per-process state: cooldowns, who was warned about personal data, reloading."""

    flood: Cooldown = field(default_factory=lambda: Cooldown(FLOOD_SECONDS))
    greeted: Cooldown = field(default_factory=lambda: Cooldown(GREETING_SECONDS))
    privacy_notified: set[int] = field(default_factory=set)
    reload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    reloading: asyncio.Future[Matcher] | None = None
    """The last reload's work in its thread (still running after its time ran out?)."""
    refusals: Refusals = field(default_factory=Refusals)


def bot_data(settings: Settings, faq: Faq, storage: Storage) -> dict[str, object]:
    """The initial ``bot_data``: the FAQ, storage, settings, a fresh runtime and conversations."""
    return {
        "faq": faq,
        "storage": storage,
        "settings": settings,
        "runtime": Runtime(),
        "conversations": Conversations(faq),
    }


def faq_of(context: Context) -> Faq:
    """The FAQ service."""
    return cast(Faq, context.bot_data["faq"])


def conversations_of(context: Context) -> Conversations:
    """Each conversation's last topic."""
    return cast(Conversations, context.bot_data["conversations"])


def storage_of(context: Context) -> Storage:
    """The storage."""
    return cast(Storage, context.bot_data["storage"])


def settings_of(context: Context) -> Settings:
    """The settings."""
    return cast(Settings, context.bot_data["settings"])


def runtime_of(context: Context) -> Runtime:
    """The per-process state."""
    return cast(Runtime, context.bot_data["runtime"])
