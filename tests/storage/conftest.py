"""Fixtures of the storage tests: a database path and opened ``SqliteStorage`` instances."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.storage.sqlite import SqliteStorage

Make = Callable[..., Awaitable[SqliteStorage]]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "nested" / "bot.sqlite3"


@pytest.fixture
async def make() -> AsyncIterator[Make]:
    made: list[SqliteStorage] = []

    async def factory(path: Path | str, **options: Any) -> SqliteStorage:
        options.setdefault("busy_timeout", 0.1)
        options.setdefault("retry_delays", (0.01, 0.02))
        storage = SqliteStorage(path, **options)
        await storage.open()
        made.append(storage)
        return storage

    yield factory
    for storage in made:
        await storage.close()
