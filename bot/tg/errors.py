"""The one error handler: log with context, apologise to the user."""

from __future__ import annotations

import logging

from telegram import ReplyParameters, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError

from bot.core.strings_zh import APOLOGY
from bot.tg.context import Context
from bot.tg.ratelimit import NotSentWhileStopping

log = logging.getLogger(__name__)

_EXPIRED_QUERY = "query is too old"
"""Telegram's words for an inline query or button press that can no longer be answered."""


def describe(update: object) -> str:
    """Where an error happened, without message text or personal data."""
    if not isinstance(update, Update):
        return "outside an update"
    kind = next(
        (
            name
            for name in ("message", "callback_query", "inline_query", "my_chat_member")
            if getattr(update, name, None) is not None
        ),
        "other",
    )
    chat = update.effective_chat
    return f"update {update.update_id} ({kind}, {chat.type if chat else 'no'} chat)"


async def on_error(update: object, context: Context) -> None:
    """Log an error with its context and send the user a short apology."""
    if isinstance(context.error, Forbidden):  # blocked by the user, or removed from the group
        log.info("Cannot write to the chat of %s: %s", describe(update), context.error)
        return
    if isinstance(context.error, BadRequest) and _EXPIRED_QUERY in context.error.message.lower():
        # An inline query or button press answered too late, or an id Telegram never issued.
        log.info("Could not answer %s: %s", describe(update), context.error)
        return
    if isinstance(context.error, NotSentWhileStopping):  # an apology would not get out either
        log.warning("A reply to %s was not sent: %s.", describe(update), context.error)
        return
    if (
        update is None
        and isinstance(context.error, NetworkError)
        and not isinstance(context.error, BadRequest)
    ):  # polling for updates failed: an outage, retried by python-telegram-bot with backoff
        log.warning("Cannot reach the Telegram Bot API (%s); trying again.", context.error)
        return
    log.error("Error while handling %s", describe(update), exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    chat = update.effective_chat
    message = update.effective_message
    if update.callback_query is not None:
        try:
            await update.callback_query.answer(APOLOGY, show_alert=True)
        except TelegramError:
            pass
        else:
            return
    quote = message is not None and chat.type != ChatType.PRIVATE
    try:
        await context.bot.send_message(
            chat.id,
            APOLOGY,
            parse_mode=ParseMode.HTML,
            reply_parameters=(
                ReplyParameters(message.message_id, allow_sending_without_reply=True)
                if quote and message is not None
                else None
            ),
        )
    except TelegramError as error:
        log.warning("Could not send the apology either: %s", error)
