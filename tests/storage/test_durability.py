"""The database folder vanishing, writes that fail for a while, and a file that went bad:
noticed, retried, counted and said plainly (issue 12, items 9, 11 and 12)."""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path

import pytest

from bot.storage.stats import format_stats
from tests.storage.conftest import Make
from tests.storage.test_sqlite import count, exclusive_lock, query, record


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


# -- 9: the data folder vanishing is noticed -------------------------------------------------


async def test_a_deleted_data_folder_is_noticed_and_recreated(
    make: Make, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    storage = await make(db_path)
    for number in range(5):
        await storage.log_question(record(f"删除前{number}"))
    await storage.flush()
    shutil.rmtree(db_path.parent)
    with caplog.at_level(logging.WARNING):
        for number in range(800):
            await storage.log_question(record(f"删除后{number}"))
        await storage.flush()
        stats = await storage.stats(7)
    assert count(db_path, "questions") == 800  # into a file that exists, not a deleted one
    assert [m for m in errors(caplog) if "deleted" in m and str(db_path) in m]
    assert stats.replaced == 1 and stats.questions == 800
    assert "数据库文件在运行中被删除或替换" in format_stats(stats)
    await storage.close()
    assert count(db_path, "questions") == 800


async def test_a_database_file_swapped_for_another_is_noticed(
    make: Make, db_path: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    storage = await make(db_path)
    await storage.log_question(record("原来的文件"))
    await storage.flush()
    backup = tmp_path / "backup.sqlite3"
    shutil.copy(db_path, backup)
    db_path.unlink()
    shutil.copy(backup, db_path)  # a restore: same name, another file
    with caplog.at_level(logging.WARNING):
        await storage.log_question(record("换了文件以后"))
        await storage.flush()
    assert query(db_path, "SELECT text FROM questions ORDER BY id") == [
        ("原来的文件",),
        ("换了文件以后",),
    ]
    assert [m for m in errors(caplog) if "replaced" in m]
    assert (await storage.stats(7)).replaced == 1


# -- 11: dropped writes are retried, and what is finally dropped is counted -------------------


async def test_writes_that_fail_for_a_while_are_retried_not_dropped(
    make: Make, db_path: Path
) -> None:
    """A lock held longer than the quick retries (a backup, a long report): the questions
    asked meanwhile are saved once it is gone."""
    storage = await make(db_path)
    with exclusive_lock(db_path):
        for number in range(20):
            await storage.log_question(record(f"锁着的时候{number}"))
        await storage.flush()
        await asyncio.sleep(0.3)
    for _ in range(100):
        if count(db_path, "questions") == 20:
            break
        await asyncio.sleep(0.1)
    assert count(db_path, "questions") == 20
    assert storage.dropped == 0


async def test_what_is_finally_dropped_is_counted_logged_and_shown(
    make: Make, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    writable = await make(db_path)
    await writable.close()
    storage = await make(f"file:{db_path}?mode=ro", retry_later=(0.01, 0.02, 0.03))
    with caplog.at_level(logging.WARNING):
        for number in range(7):
            await storage.log_question(record(f"只读{number}"))
        for _ in range(100):
            await storage.flush()
            if storage.dropped == 7:
                break
            await asyncio.sleep(0.05)
    assert storage.dropped == 7
    stats = await storage.stats(7)
    assert stats.dropped == 7 and stats.retrying == 0
    assert "7 条记录重试后仍没能保存" in format_stats(stats)
    with caplog.at_level(logging.WARNING):
        await storage.close()
    given_up = [r.getMessage() for r in caplog.records if "Storage gave up on" in r.getMessage()]
    assert given_up[0].startswith("Storage gave up on") and "read-only" in given_up[0]
    assert given_up[-1].endswith("7 given up since the bot started. /stats shows the count.")


async def test_writes_pending_at_close_get_one_last_try(make: Make, db_path: Path) -> None:
    storage = await make(db_path, retry_later=(60.0,))
    with exclusive_lock(db_path):
        await storage.log_question(record("关闭前"))
        await storage.flush()
    await storage.close()
    assert count(db_path, "questions") == 1 and storage.dropped == 0


# -- 12: honest status ------------------------------------------------------------------------


def corrupt_pages(path: Path) -> None:
    """Garbage over every page but the first, and the change counter bumped so that open
    connections read the pages again: the header still looks like a database."""
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[page:] = b"\xa5" * (len(data) - page)
    counter = int.from_bytes(data[24:28], "big") + 1
    data[24:28] = counter.to_bytes(4, "big")
    path.write_bytes(bytes(data))


async def test_unreadable_figures_are_not_shown_as_nobody_asking(
    make: Make, db_path: Path
) -> None:
    storage = await make(db_path)
    for number in range(30):
        await storage.log_question(record(f"问题{number}" * 20, "fallback", None))
    await storage.flush()
    corrupt_pages(db_path)
    stats = await storage.stats(7)
    assert not stats.readable and stats.problem == "corrupt"
    text = format_stats(stats)
    assert "还没有人提问" not in text and "读不出来" in text
    assert await storage.unanswered(10) is None  # not "nothing unanswered"


async def test_reconnecting_to_a_corrupt_file_is_not_called_working(
    make: Make, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    storage = await make(db_path, reconnect_interval=0.0)
    for number in range(30):
        await storage.log_question(record(f"问题{number}" * 20))
    await storage.flush()
    corrupt_pages(db_path)
    with caplog.at_level(logging.INFO):
        for number in range(3):
            await storage.log_question(record(f"坏了以后{number}"))
            await storage.flush()
    assert "Storage is working" not in caplog.text
    assert not storage.available
    assert not (await storage.stats(7)).readable


async def test_a_read_only_database_is_not_called_working(
    make: Make, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await (await make(db_path)).close()
    with caplog.at_level(logging.INFO):
        storage = await make(f"file:{db_path}?mode=ro")
    assert "Storage is working" not in caplog.text
    assert (await storage.stats(7)).readable  # reading works, and says so
