"""Building the python-telegram-bot ``Application``: the one place handlers are wired."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseRateLimiter,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.config import Settings
from bot.core import strings_zh as zh
from bot.core.faq import Faq
from bot.storage.base import Storage
from bot.tg import admin, errors, handlers
from bot.tg.context import CONTEXT_TYPES, BotData, Context, bot_data
from bot.tg.groups import ADDRESSED
from bot.tg.lanes import FairUpdateProcessor
from bot.tg.ratelimit import RateLimiter

log = logging.getLogger(__name__)

TELEGRAM_API = "https://api.telegram.org/bot"
ALLOWED_UPDATES = [
    Update.MESSAGE,
    Update.CALLBACK_QUERY,
    Update.INLINE_QUERY,
    Update.MY_CHAT_MEMBER,
]
"""Every update type a handler below reacts to (and no other)."""

PRIVATE_COMMANDS = [
    BotCommand("start", zh.COMMAND_START),
    BotCommand("menu", zh.COMMAND_MENU),
    BotCommand("ask", zh.COMMAND_ASK),
    BotCommand("help", zh.COMMAND_HELP),
]
GROUP_COMMANDS = [
    BotCommand("ask", zh.COMMAND_ASK),
    BotCommand("menu", zh.COMMAND_MENU),
    BotCommand("help", zh.COMMAND_HELP),
]
ADMIN_COMMANDS = [
    *PRIVATE_COMMANDS,
    BotCommand("stats", zh.COMMAND_STATS),
    BotCommand("unanswered", zh.COMMAND_UNANSWERED),
    BotCommand("teach", zh.COMMAND_TEACH),
    BotCommand("reload", zh.COMMAND_RELOAD),
]

CONCURRENT_UPDATES = 8
"""Updates worked on at once (``lanes.FairUpdateProcessor``'s slots; every chat's updates wait in
a lane of their own, and a slot is lent out while its request waits for a flood limit or a
retry), each holding one of as many connections to the Bot API: with
Telegram's ~0.1 s a request, 8 carry ~80 messages a second against its limit of ~30. httpcore
walks every queued request and open connection on each request, so more cost CPU instead of
saving time: 32 handlers (on PTB's pool of 256) cost about 10 ms of CPU a message through the
local fake Bot API, 8 on a pool of 8 about 5 to 7 ms (``esscard-bot bench``)."""

App = Application[Any, Context, Any, Any, BotData, Any]


def add_handlers(application: App) -> None:
    """Wire every handler and the error handler."""
    message = filters.UpdateType.MESSAGE
    private = message & filters.ChatType.PRIVATE
    groups = message & filters.ChatType.GROUPS
    application.add_handlers(
        [
            CommandHandler("start", handlers.start, filters=message),
            CommandHandler("help", handlers.help_command, filters=message),
            CommandHandler("menu", handlers.menu, filters=message),
            CommandHandler("ask", handlers.ask, filters=message),
            CommandHandler("reload", admin.reload, filters=message),
            CommandHandler("stats", admin.stats, filters=message),
            CommandHandler("unanswered", admin.unanswered, filters=message),
            CommandHandler("teach", admin.teach, filters=message),
            MessageHandler(message & filters.COMMAND, handlers.unknown_command),
            MessageHandler(private & filters.TEXT, handlers.private_text),
            MessageHandler(groups & filters.TEXT & ADDRESSED, handlers.group_text),
            MessageHandler(message & filters.StatusUpdate.NEW_CHAT_MEMBERS, handlers.new_members),
            MessageHandler(private & ~filters.StatusUpdate.ALL, handlers.unsupported),
            ChatMemberHandler(handlers.added_to_group, ChatMemberHandler.MY_CHAT_MEMBER),
            CallbackQueryHandler(handlers.button),
            InlineQueryHandler(handlers.inline_query),
        ]
    )
    application.add_error_handler(errors.on_error)


async def register_commands(application: App) -> None:
    """The command menus: private chats, groups, and each admin's private chat."""
    settings = application.bot_data.settings
    menus: list[tuple[list[BotCommand], BotCommandScope]] = [
        (PRIVATE_COMMANDS, BotCommandScopeAllPrivateChats()),
        (GROUP_COMMANDS, BotCommandScopeAllGroupChats()),
        *((ADMIN_COMMANDS, BotCommandScopeChat(admin)) for admin in sorted(settings.admin_ids)),
    ]
    for commands, scope in menus:
        try:
            await application.bot.set_my_commands(commands, scope=scope)
        except TelegramError as error:  # e.g. an admin who never opened a chat with the bot
            log.warning(
                "Could not set the %s command menu (%s); commands still work.", scope.type, error
            )


async def post_init(application: App) -> None:
    """Open storage and register the command menus."""
    storage = application.bot_data.storage
    await storage.open()
    await register_commands(application)
    log.info("Bot @%s is ready.", application.bot.username)


async def post_shutdown(application: App) -> None:
    """Close storage, flushing pending writes."""
    storage = application.bot_data.storage
    await storage.close()


def build_application(
    settings: Settings,
    faq: Faq,
    storage: Storage,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    rate_limiter: BaseRateLimiter[Any] | None = None,
    updater: bool = True,
) -> App:
    """The bot's ``Application``, with every handler; tests pass their own *request*s and
    ``updater=False`` (then only ``process_update`` feeds it)."""
    base_url = settings.api_base_url or TELEGRAM_API
    processor = FairUpdateProcessor(CONCURRENT_UPDATES)
    limiter = rate_limiter or RateLimiter(overall_max_rate=settings.max_rate)
    builder = (
        ApplicationBuilder()
        .token(settings.token)
        .context_types(CONTEXT_TYPES)
        .base_url(base_url)
        .base_file_url(file_url(base_url))
        .rate_limiter(limiter)
        .concurrent_updates(processor)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    if request is not None:
        builder = builder.request(request)
    else:
        builder = builder.connection_pool_size(CONCURRENT_UPDATES)
    if not updater:
        builder = builder.updater(None)
    elif get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)
    application: App = builder.build()
    processor.on_shed = partial(handlers.slow_down, application)
    if isinstance(limiter, RateLimiter):
        limiter.running = lambda: application.running
    application.bot_data.update(bot_data(settings, faq, storage))
    add_handlers(application)
    return application


def file_url(base_url: str) -> str:
    """The file download URL beside a Bot API base URL (``.../bot`` -> ``.../file/bot``)."""
    root, slash, last = base_url.rstrip("/").rpartition("/")
    if slash and last == "bot":
        return f"{root}/file/bot"
    return base_url.rstrip("/") + "/file/bot"
