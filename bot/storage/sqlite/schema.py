"""The SQLite schema: its migrations, how times and ids are stored, and connection set-up."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import sqlite3
import time

import aiosqlite

from bot.core.privacy import PLACEHOLDERS

log = logging.getLogger("bot.storage.sqlite")  # one logger name for the whole store

_PRIVATE_KINDS = " || ".join(
    f"CASE WHEN text LIKE '%{placeholder}%' THEN '{kind},' ELSE '' END"
    for kind, placeholder in PLACEHOLDERS.items()
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # v1: the tables.
    (
        """CREATE TABLE questions (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            chat_type TEXT NOT NULL,
            user_hash TEXT,
            text TEXT NOT NULL,
            normalized TEXT NOT NULL,
            decision TEXT NOT NULL,
            entry_id TEXT,
            score REAL NOT NULL
        )""",
        "CREATE INDEX questions_at ON questions (at)",
        """CREATE TABLE votes (
            id INTEGER PRIMARY KEY,
            question_id INTEGER UNIQUE,
            entry_id TEXT NOT NULL,
            vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
            at TEXT NOT NULL
        )""",
        """CREATE TABLE choices (
            id INTEGER PRIMARY KEY,
            question_id INTEGER,
            entry_id TEXT,
            at TEXT NOT NULL
        )""",
        """CREATE TABLE admin_actions (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            admin_id INTEGER NOT NULL,
            action TEXT NOT NULL,
            detail TEXT NOT NULL
        )""",
        """CREATE TABLE images (
            path TEXT NOT NULL,
            digest TEXT NOT NULL,
            file_id TEXT NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (path, digest)
        )""",
    ),
    # v2: which kinds of personal data were hidden in a question; indexes for the figures.
    (
        "ALTER TABLE questions ADD COLUMN private TEXT NOT NULL DEFAULT ''",
        f"UPDATE questions SET private = rtrim({_PRIVATE_KINDS}, ',')",
        "CREATE INDEX questions_decision ON questions (decision, at)",
        "CREATE INDEX votes_at ON votes (at)",
        "CREATE INDEX choices_at ON choices (at)",
        "CREATE INDEX choices_question ON choices (question_id)",
        "CREATE INDEX images_digest ON images (digest)",
    ),
    # v3: user hashes keyed with a key kept outside the data folder; those made with the old
    # salt beside the database (reversible from a copy of the folder) are keyed again.
    ("UPDATE questions SET user_hash = esscard_rekey(user_hash) WHERE user_hash IS NOT NULL",),
    # v4: a vote counts once per voter and answer message, a pick once per voter, message and
    # entry (both hashed); before, any press replaced the vote of the question it named.
    (
        """CREATE TABLE votes_v4 (
            id INTEGER PRIMARY KEY,
            question_id INTEGER,
            entry_id TEXT NOT NULL,
            vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
            at TEXT NOT NULL,
            message TEXT,
            voter TEXT
        )""",
        "INSERT INTO votes_v4 (id, question_id, entry_id, vote, at) "
        "SELECT id, question_id, entry_id, vote, at FROM votes",
        "DROP TABLE votes",
        "ALTER TABLE votes_v4 RENAME TO votes",
        "CREATE INDEX votes_at ON votes (at)",
        "CREATE UNIQUE INDEX votes_once ON votes (message, voter)",
        "ALTER TABLE choices ADD COLUMN message TEXT",
        "ALTER TABLE choices ADD COLUMN voter TEXT",
        "CREATE UNIQUE INDEX choices_once ON choices (message, voter, ifnull(entry_id, ''))",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


_last_id = 0


def new_id() -> int:
    """A question id: microseconds since the epoch, strictly increasing in this process."""
    global _last_id
    _last_id = max(_last_id + 1, time.time_ns() // 1000)
    return _last_id


def stamp(moment: dt.datetime) -> str:
    """A moment as stored: naive UTC ISO 8601 with microseconds, so text order is time order."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds")


def parse_stamp(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


async def set_pragmas(db: aiosqlite.Connection) -> None:
    """Nothing memory-mapped, so that a file failing under SQLite is an error, not a
    SIGBUS that kills the process (an -shm made immutable or truncated did): no mmap I/O,
    and a rollback journal instead of WAL, whose -shm index is always mapped. A database
    left in WAL is converted in exclusive locking mode, which never maps its -shm."""
    await db.execute("PRAGMA mmap_size = 0")
    await db.execute("PRAGMA locking_mode = EXCLUSIVE")
    try:
        rows = list(await db.execute_fetchall("PRAGMA journal_mode = TRUNCATE"))
    finally:
        await db.execute("PRAGMA locking_mode = NORMAL")
    if rows and str(rows[0][0]).lower() == "wal":
        raise sqlite3.OperationalError(
            "the database cannot leave WAL mode, whose -shm file would be memory-mapped"
        )


async def migrate(db: aiosqlite.Connection) -> int:
    """Run the migrations the database lacks, all in one transaction; the version it had."""
    version = await user_version(db)
    if version >= SCHEMA_VERSION:
        return version
    await db.execute("BEGIN IMMEDIATE")
    try:
        version = await user_version(db)
        for statements in MIGRATIONS[version:]:
            for statement in statements:
                await db.execute(statement)
        # PRAGMA takes no parameters; the value is this module's own constant.
        await db.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
        await db.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(Exception):
            await db.execute("ROLLBACK")
        raise
    if version < SCHEMA_VERSION:
        log.info("Storage schema migrated from version %d to %d", version, SCHEMA_VERSION)
    return version


async def user_version(db: aiosqlite.Connection) -> int:
    rows = list(await db.execute_fetchall("PRAGMA user_version"))
    return int(rows[0][0])


async def quick_check(db: aiosqlite.Connection) -> None:
    """After a fault, a file that opens may still be corrupt inside: check its pages."""
    rows = list(await db.execute_fetchall("PRAGMA quick_check(1)"))
    result = str(rows[0][0]) if rows else "no answer"
    if result != "ok":
        raise sqlite3.DatabaseError(f"database disk image is malformed: {result}")
