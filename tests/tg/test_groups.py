"""Group helpers: the question without the bot's mention, and cooldowns."""

from __future__ import annotations

from typing import Any

from telegram import Bot, Message

from bot.tg.groups import Cooldown, mentions_bot, question_text, replies_to_bot
from tests.tg.conftest import BOT_USER, Harness, mention


def _message(harness: Harness, text: str, **kwargs: Any) -> Message:
    message = Message.de_json(harness.message(text, **kwargs), harness.app.bot)
    assert message is not None
    return message


async def test_question_text_removes_mentions_counted_in_utf16(harness: Harness) -> None:
    text = "👨‍👩‍👧 @esscard_test_bot 电子社保卡 @esscard_test_bot 怎么领"
    first = mention(text, "@esscard_test_bot")
    second = {**first, "offset": len(text[: text.rindex("@")].encode("utf-16-le")) // 2}
    message = _message(harness, text, entities=[first, second])
    assert mentions_bot(message)
    assert question_text(message) == "👨‍👩‍👧 电子社保卡 怎么领"


async def test_question_text_keeps_other_mentions(harness: Harness) -> None:
    text = "@someone_else 电子社保卡怎么领"
    message = _message(harness, text, entities=[mention(text, "@someone_else")])
    assert not mentions_bot(message)
    assert question_text(message) == text


async def test_question_text_drops_the_leading_command(harness: Harness) -> None:
    message = _message(harness, "/ask@esscard_test_bot   电子社保卡\n怎么领")
    assert question_text(message) == "电子社保卡 怎么领"


async def test_replies_to_bot(harness: Harness) -> None:
    assert replies_to_bot(_message(harness, "那怎么办", reply_to=harness.bot_message()))
    other = harness.message("hi", user_id=555)
    assert not replies_to_bot(_message(harness, "那怎么办", reply_to=other))
    assert not replies_to_bot(_message(harness, "那怎么办"))
    assert isinstance(harness.app.bot, Bot) and BOT_USER["id"] == harness.app.bot.id


def test_cooldown() -> None:
    now = [0.0]
    cooldown = Cooldown(60, clock=lambda: now[0])
    assert cooldown.allow("a")
    assert not cooldown.allow("a")
    assert cooldown.allow("b")
    now[0] = 59.9
    assert not cooldown.allow("a")
    now[0] = 60.0
    assert cooldown.allow("a")
    assert not cooldown.allow("a")
