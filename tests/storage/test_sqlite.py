"""SqliteStorage on a real SQLite file: schema, records, figures, retention and faults."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import logging
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.core.faq import Faq
from bot.core.render import Reply, render_decision
from bot.storage.base import QuestionRecord, Storage
from bot.storage.sqlite import MIGRATIONS, SCHEMA_VERSION, SqliteStorage
from tests.conftest import SOURCE, entry_yaml
from tests.storage.conftest import Make

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
KEY = b"a test key that is long enough to be one 0123456789"


def record(
    text: str = "电子社保卡怎么领",
    decision: str = "answer",
    entry_id: str | None = "apply-e-card",
    *,
    user_id: int | None = 987654321,
    at: dt.datetime | None = None,
    chat_type: str = "private",
    score: float = 0.8,
) -> QuestionRecord:
    return QuestionRecord(chat_type, user_id, text, text, decision, entry_id, score, at)


def query(path: Path, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(path)
    try:
        return list(connection.execute(sql, parameters))
    finally:
        connection.close()


def count(path: Path, table: str) -> int:
    return int(query(path, f"SELECT count(*) FROM {table}")[0][0])


def warnings_about(caplog: pytest.LogCaptureFixture, kind: str) -> int:
    return sum(
        f"({kind})" in r.getMessage()
        for r in caplog.records
        if r.name == "bot.storage.sqlite" and r.levelno == logging.WARNING
    )


@contextmanager
def exclusive_lock(path: Path) -> Iterator[sqlite3.Connection]:
    """Another connection holding the write lock, as a backup tool or a second bot would."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        yield holder
    finally:
        holder.execute("ROLLBACK")
        holder.close()


# -- schema ------------------------------------------------------------------------------


async def test_open_creates_folders_schema_and_nothing_mapped(make: Make, db_path: Path) -> None:
    storage = await make(db_path)
    assert storage.available
    assert db_path.is_file()
    assert query(db_path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert db_path.read_bytes()[18:20] == b"\x01\x01"  # a rollback journal: no WAL, no -shm
    await storage.log_question(record())
    await storage.flush()
    assert not db_path.with_name("bot.sqlite3-shm").exists()
    assert not db_path.with_name("bot.sqlite3-wal").exists()
    tables = {name for (name,) in query(db_path, "SELECT name FROM sqlite_master")}
    assert {"questions", "votes", "choices", "admin_actions", "images"} <= tables
    assert not db_path.with_name("bot.sqlite3.salt").exists()  # the hash key lives elsewhere


async def test_migrates_from_version_1_keeping_data(make: Make, db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    connection = sqlite3.connect(db_path)
    for statement in MIGRATIONS[0]:
        connection.execute(statement)
    connection.execute(
        "INSERT INTO questions VALUES (1, '2026-11-27T08:00:00.000000', 'private', 'h', "
        "'我的手机[手机号]', '我的手机手机号', 'fallback', NULL, 0.1)"
    )
    connection.execute(
        "INSERT INTO questions VALUES (2, '2026-11-27T09:00:00.000000', 'group', NULL, "
        "'电子社保卡怎么领', '电子社保卡怎么领', 'answer', 'apply-e-card', 0.9)"
    )
    connection.execute("INSERT INTO votes VALUES (1, 2, 'apply-e-card', 1, '2026-11-27T09:01')")
    connection.execute("INSERT INTO images VALUES ('a.png', 'd1', 'FILE1', '2026-11-27')")
    connection.execute("PRAGMA user_version = 1")
    connection.commit()
    connection.close()

    storage = await make(db_path, clock=lambda: NOW)
    assert query(db_path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert query(db_path, "SELECT id, private FROM questions ORDER BY id") == [
        (1, "mobile"),
        (2, ""),
    ]
    indexes = {name for (name,) in query(db_path, "SELECT name FROM sqlite_master")}
    assert {"questions_decision", "choices_question", "images_digest"} <= indexes
    assert await storage.cached_file_id("a.png", "d1") == "FILE1"
    stats = await storage.stats(7)
    assert (stats.questions, stats.answered, stats.fallback, stats.private) == (2, 1, 1, 1)
    assert stats.entries[0].up == 1


async def test_reopening_a_current_database_changes_nothing(make: Make, db_path: Path) -> None:
    first = await make(db_path)
    await first.log_question(record())
    await first.close()
    schema = query(db_path, "SELECT sql FROM sqlite_master ORDER BY name")
    await make(db_path)
    assert query(db_path, "SELECT sql FROM sqlite_master ORDER BY name") == schema
    assert count(db_path, "questions") == 1


# -- what is stored ----------------------------------------------------------------------


async def test_records_are_stored_without_the_raw_user_id(make: Make, db_path: Path) -> None:
    storage = await make(db_path, key=KEY)
    first = await storage.log_question(record(at=NOW))
    second = await storage.log_question(record("怎么办社保卡", "suggest", None, user_id=None))
    assert isinstance(first, int) and isinstance(second, int) and second > first
    await storage.record_vote(first, "apply-e-card", 1)
    await storage.record_choice(second, "apply-e-card")
    await storage.record_choice(second, None)
    await storage.record_admin_action(42, "teach", "电子社保卡咋领 => apply-e-card")
    await storage.close()

    rows = query(
        db_path,
        "SELECT id, at, chat_type, user_hash, text, normalized, decision, entry_id, score "
        "FROM questions ORDER BY id",
    )
    expected_hash = hmac.new(KEY, b"user:987654321", hashlib.sha256).hexdigest()
    assert rows[0] == (
        first,
        "2026-11-28T12:00:00.000000",
        "private",
        expected_hash,
        "电子社保卡怎么领",
        "电子社保卡怎么领",
        "answer",
        "apply-e-card",
        0.8,
    )
    assert rows[1][3] is None and rows[1][6] == "suggest"
    assert query(db_path, "SELECT question_id, entry_id, vote FROM votes") == [
        (first, "apply-e-card", 1)
    ]
    assert query(db_path, "SELECT question_id, entry_id FROM choices ORDER BY id") == [
        (second, "apply-e-card"),
        (second, None),
    ]
    assert query(db_path, "SELECT admin_id, action, detail FROM admin_actions") == [
        (42, "teach", "电子社保卡咋领 => apply-e-card")
    ]
    for path in db_path.parent.iterdir():
        assert b"987654321" not in path.read_bytes(), path


async def test_personal_data_is_redacted_even_if_the_caller_forgot(
    make: Make, db_path: Path
) -> None:
    storage = await make(db_path)
    await storage.log_question(record("手机13812345678收不到验证码", "fallback", None))
    await storage.close()
    assert query(db_path, "SELECT text, normalized, private FROM questions") == [
        ("手机[手机号]收不到验证码", "手机 手机号 收不到验证码", "mobile")
    ]
    for path in db_path.parent.iterdir():
        assert b"13812345678" not in path.read_bytes()


async def test_a_vote_counts_once_per_voter_and_message(make: Make, db_path: Path) -> None:
    storage = await make(db_path)
    question_id = await storage.log_question(record())
    answer = (-100555, 91)  # a group's answer message: every member votes once on it
    await storage.record_vote(question_id, "apply-e-card", 1, voter=1, message=answer)
    await storage.record_vote(question_id, "apply-e-card", -1, voter=1, message=answer)
    await storage.record_vote(question_id, "apply-e-card", 1, voter=2, message=answer)
    await storage.record_vote(None, "apply-e-card", 1, voter=1, message=(-100555, 92))
    await storage.record_choice(question_id, None, voter=1, message=answer)
    await storage.record_choice(question_id, None, voter=1, message=answer)
    await storage.record_choice(question_id, "apply-e-card", voter=1, message=answer)
    await storage.close()
    assert query(db_path, "SELECT question_id, vote FROM votes ORDER BY id") == [
        (question_id, -1),
        (question_id, 1),
        (None, 1),
    ]
    assert query(db_path, "SELECT entry_id FROM choices ORDER BY id") == [
        (None,),
        ("apply-e-card",),
    ]
    for path in db_path.parent.iterdir():  # chat ids (a private chat's is its user's) hashed
        assert b"100555" not in path.read_bytes()


async def test_image_cache_survives_a_restart(make: Make, db_path: Path) -> None:
    storage = await make(db_path)
    assert await storage.cached_file_id("images/a.png", "abc") is None
    await storage.cache_file_id("images/a.png", "abc", "FILE-A")
    assert await storage.cached_file_id("images/a.png", "abc") == "FILE-A"
    await storage.cache_file_id("images/a.png", "abc", "FILE-A2")
    await storage.close()
    again = await make(db_path)
    assert await again.cached_file_id("images/a.png", "abc") == "FILE-A2"
    assert await again.cached_file_id("images/copy.png", "abc") == "FILE-A2"  # same content
    assert await again.cached_file_id("images/a.png", "changed") is None


# -- admin figures -----------------------------------------------------------------------


# -- retention ---------------------------------------------------------------------------


async def test_retention_prunes_at_open_and_later(make: Make, db_path: Path) -> None:
    now = [NOW]
    storage = await make(db_path, retention_days=30, clock=lambda: now[0])
    old = await storage.log_question(record(at=NOW - dt.timedelta(days=40)))
    await storage.record_vote(old, "apply-e-card", 1)
    await storage.log_question(record(at=NOW - dt.timedelta(days=1)))
    await storage.close()
    assert count(db_path, "questions") == 2

    reopened = await make(db_path, retention_days=30, clock=lambda: now[0])
    assert count(db_path, "questions") == 1
    assert count(db_path, "votes") == 1  # voted today: kept until it is old itself
    now[0] = NOW + dt.timedelta(days=31)
    await reopened.prune()
    assert count(db_path, "questions") == 0
    assert count(db_path, "votes") == 0


async def test_daily_prune_runs_in_the_background(make: Make, db_path: Path) -> None:
    now = [NOW]
    storage = await make(db_path, retention_days=1, prune_interval=0.05, clock=lambda: now[0])
    await storage.log_question(record(at=NOW))
    await storage.flush()
    now[0] = NOW + dt.timedelta(days=2)
    for _ in range(100):
        await asyncio.sleep(0.02)
        if count(db_path, "questions") == 0:
            break
    assert count(db_path, "questions") == 0


# -- concurrency and shutdown ------------------------------------------------------------


async def test_concurrent_updates_lose_nothing(make: Make, db_path: Path) -> None:
    storage = await make(db_path, batch_size=17)

    async def one(number: int) -> None:
        question_id = await storage.log_question(record(f"问题{number}", user_id=number))
        await storage.record_vote(question_id, "apply-e-card", 1 if number % 2 else -1)
        await storage.record_choice(question_id, None)

    await asyncio.gather(*(one(n) for n in range(400)))
    await storage.close()
    assert count(db_path, "questions") == 400
    assert count(db_path, "votes") == 400
    assert count(db_path, "choices") == 400
    assert query(db_path, "PRAGMA integrity_check") == [("ok",)]


async def test_two_instances_on_one_file(make: Make, db_path: Path) -> None:
    first = await make(db_path, busy_timeout=5.0)
    second = await make(db_path, busy_timeout=5.0)

    async def burst(storage: SqliteStorage, tag: str) -> None:
        for number in range(100):
            await storage.log_question(record(f"{tag}{number}"))
            if number % 10 == 0:
                await asyncio.sleep(0)

    await asyncio.gather(burst(first, "甲"), burst(second, "乙"))
    await asyncio.gather(first.close(), second.close())
    assert count(db_path, "questions") == 200
    assert query(db_path, "SELECT count(DISTINCT id) FROM questions") == [(200,)]


async def test_close_flushes_pending_writes(make: Make, db_path: Path) -> None:
    storage = await make(db_path)
    for number in range(250):
        await storage.log_question(record(f"问题{number}"))
    await storage.close()  # no flush before: close must save them (the SIGTERM path)
    assert count(db_path, "questions") == 250
    assert await storage.log_question(record()) is None  # closed: nothing queued
    await storage.close()  # twice is fine


# -- faults: the bot keeps answering ------------------------------------------------------


CARD_QUESTIONS = ["电子社保卡怎么领", "领电子社保卡", "怎样申领电子社保卡", "如何办理电子社保卡"]
CARD_QUESTIONS += [
    "电子社保卡在哪里领",
    "电子社保卡去哪申请",
    "支付宝电子社保卡",
    "开通电子社保卡",
]


def tiny_faq(tmp_path: Path) -> Faq:
    folder = tmp_path / "kb"
    folder.mkdir(exist_ok=True)
    entry = entry_yaml("apply-e-card", title="怎样领取电子社保卡", questions=CARD_QUESTIONS)
    (folder / "cards.yaml").write_text(SOURCE + "entries:\n" + entry, encoding="utf-8")
    return Faq(folder)


async def reply_to(faq: Faq, storage: Storage, text: str) -> Reply:
    """What a message handler does: decide, log (never waiting for the disk), reply."""
    decision = faq.ask(text)
    reply = render_decision(decision, faq.kb)
    started = time.perf_counter()
    question_id = await storage.log_question(
        QuestionRecord(
            "private",
            7,
            text,
            decision.analysis.normalized,
            str(decision.kind),
            decision.entry.id if decision.entry else None,
            decision.score,
        )
    )
    await storage.record_vote(question_id, "apply-e-card", 1)
    await storage.cached_file_id("images/a.png", "digest")
    # Far below the 5 s busy timeout: logging never waits for the disk.
    assert time.perf_counter() - started < 2.5
    return reply


async def exercise(storage: SqliteStorage, faq: Faq) -> None:
    """Every public method, on a store that cannot write; none may raise."""
    for _ in range(30):
        reply = await reply_to(faq, storage, "电子社保卡怎么领")
        assert reply.entry_id == "apply-e-card"
    await storage.record_choice(None, None)
    await storage.record_admin_action(1, "reload", "")
    await storage.cache_file_id("images/a.png", "digest", "FILE")
    assert isinstance(await storage.top_entries(3), list)
    assert isinstance(await storage.unanswered(5), list | None)
    assert (await storage.stats(7)).days == 7
    await storage.prune()
    await storage.flush()


async def test_parent_folder_is_a_file(
    make: Make, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    faq = tiny_faq(tmp_path)
    with caplog.at_level(logging.WARNING):
        storage = await make(blocker / "bot.sqlite3")
        assert not storage.available
        await exercise(storage, faq)
        await storage.close()
    assert warnings_about(caplog, "file system") == 1
    assert warnings_about(caplog, "unavailable") == 1
    assert storage.faults["unavailable"] > 1
    assert (await storage.stats(7)).questions == 0


async def test_missing_folder_is_created(make: Make, tmp_path: Path) -> None:
    storage = await make(tmp_path / "a" / "b" / "c" / "bot.sqlite3")
    assert storage.available and not storage.faults


async def test_read_only_database(
    make: Make, db_path: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    writable = await make(db_path)
    await writable.log_question(record("已有的问题", "fallback", None))
    await writable.close()
    faq = tiny_faq(tmp_path)
    with caplog.at_level(logging.WARNING):
        storage = await make(f"file:{db_path}?mode=ro")
        await exercise(storage, faq)
        assert (await storage.stats(7)).questions == 1  # still readable
        assert [g.text for g in await storage.unanswered(5) or []] == ["已有的问题"]
        await storage.close()
    assert warnings_about(caplog, "read-only") == 1
    assert storage.faults["read-only"] > 1
    assert count(db_path, "questions") == 1


async def test_locked_database(
    make: Make, db_path: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    storage = await make(db_path)
    faq = tiny_faq(tmp_path)
    with caplog.at_level(logging.WARNING), exclusive_lock(db_path):
        await exercise(storage, faq)
    assert warnings_about(caplog, "locked") == 1
    assert storage.faults["locked"] > 1
    assert storage.retrying > 0 and storage.dropped == 0  # tried again later, not dropped
    await storage.log_question(record("锁放开以后"))  # the lock is gone: writes work again
    await storage.close()
    assert ("锁放开以后",) in query(db_path, "SELECT text FROM questions")
    assert count(db_path, "questions") == 31 and storage.dropped == 0


async def test_database_locked_while_opening(
    make: Make, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await (await make(db_path)).close()
    with caplog.at_level(logging.WARNING), exclusive_lock(db_path):
        started = time.perf_counter()
        storage = await make(db_path, reconnect_interval=0.0)
        assert time.perf_counter() - started < 2  # the busy timeout, not a hang
        assert not storage.available
    await storage.log_question(record())
    await storage.close()
    assert count(db_path, "questions") == 1
    assert warnings_about(caplog, "locked") == 1


async def test_locked_while_migrating_retries_later(make: Make, db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    sqlite3.connect(db_path).close()
    with exclusive_lock(db_path):
        storage = await make(db_path, reconnect_interval=0.0)
        assert not storage.available
    await storage.log_question(record())
    await storage.close()
    assert storage.available is False  # closed
    assert count(db_path, "questions") == 1


async def test_full_disk(make: Make, db_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    storage = await make(db_path)
    writer = storage._writer
    assert writer is not None
    pages = next(iter(await writer.execute_fetchall("PRAGMA page_count")))[0]
    await writer.execute(f"PRAGMA max_page_count = {pages}")
    with caplog.at_level(logging.WARNING):
        for number in range(50):
            assert await storage.log_question(record(f"{number}" + "长" * 900)) is not None
        await storage.flush()
    assert warnings_about(caplog, "disk full") == 1
    assert storage.retrying > 0  # tried again later; given up after the last try


async def test_not_a_database(
    make: Make, db_path: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"this is not a database " * 100)
    with caplog.at_level(logging.WARNING):
        storage = await make(db_path)
        await exercise(storage, tiny_faq(tmp_path))
    assert not storage.available
    assert warnings_about(caplog, "corrupt") == 1


async def test_full_queue_drops_without_waiting(
    make: Make, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    storage = await make(db_path, queue_size=5)
    with caplog.at_level(logging.WARNING), exclusive_lock(db_path):
        ids = [await storage.log_question(record()) for _ in range(50)]
        assert None in ids
        await storage.flush()
    assert warnings_about(caplog, "queue full") == 1


# -- nothing memory-mapped: a failing file is an error, never a SIGBUS ---------------------


def leave_in_wal_mode(path: Path) -> None:
    """A database as a WAL-mode process leaves it when killed: -wal and -shm beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    code = (
        "import os, sqlite3, sys; db = sqlite3.connect(sys.argv[1]); "
        "db.execute('PRAGMA journal_mode = WAL'); db.execute('CREATE TABLE old (x)'); "
        "db.execute('INSERT INTO old VALUES (1)'); db.commit(); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", code, str(path)], check=True)
    assert path.with_name(path.name + "-shm").exists()


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux /proc")
async def test_no_file_of_the_database_is_memory_mapped(make: Make, db_path: Path) -> None:
    leave_in_wal_mode(db_path)
    storage = await make(db_path)
    await storage.log_question(record())
    await storage.flush()
    assert (await storage.stats(7)).questions == 1
    mapped = Path("/proc/self/maps").read_text()
    assert str(db_path.parent) not in mapped
    assert db_path.read_bytes()[18:20] == b"\x01\x01"  # left WAL for a rollback journal
    assert query(db_path, "SELECT x FROM old") == [(1,)]  # the WAL's content was kept


async def test_a_database_another_process_holds_in_wal_mode_is_not_used(
    make: Make, db_path: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Leaving WAL needs the database to itself; until then storage is off, and says why."""
    leave_in_wal_mode(db_path)
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN")
    holder.execute("SELECT * FROM old").fetchall()  # a read transaction in WAL mode
    try:
        with caplog.at_level(logging.WARNING):
            storage = await make(db_path)
            assert not storage.available
            await exercise(storage, tiny_faq(tmp_path))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert warnings_about(caplog, "locked") == 1
