"""Admin commands (users in ``BOT_ADMIN_IDS``, private chats): /reload, /stats, /unanswered,
/teach. Anyone else is refused politely and the attempt is logged.

Replies are plain text, HTML-escaped and split into messages of at most 4,096 characters by
``send_reply``. Storage never raises; when it cannot be read the admin is told so plainly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial

from telegram import Update
from telegram.constants import ChatType

from bot.core import strings_zh as zh
from bot.core.knowledge import KnowledgeError
from bot.core.matcher import Matcher
from bot.core.render import render_text
from bot.core.strings_zh import ADMIN_ONLY, PRIVATE_ONLY
from bot.core.teach import USAGE as TEACH_USAGE
from bot.core.teach import TeachResult, is_undo, teach_command
from bot.storage.stats import (
    DEFAULT_STATS_DAYS,
    DEFAULT_UNANSWERED,
    MAX_DAYS,
    MAX_UNANSWERED,
    STATS_USAGE,
    UNANSWERED_USAGE,
    format_stats,
    format_unanswered,
    parse_count,
)
from bot.tg.context import Context
from bot.tg.sending import Target, send_reply

log = logging.getLogger(__name__)

# /reload answers in English, the language of `kb check` and of every problem it lists.
RELOAD_FAILED = (
    "The knowledge base has {count} problem(s); nothing was loaded and the previous version "
    "is still in use:\n{problems}"
)
RELOAD_ERROR = "Reloading failed ({error}); the previous version is still in use. See the log."
RELOAD_TIMEOUT = (
    "Reloading took more than {seconds:.0f} s and was abandoned; the previous version is still "
    "in use. Check whether a knowledge file is very large or complex."
)
RELOAD_BUSY = (
    "The previous reload has not finished yet; try again shortly. The previous version is "
    "still in use."
)
RELOAD_SECONDS = 30.0
"""How long a reload may take (the shipped knowledge base: well under a second)."""
BAD_DAYS = zh.BAD_DAYS + "\n" + STATS_USAGE
BAD_COUNT = zh.BAD_COUNT + "\n" + UNANSWERED_USAGE


def _in_group(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type != ChatType.PRIVATE


def _argument(update: Update) -> str:
    """What follows the command word (``/teach@bot 问题 => id`` -> ``问题 => id``)."""
    message = update.effective_message
    parts = (message.text or "").split(maxsplit=1) if message else []
    return parts[1].strip() if len(parts) > 1 else ""


async def _reply(update: Update, context: Context, text: str) -> None:
    """Send plain *text* to the update's chat (escaped, split if long)."""
    message = update.effective_message
    if message is None:
        return
    target = Target.of(message, quote=_in_group(update))
    await send_reply(context.bot, target, render_text(text), context.bot_data.storage)


async def _admin(update: Update, context: Context) -> int | None:
    """The admin's user id; None after refusing anyone else, or an admin in a group."""
    user, chat, message = update.effective_user, update.effective_chat, update.effective_message
    command = ((message.text or "").split(maxsplit=1) or [""])[0] if message else ""
    command = command.partition("@")[0] or "an admin command"
    if user is None or user.id not in context.bot_data.settings.admin_ids:
        _log_refusal(context, command, user.id if user else None, chat.type if chat else None)
        await _reply(update, context, ADMIN_ONLY)
        return None
    if _in_group(update):
        log.info("Admin %s sent %s in a group; asked to use a private chat.", user.id, command)
        await _reply(update, context, PRIVATE_ONLY)
        return None
    return user.id


def _log_refusal(context: Context, command: str, user_id: int | None, chat: str | None) -> None:
    """A refused admin command, on record without flooding the log: once per user in
    ``REFUSAL_LOG_SECONDS`` and ``REFUSALS_LOGGED_PER_MINUTE`` in all; the rest are counted
    into the next line."""
    refusals = context.bot_data.runtime.refusals
    refusals.unlogged += 1
    if not refusals.per_user.allow(user_id) or not refusals.overall.allow():
        log.debug("Refused %s from user %s (not logged: too many).", command, user_id)
        return
    more = refusals.unlogged - 1
    refusals.unlogged = 0
    log.warning(
        "Refused %s from user %s (not in BOT_ADMIN_IDS) in a %s chat%s.",
        command,
        user_id if user_id is not None else "unknown",
        chat or "unknown",
        f"; {more} more refused since the last such line" if more else "",
    )


async def _read(context: Context, what: str, report: Callable[[], Awaitable[str]]) -> str:
    """The text *report* makes, or a plain explanation when the database cannot be read."""
    try:
        text = await report()  # first: it waits for a reopening database
    except Exception as error:  # storage never raises; this is the last line of defence
        log.exception("Reading the %s failed", what)
        return zh.STORAGE_ERROR.format(what=what, error=type(error).__name__)
    if not context.bot_data.storage.available:
        return zh.STORAGE_DOWN.format(database=context.bot_data.settings.database, what=what)
    return text


async def _reload(context: Context, admin_id: int) -> tuple[str, str | None]:
    """Re-read the FAQ (the caller holds the reload lock) in a thread, for at most
    ``RELOAD_SECONDS``: the admin's text, and the failure for the admin log (None when it
    worked). A reload that ran out of time is left to finish in its thread, unused."""
    faq, runtime = context.bot_data.faq, context.bot_data.runtime
    if runtime.reloading is not None and not runtime.reloading.done():
        log.warning("Reload by %s refused: the previous one is still running.", admin_id)
        return RELOAD_BUSY, "failed: the previous reload is still running"
    work = asyncio.ensure_future(asyncio.to_thread(faq.prepare))
    work.add_done_callback(_collect)
    runtime.reloading = work
    try:
        matcher = await asyncio.wait_for(asyncio.shield(work), RELOAD_SECONDS)
    except TimeoutError:
        log.warning(
            "Reload by %s took more than %.0f s; abandoned, the old knowledge base stays.",
            admin_id,
            RELOAD_SECONDS,
        )
        return RELOAD_TIMEOUT.format(seconds=RELOAD_SECONDS), "failed: took too long"
    except KnowledgeError as error:
        problems = "\n".join(str(problem) for problem in error.problems)
        log.warning("Reload by %s failed:\n%s", admin_id, problems)
        failure = f"failed: {len(error.problems)} problem(s)\n{problems}"
        return RELOAD_FAILED.format(count=len(error.problems), problems=problems), failure
    except Exception as error:
        log.exception("Reload by %s failed unexpectedly", admin_id)
        return RELOAD_ERROR.format(error=type(error).__name__), f"failed: {error!r}"
    summary = faq.use(matcher).summary()
    log.info("Reload by %s: %s", admin_id, summary.replace("\n", "; "))
    return summary, None


def _collect(work: asyncio.Future[Matcher]) -> None:
    """Retrieve an abandoned reload's outcome, so that asyncio does not report it as lost."""
    if not work.cancelled():
        work.exception()


def _taught(result: TeachResult, failure: str | None) -> str:
    """The /teach reply: what was learned or undone and whether it is in use, or why not."""
    if not result.ok:
        return result.message
    if failure is not None:
        return f"{result.message}\n\n{zh.TAUGHT_NOT_LOADED}"
    return f"{result.message}\n{zh.TAUGHT}"


async def _stats_text(context: Context, days: int) -> str:
    kb = context.bot_data.faq.kb
    stats = await context.bot_data.storage.stats(days)
    return format_stats(stats, {entry.id: entry.title for entry in kb.entries})


async def _unanswered_text(context: Context, limit: int) -> str:
    groups = await context.bot_data.storage.unanswered(limit)
    if groups is None:
        return zh.UNREADABLE.format(what=zh.WHAT_UNANSWERED)
    return format_unanswered(groups)


# -- the commands ------------------------------------------------------------------------


async def reload(update: Update, context: Context) -> None:
    """/reload: re-read the knowledge base; keep the old one if anything is wrong."""
    admin_id = await _admin(update, context)
    if admin_id is None:
        return
    async with context.bot_data.runtime.reload_lock:
        text, failure = await _reload(context, admin_id)
    await context.bot_data.storage.record_admin_action(admin_id, "reload", failure or text)
    await _reply(update, context, text)


async def stats(update: Update, context: Context) -> None:
    """/stats [days]: questions, answer rates, top entries and votes (last 7 days by default)."""
    if await _admin(update, context) is None:
        return
    value = _argument(update)
    days = parse_count(value, DEFAULT_STATS_DAYS, MAX_DAYS)
    if days is None:
        await _reply(update, context, BAD_DAYS.format(value=value, maximum=MAX_DAYS))
        return
    await _reply(
        update, context, await _read(context, zh.WHAT_STATS, partial(_stats_text, context, days))
    )


async def unanswered(update: Update, context: Context) -> None:
    """/unanswered [N]: the latest questions the bot could not answer, similar ones merged."""
    if await _admin(update, context) is None:
        return
    value = _argument(update)
    limit = parse_count(value, DEFAULT_UNANSWERED, MAX_UNANSWERED)
    if limit is None:
        await _reply(update, context, BAD_COUNT.format(value=value, maximum=MAX_UNANSWERED))
        return
    text = await _read(context, zh.WHAT_UNANSWERED, partial(_unanswered_text, context, limit))
    await _reply(update, context, text)


async def teach(update: Update, context: Context) -> None:
    """/teach <question> => <entry-id>: learn a phrasing; ``/teach undo`` takes it back."""
    admin_id = await _admin(update, context)
    if admin_id is None:
        return
    text = _argument(update)
    if not text:
        await _reply(update, context, TEACH_USAGE)
        return
    faq = context.bot_data.faq
    failure = None
    async with context.bot_data.runtime.reload_lock:
        result = await asyncio.to_thread(teach_command, faq.directory, text)
        if result.ok:
            _, failure = await _reload(context, admin_id)
    detail = (
        f"{result.question} => {result.entry_id}" if result.ok else "failed: " + result.message
    )
    if failure is not None:
        detail += f"\nreload {failure}"
    action = "teach undo" if is_undo(text) else "teach"
    await context.bot_data.storage.record_admin_action(admin_id, action, detail)
    await _reply(update, context, _taught(result, failure))
