"""A local fake of the Telegram Bot API (standard library only) for end-to-end runs of the bot.

with FakeBotApiServer(token) as server:
    bot = Bot(token, base_url=server.bot_api_url)
    api = server.client()
"""

from __future__ import annotations

from .client import FakeBotApi, FakeBotApiError, Pushed, WaitTimeout, entity, group
from .server import DEFAULT_TOKEN, FakeBotApiServer

__all__ = [
    "DEFAULT_TOKEN",
    "FakeBotApi",
    "FakeBotApiError",
    "FakeBotApiServer",
    "Pushed",
    "WaitTimeout",
    "entity",
    "group",
]
