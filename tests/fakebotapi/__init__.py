"""A local fake of the Telegram Bot API (stdlib only) for end-to-end tests of esscard-bot.

with FakeBotApiServer(token) as server:
    bot = Bot(token, base_url=server.bot_api_url, base_file_url=server.file_url)
    api = server.client()
"""

from __future__ import annotations

from .client import (
    AsyncFakeBotApi,
    FakeBotApi,
    FakeBotApiError,
    Pushed,
    WaitTimeout,
    entity,
    group,
)
from .server import DEFAULT_TOKEN, FakeBotApiServer

__all__ = [
    "DEFAULT_TOKEN",
    "AsyncFakeBotApi",
    "FakeBotApi",
    "FakeBotApiError",
    "FakeBotApiServer",
    "Pushed",
    "WaitTimeout",
    "entity",
    "group",
]
