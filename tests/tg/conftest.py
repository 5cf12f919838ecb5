"""A real Application fed real Update objects, with a recording BaseRequest in place of HTTP.

This is python-telegram-bot's own testing approach: ``Application.process_update`` with
``Update.de_json(raw, bot)``, and a ``BaseRequest`` subclass that records every Bot API call
(method and decoded parameters, uploads included) and answers with Telegram-shaped JSON.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from telegram import MessageEntity, Update
from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import ODVInput
from telegram.request import BaseRequest, RequestData

from bot.config import Settings
from bot.core.decision import Thresholds
from bot.core.faq import Faq
from bot.storage.memory import MemoryStorage
from bot.storage.sqlite import SqliteStorage
from bot.tg.app import App, build_application
from bot.tg.ratelimit import RateLimiter

FIXTURE_KB = Path(__file__).resolve().parent.parent / "fixtures" / "kb"
TOKEN = "123456789:AAHtestTokenForEsscardBotTests-0123"
BOT_ID = 4242
BOT_USERNAME = "esscard_test_bot"
ADMIN_ID = 7001
USER_ID = 1001
GROUP_ID = -100555
BOT_USER = {"id": BOT_ID, "is_bot": True, "first_name": "社保卡小助手", "username": BOT_USERNAME}


@dataclass
class Call:
    """One Bot API request as the bot made it."""

    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    url: str = ""


def chat_of(chat_id: int) -> dict[str, Any]:
    """The private chat of a user (a positive id) or the test group."""
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": "张阿姨"}
    return {"id": chat_id, "type": "supergroup", "title": "社区群"}


class RecordingRequest(BaseRequest):
    """PTB's own ``OfflineRequest`` (its tests' no-network request), recording: each call is
    kept (method, parameters, uploads) and answered with a Telegram-shaped result; ``fail()``
    makes the next calls of a method get an error answer instead."""

    def __init__(self, *, privacy_mode: bool = True) -> None:
        self.calls: list[Call] = []
        self.failures: dict[str, list[tuple[int, str, dict[str, Any] | None]]] = {}
        self.privacy_mode = privacy_mode
        self._ids = itertools.count(500)
        self._files = itertools.count(1)

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    def fail(
        self,
        method: str,
        status: int = 400,
        description: str = "",
        times: int = 1,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        """Make the next *times* calls of *method* fail with *status*."""
        said = description or f"Bad Request: {method} refused by the test"
        self.failures.setdefault(method, []).extend([(status, said, parameters)] * times)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        endpoint = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        files = {}
        if request_data and request_data.contains_files:
            for name, (filename, content, *_) in request_data.multipart_data.items():
                data = content if isinstance(content, bytes) else content.read()
                files[name] = (filename or name, data)
        self.calls.append(Call(endpoint, params, files, url))
        if self.failures.get(endpoint):
            status, description, parameters = self.failures[endpoint].pop(0)
            body = {"ok": False, "error_code": status, "description": description}
            return status, json.dumps(
                {**body, "parameters": parameters} if parameters else body
            ).encode()
        return 200, json.dumps({"ok": True, "result": self._result(endpoint, params)}).encode()

    def _result(self, endpoint: str, params: dict[str, Any]) -> object:
        if endpoint == "getMe":
            privacy = {"can_read_all_group_messages": not self.privacy_mode}
            return {
                **BOT_USER,
                "can_join_groups": True,
                **privacy,
                "supports_inline_queries": True,
            }
        if endpoint == "getUpdates":
            return []
        if endpoint == "sendMediaGroup":
            return [
                self._message(params, photo=self._photo(item["media"]), media_group_id="g1")
                for item in params["media"]
            ]
        if endpoint == "sendPhoto":
            return self._message(params, photo=self._photo(params.get("photo")))
        if endpoint in ("sendMessage", "editMessageText"):
            return self._message(params)
        return True

    def _message(self, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
        kept: dict[str, Any] = {
            k: params[k] for k in ("message_id", "text", "reply_markup") if k in params
        }
        chat = chat_of(int(params.get("chat_id", USER_ID)))
        now = int(time.time())
        return {
            "message_id": next(self._ids),
            "date": now,
            "chat": chat,
            "from": BOT_USER,
            **kept,
            **extra,
        }

    def _photo(self, media: object) -> list[dict[str, Any]]:
        """A file_id sent is given back; an upload gets photo-1, photo-2, ..."""
        if not isinstance(media, str) or media.startswith("attach://"):
            media = f"photo-{next(self._files)}"
        return [{"file_id": media, "file_unique_id": media, "width": 800, "height": 800}]

    # -- what the tests look at ----------------------------------------------------------

    def of(self, method: str) -> list[Call]:
        """The calls of one method, in order."""
        return [call for call in self.calls if call.method == method]

    def sent(self) -> list[Call]:
        """Calls that put something in a chat (messages, photos, albums, edits)."""
        kinds = {"sendMessage", "sendPhoto", "sendMediaGroup", "editMessageText"}
        return [call for call in self.calls if call.method in kinds]

    def texts(self) -> list[str]:
        """The text of every sendMessage, in order."""
        return [call.params["text"] for call in self.of("sendMessage")]

    def clear(self) -> None:
        self.calls.clear()


def buttons(call: Call) -> list[tuple[str, str]]:
    """(label, callback_data or url) of every button of a recorded call."""
    markup = call.params.get("reply_markup") or {}
    return [
        (button["text"], button.get("callback_data") or button.get("url", ""))
        for row in markup.get("inline_keyboard", [])
        for button in row
    ]


class Harness:
    """An initialised Application and helpers that feed it Telegram-shaped updates."""

    def __init__(self, app: App, request: RecordingRequest, storage: MemoryStorage) -> None:
        self.app = app
        self.request = request
        self.storage = storage
        self._updates = itertools.count(1)
        self._messages = itertools.count(10)

    @property
    def faq(self) -> Faq:
        faq: Faq = self.app.bot_data["faq"]
        return faq

    async def feed(self, kind: str, payload: dict[str, Any]) -> None:
        """Process one update {kind: payload}."""
        raw = {"update_id": next(self._updates), kind: payload}
        await self.app.process_update(Update.de_json(raw, self.app.bot))

    @staticmethod
    def user(user_id: int = USER_ID, **extra: Any) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": "张阿姨", **extra}

    chat = staticmethod(chat_of)

    def message(
        self,
        text: str | None,
        *,
        chat_id: int = USER_ID,
        user_id: int = USER_ID,
        entities: list[dict[str, Any]] | None = None,
        reply_to: dict[str, Any] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """A message dict; a leading /command gets its bot_command entity."""
        message: dict[str, Any] = {
            "message_id": next(self._messages),
            "date": int(time.time()),
            "chat": self.chat(chat_id),
            "from": self.user(user_id),
            **extra,
        }
        if text is not None:
            message["text"] = text
            entities = list(entities or [])
            if text.startswith("/"):
                command = text.split()[0]
                entities.insert(0, {"type": "bot_command", "offset": 0, "length": len(command)})
            if entities:
                message["entities"] = entities
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        return message

    async def say(self, text: str | None, **kwargs: Any) -> dict[str, Any]:
        """Send a message (private by default; ``chat_id=GROUP_ID`` for the group)."""
        message = self.message(text, **kwargs)
        await self.feed("message", message)
        return message

    async def press(
        self,
        data: str,
        *,
        chat_id: int = USER_ID,
        user_id: int = USER_ID,
        message_id: int = 77,
        text: str = "…",
        keyboard: list[str] | None = None,
        reply_to: dict[str, Any] | None = None,
    ) -> None:
        """Press a button with *data* on a bot message whose buttons carry *keyboard* (by
        default just *data*: a real button; anything else is what a forged press looks like,
        since Telegram sends the message as it is, keyboard included)."""
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self.chat(chat_id),
            "from": BOT_USER,
            "text": text,
        }
        rows = [[{"text": "按钮", "callback_data": value}] for value in keyboard or [data]]
        if keyboard != []:
            message["reply_markup"] = {"inline_keyboard": rows}
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        query = {
            "id": f"cq{next(self._updates)}",
            "from": self.user(user_id),
            "chat_instance": "ci-1",
            "data": data,
            "message": message,
        }
        await self.feed("callback_query", query)

    async def inline(self, query: str, user_id: int = USER_ID) -> None:
        """Type ``@bot <query>`` in some chat."""
        payload = {"id": "iq1", "from": self.user(user_id), "query": query, "offset": ""}
        await self.feed("inline_query", payload)

    def bot_message(self, chat_id: int = GROUP_ID, text: str = "之前的回答") -> dict[str, Any]:
        """A message the bot sent earlier, to reply to."""
        return {
            "message_id": 3,
            "date": int(time.time()),
            "chat": self.chat(chat_id),
            "from": BOT_USER,
            "text": text,
        }


def mention(text: str, target: str) -> dict[str, Any]:
    """A ``mention`` entity for *target* (``@name``) in *text*, in UTF-16 units."""
    start = text.index(target)
    offset = len(text[:start].encode("utf-16-le")) // 2
    return {"type": MessageEntity.MENTION, "offset": offset, "length": len(target)}


def settings_for(knowledge: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "token": TOKEN,
        "api_base_url": "http://127.0.0.1:9/bot",
        "admin_ids": frozenset({ADMIN_ID}),
        "knowledge_dir": knowledge,
        **overrides,
    }
    return Settings(**values)


MakeHarness = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def make_harness() -> AsyncIterator[MakeHarness]:
    """Build and initialise an Application on a knowledge folder (the fixture KB by default)."""
    apps: list[App] = []

    async def make(
        knowledge: Path = FIXTURE_KB,
        *,
        thresholds: Thresholds | None = None,
        privacy_mode: bool = True,
        **settings: Any,
    ) -> Harness:
        request = RecordingRequest(privacy_mode=privacy_mode)
        storage = MemoryStorage()
        config = settings_for(knowledge, **settings)
        app = build_application(
            config,
            Faq(knowledge, thresholds or config.thresholds),
            storage,
            request=request,
            rate_limiter=RateLimiter(first_delay=0.0),
            updater=False,
        )
        await app.initialize()
        apps.append(app)
        return Harness(app, request, storage)

    yield make
    for app in apps:
        await app.shutdown()


@pytest.fixture
async def harness(make_harness: MakeHarness) -> Harness:
    """The bot on the fixture knowledge base."""
    return await make_harness()


@dataclass
class SqliteBot:
    """The bot with a real SQLite file as its storage: read figures from ``db`` (the
    harness's in-memory ``storage`` is not used)."""

    harness: Harness
    db: SqliteStorage


@asynccontextmanager
async def sqlite_bot(
    database: Path | str, knowledge: Path = FIXTURE_KB, **options: Any
) -> AsyncIterator[SqliteBot]:
    """The bot on *knowledge* storing in *database* (a path or a ``file:`` URI); storage is
    opened as ``post_init`` would, and closed (pending writes flushed) on exit."""
    request = RecordingRequest()
    config = settings_for(knowledge, database=Path(str(database)))
    options.setdefault("busy_timeout", 0.1)
    options.setdefault("retry_delays", (0.01, 0.02))
    db = SqliteStorage(database, **options)
    app = build_application(
        config,
        Faq(knowledge, config.thresholds),
        db,
        request=request,
        rate_limiter=RateLimiter(first_delay=0.0),
        updater=False,
    )
    await app.initialize()
    await db.open()
    try:
        yield SqliteBot(Harness(app, request, MemoryStorage()), db)
    finally:
        await db.close()
        await app.shutdown()
