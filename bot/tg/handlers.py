"""Telegram handlers: each one reads the update, asks the core, and sends what it rendered."""

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
from telegram.ext import Application, ContextTypes

from bot.core.decision import Decision, Kind
from bot.core.knowledge import Entry, KnowledgeBase
from bot.core.privacy import redact
from bot.core.render import (
    HOTLINE,
    NONE_OF_THESE_TEXT,
    PRIVACY_NOTICE,
    Action,
    Reply,
    render_category,
    render_entry,
    render_help,
    render_menu,
    render_text,
    render_turn,
    render_welcome,
    split_html,
)
from bot.core.text import normalize
from bot.storage.base import QuestionRecord, Storage
from bot.tg.callback_data import MAX_BYTES, Pressed, decode, resolve, short_ref
from bot.tg.context import conversations_of, faq_of, runtime_of, storage_of
from bot.tg.groups import question_text
from bot.tg.sending import NO_PREVIEW, Target, keyboard, send_reply

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE

INLINE_RESULTS = 5
INLINE_DESCRIPTION_CHARS = 60
NON_TEXT_HINT = (
    "我只看得懂文字。请直接打字提问，比如「电子社保卡怎么领」；发送 /menu 可以按分类查看。"
)
UNKNOWN_COMMAND = "没有这个命令。直接打字提问就行，发送 /help 查看用法。"
ASK_EXAMPLE = "请把问题写在 /ask 后面，比如：/ask 电子社保卡怎么领"
STALE_BUTTON = "这个按钮已经过期了。请重新提问，或发送 /menu 查看全部问题。"
NOT_YOUR_QUESTION = "这是给提问的人选的。您有问题可以直接问我。"
THANKS_UP = "谢谢您的反馈！"
THANKS_DOWN = f"谢谢反馈！可以换个说法再问问，或拨打人社服务热线 {HOTLINE} 咨询。"
NOT_FOUND_INLINE = "没找到？打开小助手提问"
OPEN_IN_BOT = "在小助手里查看"
SLOW_DOWN = "消息太多太快，我回答不过来，有几条只好跳过了。请稍等片刻再发，谢谢！"


def _in_group(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type != ChatType.PRIVATE


def _group_example(context: Context) -> str:
    name = context.bot.username
    return f"请把问题和 @{name} 写在一起，或者发送：/ask@{name} 电子社保卡怎么领"


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
        storage_of(context),
        question_id=question_id,
        base=faq_of(context).kb.directory,
    )


def _conversation(chat_id: int, user: User | None, group: bool) -> tuple[int, int]:
    """Whose follow-ups go together: a private chat, or one user inside a group."""
    return chat_id, (user.id if group and user else 0)


async def _answer(update: Update, context: Context, question: str) -> None:
    """Answer one question, log it (redacted), and warn once about personal data."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return
    group = chat.type != ChatType.PRIVATE
    runtime = runtime_of(context)
    key = normalize(question).replace(" ", "") or question
    if group and not runtime.flood.allow((chat.id, key)):
        log.debug("A repeated question in chat %s is in its cooldown; not answered.", chat.id)
        return
    faq = faq_of(context)
    turn = conversations_of(context).ask(_conversation(chat.id, user, group), question)
    decision = turn.decision
    reply = render_turn(turn, faq.kb, compact=group)
    redaction = redact(question)

    def record(text: str, kind: Kind, entry: Entry | None, score: float) -> QuestionRecord:
        return QuestionRecord(
            chat_type=str(chat.type),
            user_id=user.id if user else None,
            text=text,
            normalized=normalize(text),
            decision=str(kind),
            entry_id=entry.id if entry else None,
            score=score,
        )

    storage = storage_of(context)
    question_id = await storage.log_question(
        record(redaction.text, decision.kind, decision.entry, decision.score)
    )
    if decision.unanswered:  # the rest of the message: for /unanswered like any fallback
        await storage.log_question(
            record(redact(decision.unanswered).text, Kind.FALLBACK, None, 0.0)
        )
    await _send(update, context, reply, question_id)
    if redaction.found and user is not None and user.id not in runtime.privacy_notified:
        runtime.privacy_notified.add(user.id)
        await _send(update, context, render_text(PRIVACY_NOTICE))


# -- commands ------------------------------------------------------------------------------


async def start(update: Update, context: Context) -> None:
    """/start: the welcome and category menu; ``/start <entry-id>`` opens that entry."""
    kb = faq_of(context).kb
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
    await _send(update, context, render_menu(faq_of(context).kb))


async def ask(update: Update, context: Context) -> None:
    """/ask <question> (``/ask@bot`` in groups): answer the question."""
    message = update.effective_message
    question = question_text(message) if message else ""
    if not question:
        chat_id = update.effective_chat.id if update.effective_chat else 0
        if not _in_group(update) or runtime_of(context).flood.allow((chat_id, "/ask")):
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
        runtime = runtime_of(context)
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
            storage: Storage = application.bot_data["storage"]
            await send_reply(application.bot, target, render_text(SLOW_DOWN), storage)
    except TelegramError as error:
        log.info("Could not ask a chat to slow down (%s).", error)


# -- groups --------------------------------------------------------------------------------


def _usage_note(context: Context) -> str:
    name = context.bot.username
    ways = f"发送 /ask@{name} 加问题，或者回复我的消息"
    if context.bot.can_read_all_group_messages:
        ways = f"直接 @{name} 加问题、{ways}"
    return (
        "大家好！我是社保卡小助手，回答电子社保卡、第三代社保卡和社保线上办事的问题。\n"
        f"在群里向我提问：{ways}。平时的聊天我不会打扰。\n"
        f"想慢慢问，可以私聊我：@{name}"
    )


async def _greet(context: Context, chat_id: int) -> None:
    if runtime_of(context).greeted.allow(chat_id):
        await send_reply(
            context.bot,
            Target(chat_id),
            render_text(_usage_note(context)),
            storage_of(context),
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
        storage_of(context),
        question_id=question_id,
        base=faq_of(context).kb.directory,
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
    kb = faq_of(context).kb
    match pressed.action:
        case Action.MENU:
            await _acknowledge(query)
            await _edit(query, context, render_menu(kb))
        case Action.CATEGORY:
            await _acknowledge(query)
            await _edit(query, context, render_category(kb, int(pressed.value)))
        case Action.NONE_OF_THESE:
            if not _asked_by_presser(query):
                await _acknowledge(query, NOT_YOUR_QUESTION)
                return
            await storage_of(context).record_choice(
                pressed.question_id, None, voter=query.from_user.id, message=_where(query)
            )
            await _acknowledge(query)
            await _edit(query, context, render_text(NONE_OF_THESE_TEXT))
        case Action.VOTE_UP | Action.VOTE_DOWN:
            await _vote(query, context, pressed, kb)
        case Action.ENTRY:
            await _open_entry(query, context, pressed, kb)


async def _vote(
    query: CallbackQuery, context: Context, pressed: Pressed, kb: KnowledgeBase
) -> None:
    entry = resolve(pressed.value, kb)
    entry_id = entry.id if entry else pressed.value
    if entry is None and pressed.value.startswith("#"):
        await _acknowledge(query, STALE_BUTTON)
        return
    up = pressed.action is Action.VOTE_UP
    await storage_of(context).record_vote(
        pressed.question_id,
        entry_id,
        1 if up else -1,
        voter=query.from_user.id,
        message=_where(query),
    )
    await _acknowledge(query, THANKS_UP if up else THANKS_DOWN)


async def _open_entry(
    query: CallbackQuery, context: Context, pressed: Pressed, kb: KnowledgeBase
) -> None:
    entry = resolve(pressed.value, kb)
    if entry is None or query.message is None:
        await _acknowledge(query, STALE_BUTTON)
        return
    if pressed.choice and _asked_by_presser(query):
        await storage_of(context).record_choice(
            pressed.question_id, entry.id, voter=query.from_user.id, message=_where(query)
        )
    await _acknowledge(query)
    group = query.message.chat.type != ChatType.PRIVATE
    key = _conversation(query.message.chat.id, query.from_user, group)
    conversations_of(context).remember(key, entry)  # a follow-up is now about this one
    await _send_to_query(
        query, context, render_entry(entry, kb, compact=group), pressed.question_id
    )


# -- inline mode ---------------------------------------------------------------------------


def _inline_entries(decision: Decision, suggest: float) -> list[Entry]:
    """The answer first, then other candidates good enough to suggest."""
    entries = [decision.entry] if decision.entry and decision.kind is Kind.ANSWER else []
    entries += list(decision.suggestions)
    if decision.kind is not Kind.FALLBACK:
        entries += [
            candidate.entry
            for candidate in decision.candidates
            if candidate.score >= suggest and candidate.matched & decision.analysis.topics
        ]
    return list(dict.fromkeys(entries))[:INLINE_RESULTS]


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
    faq = faq_of(context)
    kb = faq.kb
    text = query.query.strip()
    if text:
        entries = _inline_entries(faq.ask(text), faq.thresholds.suggest)
    else:
        top = await storage_of(context).top_entries(INLINE_RESULTS)
        known = [kb.by_id[entry_id] for entry_id in top if entry_id in kb.by_id]
        entries = list(dict.fromkeys([*known, *kb.entries]))[:INLINE_RESULTS]
    results = [_article(entry, kb, context.bot.username) for entry in entries]
    button = (
        None
        if results
        else InlineQueryResultsButton(text=NOT_FOUND_INLINE, start_parameter="inline")
    )
    await query.answer(results, cache_time=30 if text else 300, button=button)
