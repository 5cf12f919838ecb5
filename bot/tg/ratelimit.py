"""Every Bot API request: Telegram's flood limits, and retries that lose no reply.

A documented ``BaseRateLimiter``. Limits: about 30 messages a second overall and 20 a minute
in each group (``aiolimiter`` buckets, as ``AIORateLimiter`` uses); a 429 pauses its own chat
for ``retry_after`` (a request outside any chat: every request). Transient failures (5xx, bad
gateway, timeouts, refused or dropped connections) are retried with exponential backoff and
jitter for up to ``RETRY_SECONDS`` a request, enough for a 60 s outage; a refusal
(``BadRequest``, ``Forbidden``, ...) never is. Each wait gives the update's slot back
(``lanes.parked``). A request that timed out after Telegram carried it out is sent again: the
delivery is at least once. Once the bot is stopping, waits and retries end within
``STOP_RETRY_SECONDS`` (``NotSentWhileStopping``), so that SIGTERM is not held up by a group
whose answers Telegram lets out at 20 a minute.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.constants import FloodLimit
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError
from telegram.ext import BaseRateLimiter

from bot.tg.lanes import parked

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]
Result = bool | JSONDict | list[JSONDict]
Callback = Callable[..., Coroutine[Any, Any, Result]]

RETRY_SECONDS = 90.0
"""How long a request keeps being retried after its first failure (a 60 s outage, and the
longest backoff after it)."""
STOP_RETRY_SECONDS = 10.0
START_UP = frozenset({"getMe", "deleteWebhook", "setWebhook"})
"""Requests made while the bot starts: a failure there is reported at once, not retried."""
"""How long requests still wait for limits or retries once the bot is stopping (SIGTERM)."""
WAIT_SLICE = 1.0
"""Waits for a limit are cut into slices this long, to notice the bot stopping."""
FIRST_DELAY = 0.5
MAX_DELAY = 8.0
FLOOD_RETRIES = 3
"""429s obeyed for one request before it fails."""
MAX_GROUPS = 512
"""Group buckets (and 429 pauses) kept; beyond this many, the spent ones are dropped."""


def _chat_of(data: JSONDict) -> int | str | None:
    chat = data.get("chat_id")
    if isinstance(chat, str) and chat.lstrip("-").isdigit():
        return int(chat)
    return chat if isinstance(chat, int | str) else None


class NotSentWhileStopping(TelegramError):
    """A request given up: the bot is stopping, and a limit or an outage still held it."""


class RateLimiter(BaseRateLimiter[int]):
    """Flood limits per group and overall, 429 pauses per chat, bounded transient retries."""

    def __init__(
        self,
        *,
        overall_max_rate: float = FloodLimit.MESSAGES_PER_SECOND,
        group_max_rate: float = FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP,
        group_time_period: float = 60,
        retry_seconds: float = RETRY_SECONDS,
        first_delay: float = FIRST_DELAY,
        max_delay: float = MAX_DELAY,
        flood_retries: int = FLOOD_RETRIES,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.overall = AsyncLimiter(overall_max_rate, 1) if overall_max_rate else None
        self.group_max_rate = group_max_rate
        self.group_time_period = group_time_period
        self.retry_seconds = retry_seconds
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.flood_retries = flood_retries
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()
        self._groups: dict[int | str, AsyncLimiter] = {}
        self._paused: dict[int | str | None, float] = {}
        """Until when (``clock``) a chat, or with ``None`` every request, waits after a 429."""
        self.running: Callable[[], bool] | None = None
        """Whether the application runs: once it ran and stops, retries end sooner."""
        self._ran = False
        self._stopping_since: float | None = None

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    def backoff(self, failures: int) -> float:
        """The pause before retry number *failures* + 1: doubling, capped, half of it random."""
        delay: float = min(self.max_delay, self.first_delay * 2.0**failures)
        return delay * (0.5 + 0.5 * self.rng.random())

    def _group(self, chat: int | str) -> AsyncLimiter:
        limiter = self._groups.get(chat)
        if limiter is None:
            if len(self._groups) >= MAX_GROUPS:
                for key, old in list(self._groups.items()):
                    if old.has_capacity(old.max_rate):
                        del self._groups[key]
            limiter = self._groups[chat] = AsyncLimiter(
                self.group_max_rate, self.group_time_period
            )
        return limiter

    def _limiters(self, chat: int | str | None) -> list[AsyncLimiter]:
        if chat is None:
            return []
        group = isinstance(chat, str) or chat < 0
        limiters = [self._group(chat)] if group and self.group_max_rate else []
        return [*limiters, self.overall] if self.overall is not None else limiters

    def _pause_left(self, chat: int | str | None) -> float:
        until = max(self._paused.get(chat, 0.0), self._paused.get(None, 0.0))
        return until - self.clock()

    def _pause(self, chat: int | str | None, seconds: float) -> None:
        now = self.clock()
        if len(self._paused) >= MAX_GROUPS:
            self._paused = {key: until for key, until in self._paused.items() if until > now}
        self._paused[chat] = max(self._paused.get(chat, 0.0), now + seconds)

    def _stop_deadline(self) -> float | None:
        """Once the bot is stopping, the moment waits and retries must end (else None)."""
        if not self._ran or self.running is None or self.running():
            return None
        if self._stopping_since is None:
            self._stopping_since = self.clock()
        return self._stopping_since + STOP_RETRY_SECONDS

    def _give_up_at(self, first_failure: float) -> float:
        """When retrying a request that first failed at *first_failure* ends."""
        stop = self._stop_deadline()
        deadline = first_failure + self.retry_seconds
        return deadline if stop is None else min(deadline, stop)

    def _time_left(self, what: str) -> float:
        """How long a wait may go on now (a slice, to notice the bot stopping)."""
        stop = self._stop_deadline()
        if stop is None:
            return WAIT_SLICE
        left = stop - self.clock()
        if left <= 0:
            raise NotSentWhileStopping(f"the bot is stopping, and {what} held the request")
        return min(WAIT_SLICE, left)

    async def _wait_turn(self, chat: int | str | None) -> None:
        """Wait out a 429 pause and take room in the flood limits, parked if that waits."""
        limiters = self._limiters(chat)
        if self._pause_left(chat) <= 0 and all(limiter.has_capacity() for limiter in limiters):
            for limiter in limiters:
                await limiter.acquire()  # room was there: no wait
            return
        async with parked():
            while (pause := self._pause_left(chat)) > 0:
                await self.sleep(min(pause, self._time_left("a flood limit (429)")))
            for limiter in limiters:
                while True:
                    slice_ = self._time_left("Telegram's flood limit")
                    try:
                        await asyncio.wait_for(limiter.acquire(), slice_)
                        break
                    except TimeoutError:
                        continue

    async def process_request(
        self,
        callback: Callback,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        """Send one request within the limits, retrying 429s and transient failures."""
        if self.running is not None and self.running():
            self._ran = True
        chat = _chat_of(data)
        flood_retries = rate_limit_args if rate_limit_args is not None else self.flood_retries
        floods = failures = 0
        first_failure: float | None = None
        while True:
            await self._wait_turn(chat)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                floods += 1
                if floods > flood_retries:
                    raise
                # The public retry_after warns about its type changing; PTB's own limiter
                # reads this timedelta too.
                seconds = error._retry_after.total_seconds() + 0.1
                log.info("%s hit a flood limit; waiting %.1f s.", endpoint, seconds)
                self._pause(chat, seconds)
            except BadRequest:
                raise
            except NetworkError as error:  # 5xx, bad gateway, timeouts, connection errors
                if endpoint in START_UP and not self._ran:
                    raise  # the runner says in two lines what is wrong
                now = self.clock()
                first_failure = now if first_failure is None else first_failure
                delay = self.backoff(failures)
                failures += 1
                if now + delay > self._give_up_at(first_failure):
                    log.warning(
                        "%s still failing after %d attempts in %.0f s (%s); giving up.",
                        endpoint,
                        failures,
                        now - first_failure,
                        error,
                    )
                    raise
                # The first failure of a request at INFO; during an outage, the rest at DEBUG.
                level = logging.INFO if failures == 1 else logging.DEBUG
                log.log(level, "%s failed (%s); retrying in %.1f s.", endpoint, error, delay)
                async with parked():
                    await self.sleep(delay)
