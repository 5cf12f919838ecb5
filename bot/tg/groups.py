"""Groups: is a message addressed to the bot, the question without the mention, cooldowns."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable

from telegram import Message, MessageEntity
from telegram.ext import filters

FLOOD_SECONDS = 60.0
"""The same question in the same group within this many seconds is answered once."""
GREETING_SECONDS = 300.0
"""Telegram reports a bot joining a group twice (member update and service message)."""


_SPACE = " ".encode("utf-16-le")


def _is_bot_mention(message: Message, entity: MessageEntity) -> bool:
    bot = message.get_bot()
    if entity.type == MessageEntity.TEXT_MENTION:
        return entity.user is not None and entity.user.id == bot.id
    if entity.type == MessageEntity.MENTION and bot.username:
        return message.parse_entity(entity).lower() == f"@{bot.username.lower()}"
    return False


def mentions_bot(message: Message) -> bool:
    """Whether the message names the bot by @username or a text mention of it."""
    return any(_is_bot_mention(message, entity) for entity in message.entities)


def replies_to_bot(message: Message) -> bool:
    """Whether the message replies to one of the bot's own messages."""
    replied = message.reply_to_message
    if replied is None or replied.from_user is None:
        return False
    return replied.from_user.id == message.get_bot().id


class AddressedToBot(filters.MessageFilter):
    """Messages that mention the bot or reply to it; ordinary chatter does not pass."""

    __slots__ = ()

    def filter(self, message: Message) -> bool:
        """Check one message."""
        return mentions_bot(message) or replies_to_bot(message)


ADDRESSED = AddressedToBot(name="AddressedToBot")


def _remove_spans(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """*text* without the given UTF-16 (offset, length) spans, as Telegram counts them."""
    encoded = text.encode("utf-16-le")
    for offset, length in sorted(spans, reverse=True):
        encoded = encoded[: offset * 2] + _SPACE + encoded[(offset + length) * 2 :]
    return encoded.decode("utf-16-le")


def question_text(message: Message) -> str:
    """The message's text without the bot's mentions and a leading command, trimmed."""
    text = message.text or ""
    spans = [
        (entity.offset, entity.length)
        for entity in message.entities
        if _is_bot_mention(message, entity)
        or (entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0)
    ]
    return " ".join(_remove_spans(text, spans).split())


class Cooldown:
    """Remembers keys for a while: ``allow(key)`` is True once per *seconds* for each key."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._seen: dict[Hashable, float] = {}

    def allow(self, key: Hashable) -> bool:
        """True, and start the cooldown, unless *key* was allowed less than *seconds* ago."""
        now = self.clock()
        last = self._seen.get(key)
        if last is not None and now - last < self.seconds:
            return False
        if len(self._seen) > 10_000:
            self._seen = {k: t for k, t in self._seen.items() if now - t < self.seconds}
        self._seen[key] = now
        return True
