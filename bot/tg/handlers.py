"""Telegram handlers: each one reads the update, asks the use case (``core.service``), and
sends what it decided. What is Telegram's alone stays here: the group flood cooldown (transport
policy), who may press which button, and callback data."""

from __future__ import annotations

import logging
from typing import Any

from telegram import (
    CallbackQuery,
    ChatMember,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Message,
    Update,
    User,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application

from bot.core.knowledge import Entry, KnowledgeBase
from bot.core.render import (
    Action,
    Reply,
    render_entry,
    render_help,
    render_menu,
    render_text,
    render_welcome,
)
from bot.core.service import INLINE_RESULTS, Incoming
from bot.core.strings_zh import (
    ASK_EXAMPLE,
    GROUP_EXAMPLE,
    GROUP_USAGE,
    GROUP_WAYS,
    GROUP_WAYS_MENTION,
    NON_TEXT_HINT,
    NOT_FOUND_INLINE,
    NOT_YOUR_QUESTION,
    OPEN_IN_BOT,
    SLOW_DOWN,
    STALE_BUTTON,
    UNKNOWN_COMMAND,
)
from bot.core.text import normalize
from bot.tg.callback_data import MAX_BYTES, Pressed, decode, resolve, short_ref
from bot.tg.context import BotData, Context
from bot.tg.groups import question_text
from bot.tg.html import split_html
from bot.tg.sending import NO_PREVIEW, Target, keyboard, send_reply

log = logging.getLogger(__name__)

INLINE_DESCRIPTION_CHARS = 60


def _in_group(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type != ChatType.PRIVATE


def _group_example(context: Context) -> str:
    return GROUP_EXAMPLE.format(name=context.bot.username)


async def _send(
    update: Update, context: Context, reply: Reply, question_id: int | None = None
) -> None:
    """Send *reply* to the update's chat; in groups, as a reply to the message."""
    message = update.effective_message
    if message is None:
        return
    await send_reply(
        context.bot,
        Target.of(message, quote=_in_group(update)),
        reply,
        context.bot_data.storage,
        question_id=question_id,
        base=context.bot_data.faq.kb.directory,
    )


def _conversation(chat_id: int, user: User | None, group: bool) -> tuple[int, int]:
    """Whose follow-ups go together: a private chat, or one user inside a group."""
    return chat_id, (user.id if group and user else 0)


async def _answer(update: Update, context: Context, question: str) -> None:
    """Answer one question through the use case, store what it says to, and send its reply."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return
    data = context.bot_data
    group = chat.type != ChatType.PRIVATE
    key = normalize(question).replace(" ", "") or question
    if group and not data.runtime.flood.allow((chat.id, key)):
        log.debug("A repeated question in chat %s is in its cooldown; not answered.", chat.id)
        return
    where = _conversation(chat.id, user, group)
    outcome = data.answering.ask(
        Incoming(question, str(chat.type), where, user.id if user else None)
    )
    ids = [await data.storage.log_question(record) for record in outcome.records]
    await _send(update, context, outcome.reply, ids[0])
    if outcome.notice is not None:
        await _send(update, context, outcome.notice)


# -- commands ------------------------------------------------------------------------------


async def start(update: Update, context: Context) -> None:
    """/start: the welcome and category menu; ``/start <entry-id>`` opens that entry."""
    kb = context.bot_data.faq.kb
    entry = kb.by_id.get(context.args[0]) if context.args else None
    if entry is not None:
        await _send(update, context, render_entry(entry, kb, compact=_in_group(update)))
    else:
        await _send(update, context, render_welcome(kb))


async def help_command(update: Update, context: Context) -> None:
    """/help: how to use the bot."""
    await _send(update, context, render_help())


async def menu(update: Update, context: Context) -> None:
    """/menu: the categories; their buttons open them in the same message."""
    await _send(update, context, render_menu(context.bot_data.faq.kb))


async def ask(update: Update, context: Context) -> None:
    """/ask <question> (``/ask@bot`` in groups): answer the question."""
    message = update.effective_message
    question = question_text(message) if message else ""
    if not question:
        chat_id = update.effective_chat.id if update.effective_chat else 0
        if not _in_group(update) or context.bot_data.runtime.flood.allow((chat_id, "/ask")):
            await _send(update, context, render_text(ASK_EXAMPLE))
        return
    await _answer(update, context, question)


async def unknown_command(update: Update, context: Context) -> None:
    """A command the bot lacks: a hint in private chats or when addressed to the bot."""
    message = update.effective_message
    if message is None or not message.text:
        return
    command = message.text.split(maxsplit=1)[0]
    addressed = command.lower().endswith(f"@{(context.bot.username or '').lower()}")
    if not _in_group(update) or addressed:
        await _send(update, context, render_text(UNKNOWN_COMMAND))


# -- messages ------------------------------------------------------------------------------


async def private_text(update: Update, context: Context) -> None:
    """Any text in a private chat is a question."""
    message = update.effective_message
    if message is not None and message.text:
        await _answer(update, context, message.text)


async def group_text(update: Update, context: Context) -> None:
    """A group message that mentions the bot or replies to it: answer it, mention removed."""
    message = update.effective_message
    question = question_text(message) if message else ""
    if not question:
        runtime = context.bot_data.runtime
        chat_id = update.effective_chat.id if update.effective_chat else 0
        if runtime.flood.allow((chat_id, "")):
            await _send(update, context, render_text(_group_example(context)))
        return
    await _answer(update, context, question)


async def unsupported(update: Update, context: Context) -> None:
    """Stickers, photos, voice and the like in a private chat: ask for text instead."""
    await _send(update, context, render_text(NON_TEXT_HINT))


async def slow_down(
    application: Application[Any, Any, Any, Any, Any, Any], update: object
) -> None:
    """A chat sends faster than it can be answered: ask it to wait (``lanes`` calls this)."""
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(SLOW_DOWN)
        elif update.effective_message is not None:
            target = Target.of(update.effective_message, quote=False)
            data: BotData = application.bot_data
            await send_reply(application.bot, target, render_text(SLOW_DOWN), data.storage)
    except TelegramError as error:
        log.info("Could not ask a chat to slow down (%s).", error)


# -- groups --------------------------------------------------------------------------------


def _usage_note(context: Context) -> str:
    name = context.bot.username
    ways = GROUP_WAYS.format(name=name)
    if context.bot.can_read_all_group_messages:
        ways = GROUP_WAYS_MENTION.format(name=name, ways=ways)
    return GROUP_USAGE.format(ways=ways, name=name)


async def _greet(context: Context, chat_id: int) -> None:
    if context.bot_data.runtime.greeted.allow(chat_id):
        await send_reply(
            context.bot,
            Target(chat_id),
            render_text(_usage_note(context)),
            context.bot_data.storage,
        )


_OUTSIDE = (ChatMember.LEFT, ChatMember.BANNED)


async def added_to_group(update: Update, context: Context) -> None:
    """The bot's own membership changed: post a usage note when it joined a group."""
    change = update.my_chat_member
    if change is None or change.chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
        return
    old, new = change.old_chat_member, change.new_chat_member
    was_in = old.status not in _OUTSIDE and getattr(old, "is_member", True)
    is_in = new.status not in _OUTSIDE and getattr(new, "is_member", True)
    if is_in and not was_in:
        log.info("Added to a %s chat %s.", change.chat.type, change.chat.id)
        await _greet(context, change.chat.id)


async def new_members(update: Update, context: Context) -> None:
    """The service message of new members: a usage note when the bot is one of them."""
    message = update.effective_message
    if message is not None and any(m.id == context.bot.id for m in message.new_chat_members):
        await _greet(context, message.chat_id)


# -- buttons -------------------------------------------------------------------------------


async def _acknowledge(query: CallbackQuery, text: str | None = None) -> None:
    """Answer a button press (Telegram shows *text* briefly); a too-old press is no error."""
    try:
        await query.answer(text)
    except BadRequest as error:  # "query is too old": the action itself can still be done
        log.info("Could not answer a button press (%s).", error)


async def _edit(query: CallbackQuery, context: Context, reply: Reply) -> None:
    """Show *reply* in place of the message the button belongs to."""
    try:
        await query.edit_message_text(
            reply.html,
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard(reply),
            link_preview_options=NO_PREVIEW,
        )
    except BadRequest as error:
        if "not modified" in str(error).lower():
            return
        if not isinstance(query.message, Message):
            raise
        log.info("Could not edit a message (%s); sending a new one.", error)
        await _send_to_query(query, context, reply)


async def _send_to_query(
    query: CallbackQuery, context: Context, reply: Reply, question_id: int | None = None
) -> None:
    """Send *reply* to the chat of the pressed button's message (quoted in groups)."""
    message = query.message
    if message is None:
        return
    group = message.chat.type != ChatType.PRIVATE
    target = (
        Target.of(message, quote=group)
        if isinstance(message, Message)
        else Target(message.chat.id)
    )
    await send_reply(
        context.bot,
        target,
        reply,
        context.bot_data.storage,
        question_id=question_id,
        base=context.bot_data.faq.kb.directory,
    )


def _on_its_message(query: CallbackQuery) -> bool:
    """Whether the pressed data is a button of the message it came with. Telegram sends that
    message as it is, while the data is whatever the client sent: a vote or a pick is taken
    only when the two agree."""
    message = query.message
    if not isinstance(message, Message) or message.reply_markup is None:
        return False
    return any(
        button.callback_data == query.data
        for row in message.reply_markup.inline_keyboard
        for button in row
    )


def _asked_by_presser(query: CallbackQuery) -> bool:
    """Whether the presser asked the question a "did you mean" list answers: in a group the
    list quotes the question, so its sender is known; a private chat has only one user."""
    message = query.message
    if not isinstance(message, Message):
        return False
    if message.chat.type == ChatType.PRIVATE:
        return message.chat.id == query.from_user.id
    asked = message.reply_to_message
    return (
        asked is not None
        and asked.from_user is not None
        and (asked.from_user.id == query.from_user.id)
    )


def _where(query: CallbackQuery) -> tuple[int, int] | None:
    message = query.message
    return (message.chat.id, message.message_id) if message is not None else None


async def button(update: Update, context: Context) -> None:
    """A button press: open an entry or menu page, record a vote or a "did you mean" choice."""
    query = update.callback_query
    if query is None:
        return
    pressed = decode(query.data or "")
    if pressed is None or (pressed.records and not _on_its_message(query)):
        log.debug("A button press with data this bot did not put there was ignored.")
        await _acknowledge(query)
        return
    answering = context.bot_data.answering
    match pressed.action:
        case Action.MENU | Action.CATEGORY:
            await _acknowledge(query)
            shown = answering.press(
                pressed.action, pressed.value, conversation=None, compact=False
            )
            await _edit(query, context, shown or render_menu(context.bot_data.faq.kb))
        case Action.NONE_OF_THESE:
            if not _asked_by_presser(query):
                await _acknowledge(query, NOT_YOUR_QUESTION)
                return
            await context.bot_data.storage.record_choice(
                pressed.question_id, None, voter=query.from_user.id, message=_where(query)
            )
            await _acknowledge(query)
            told = answering.press(pressed.action, "", conversation=None, compact=False)
            await _edit(query, context, told or render_menu(context.bot_data.faq.kb))
        case Action.VOTE_UP | Action.VOTE_DOWN:
            await _vote(query, context, pressed, context.bot_data.faq.kb)
        case Action.ENTRY:
            await _open_entry(query, context, pressed, context.bot_data.faq.kb)


async def _vote(
    query: CallbackQuery, context: Context, pressed: Pressed, kb: KnowledgeBase
) -> None:
    entry = resolve(pressed.value, kb)
    entry_id = entry.id if entry else pressed.value
    if entry is None and pressed.value.startswith("#"):
        await _acknowledge(query, STALE_BUTTON)
        return
    up = pressed.action is Action.VOTE_UP
    await context.bot_data.storage.record_vote(
        pressed.question_id,
        entry_id,
        1 if up else -1,
        voter=query.from_user.id,
        message=_where(query),
    )
    thanks = context.bot_data.answering.press(
        pressed.action, entry_id, conversation=None, compact=False
    )
    await _acknowledge(query, thanks.text if thanks else None)


async def _open_entry(
    query: CallbackQuery, context: Context, pressed: Pressed, kb: KnowledgeBase
) -> None:
    entry = resolve(pressed.value, kb)
    if entry is None or query.message is None:
        await _acknowledge(query, STALE_BUTTON)
        return
    if pressed.choice and _asked_by_presser(query):
        await context.bot_data.storage.record_choice(
            pressed.question_id, entry.id, voter=query.from_user.id, message=_where(query)
        )
    await _acknowledge(query)
    group = query.message.chat.type != ChatType.PRIVATE
    key = _conversation(query.message.chat.id, query.from_user, group)
    shown = context.bot_data.answering.press(
        Action.ENTRY, entry.id, conversation=key, compact=group
    )  # a follow-up is now about this entry
    await _send_to_query(query, context, shown or render_entry(entry, kb), pressed.question_id)


# -- inline mode ---------------------------------------------------------------------------


def _article(entry: Entry, kb: KnowledgeBase, username: str | None) -> InlineQueryResultArticle:
    reply = render_entry(entry, kb, compact=True)
    description = " ".join(entry.answer.split())
    if len(description) > INLINE_DESCRIPTION_CHARS:
        description = description[: INLINE_DESCRIPTION_CHARS - 1] + "…"
    markup = None
    if username and len(entry.id) <= MAX_BYTES:
        link = f"https://t.me/{username}?start={entry.id}"
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(OPEN_IN_BOT, url=link)]])
    return InlineQueryResultArticle(
        id=short_ref(entry.id),
        title=entry.title,
        description=description,
        input_message_content=InputTextMessageContent(
            split_html(reply.html)[0],
            parse_mode=ParseMode.HTML,
            link_preview_options=NO_PREVIEW,
        ),
        reply_markup=markup,
    )


async def inline_query(update: Update, context: Context) -> None:
    """``@bot 问题`` in any chat: up to five answers; an empty query lists the most asked."""
    query = update.inline_query
    if query is None:
        return
    kb = context.bot_data.faq.kb
    text = query.query.strip()
    if text:
        entries = list(context.bot_data.answering.inline(text, INLINE_RESULTS))
    else:
        top = await context.bot_data.storage.top_entries(INLINE_RESULTS)
        known = [kb.by_id[entry_id] for entry_id in top if entry_id in kb.by_id]
        entries = list(dict.fromkeys([*known, *kb.entries]))[:INLINE_RESULTS]
    results = [_article(entry, kb, context.bot.username) for entry in entries]
    button = (
        None
        if results
        else InlineQueryResultsButton(text=NOT_FOUND_INLINE, start_parameter="inline")
    )
    await query.answer(results, cache_time=30 if text else 300, button=button)
