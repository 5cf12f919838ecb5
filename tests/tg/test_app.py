"""Wiring: URLs, rate limiter, command menus, storage lifecycle, allowed updates."""

from __future__ import annotations

from pathlib import Path

from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
)

from bot.core.faq import Faq
from bot.storage.memory import MemoryStorage
from bot.tg.app import (
    ALLOWED_UPDATES,
    CONCURRENT_UPDATES,
    build_application,
    file_url,
)
from bot.tg.lanes import FairUpdateProcessor
from bot.tg.ratelimit import RateLimiter
from tests.tg.conftest import (
    ADMIN_ID,
    FIXTURE_KB,
    TOKEN,
    Harness,
    RecordingRequest,
    settings_for,
)


async def test_requests_go_to_the_configured_bot_api(harness: Harness) -> None:
    [get_me] = harness.request.of("getMe")
    assert get_me.url == f"http://127.0.0.1:9/bot{TOKEN}/getMe"
    assert harness.app.bot.base_file_url == f"http://127.0.0.1:9/file/bot{TOKEN}"


def test_telegram_is_the_default_bot_api() -> None:
    settings = settings_for(FIXTURE_KB, api_base_url=None)
    app = build_application(settings, Faq(FIXTURE_KB), MemoryStorage(), updater=False)
    assert app.bot.base_url == f"https://api.telegram.org/bot{TOKEN}"
    assert app.bot.base_file_url == f"https://api.telegram.org/file/bot{TOKEN}"
    assert app.updater is None


def test_file_url_sits_beside_the_bot_api() -> None:
    assert file_url("http://127.0.0.1:8081/bot") == "http://127.0.0.1:8081/file/bot"
    assert file_url("https://tg.example.org/api/bot/") == "https://tg.example.org/api/file/bot"


def test_polling_application_has_an_updater_and_the_rate_limiter(tmp_path: Path) -> None:
    app = build_application(settings_for(FIXTURE_KB), Faq(FIXTURE_KB), MemoryStorage())
    assert app.updater is not None
    assert isinstance(app.bot.rate_limiter, RateLimiter)
    assert isinstance(app.update_processor, FairUpdateProcessor)
    assert app.update_processor.slots == CONCURRENT_UPDATES
    assert app.update_processor.on_shed is not None
    assert {"faq", "storage", "settings"} <= set(app.bot_data)


async def test_post_init_opens_storage_and_registers_commands(harness: Harness) -> None:
    assert not harness.storage.opened
    await harness.app.post_init(harness.app)  # type: ignore[misc]
    assert harness.storage.opened
    menus = {
        (call.params["scope"]["type"], call.params["scope"].get("chat_id")): [
            command["command"] for command in call.params["commands"]
        ]
        for call in harness.request.of("setMyCommands")
    }
    assert menus == {
        ("all_private_chats", None): ["start", "menu", "ask", "help"],
        ("all_group_chats", None): ["ask", "menu", "help"],
        ("chat", ADMIN_ID): [
            *("start", "menu", "ask", "help"),
            *("stats", "unanswered", "teach", "reload"),
        ],
    }


async def test_command_registration_failures_do_not_stop_the_bot(harness: Harness) -> None:
    harness.request.fail("setMyCommands", 400, "Bad Request: chat not found", times=3)
    await harness.app.post_init(harness.app)  # type: ignore[misc]
    assert harness.storage.opened
    assert len(harness.request.of("setMyCommands")) == 3


async def test_post_shutdown_closes_storage(harness: Harness) -> None:
    await harness.app.post_shutdown(harness.app)  # type: ignore[misc]
    assert harness.storage.closed


def test_every_handled_update_type_is_requested() -> None:
    app = build_application(settings_for(FIXTURE_KB), Faq(FIXTURE_KB), MemoryStorage())
    needed = set()
    for handler in app.handlers[0]:
        if isinstance(handler, CommandHandler | MessageHandler):
            needed.add("message")
        elif isinstance(handler, CallbackQueryHandler):
            needed.add("callback_query")
        elif isinstance(handler, InlineQueryHandler):
            needed.add("inline_query")
        elif isinstance(handler, ChatMemberHandler):
            needed.add("my_chat_member")
        else:
            raise AssertionError(f"unexpected handler {handler!r}")
    assert needed == set(ALLOWED_UPDATES)
    assert app.error_handlers


async def test_polling_uses_its_own_request() -> None:
    requests, polling = RecordingRequest(), RecordingRequest()
    app = build_application(
        settings_for(FIXTURE_KB),
        Faq(FIXTURE_KB),
        MemoryStorage(),
        request=requests,
        get_updates_request=polling,
    )
    await app.initialize()
    try:
        await app.bot.get_updates(timeout=0)
    finally:
        await app.shutdown()
    assert [call.method for call in polling.calls] == ["getUpdates"]
    assert "getUpdates" not in [call.method for call in requests.calls]


def test_the_overall_rate_comes_from_the_settings() -> None:
    limited = build_application(settings_for(FIXTURE_KB), Faq(FIXTURE_KB), MemoryStorage())
    unlimited = build_application(
        settings_for(FIXTURE_KB, max_rate=0.0), Faq(FIXTURE_KB), MemoryStorage()
    )
    assert limited.bot.rate_limiter.overall is not None
    assert limited.bot.rate_limiter.overall.max_rate == 30
    assert unlimited.bot.rate_limiter.overall is None
