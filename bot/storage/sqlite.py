"""SQLite storage through aiosqlite: question log, feedback, admin actions and image cache.

Writes go through a bounded queue flushed by one background task, so a reply never waits for
the disk; ``close()`` flushes what is pending. Every public method catches storage faults
(missing folder, locked, read-only, full disk...), logs each kind once and carries on. Nothing
is memory-mapped (a rollback journal, not WAL; no mmap I/O), so a damaged or vanished file is
an error here, never a signal that kills the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import errno
import hashlib
import hmac
import logging
import os
import secrets
import sqlite3
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import aiosqlite

from bot.core.privacy import PLACEHOLDERS, redact
from bot.core.text import normalize
from bot.storage.base import QuestionRecord
from bot.storage.stats import (
    BEIJING_HOURS,
    EntryFigures,
    Group,
    Stats,
    UnansweredQuestion,
    group_questions,
)

if TYPE_CHECKING:
    from bot.storage.base import Storage

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 1000
UNANSWERED_SCAN = 2000
"""At most this many recent unanswered questions are read to build the groups."""
RELOG_SECONDS = 3600.0
"""A fault kind already logged is logged again only after this long."""
TOP_ENTRIES_TTL = 60.0
DROPPED_LOG_SECONDS = 60.0
"""Writes given up on are logged at most this often (each report counts what came since)."""
_TRANSIENT = "locked"
_RECONNECT_KINDS = frozenset({"cannot open", "I/O error", "corrupt", "closed"})
_STORE_KINDS = (
    frozenset({_TRANSIENT, "read-only", "disk full", "file system", "unavailable"})
    | _RECONNECT_KINDS
)
"""Faults of the store, not of a record: the write is tried again later."""

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

_Statement = tuple[str, tuple[Any, ...]]
_Op = tuple[_Statement, ...]


@dataclass(slots=True)
class _Item:
    """A queued write and how often it was tried."""

    op: _Op
    tries: int = 0


_last_id = 0


def _new_id() -> int:
    """A question id: microseconds since the epoch, strictly increasing in this process."""
    global _last_id
    _last_id = max(_last_id + 1, time.time_ns() // 1000)
    return _last_id


def _stamp(moment: dt.datetime) -> str:
    """A moment as stored: naive UTC ISO 8601 with microseconds, so text order is time order."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds")


def _moment(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def fault_kind(error: BaseException) -> str:
    """A short name for what went wrong, used to log each kind of fault once."""
    name = str(getattr(error, "sqlite_errorname", "") or "")
    text = str(error).lower()
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return "disk full"
    if isinstance(error, OSError):
        return "file system"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text or "busy" in text:
        return _TRANSIENT
    if name.startswith("SQLITE_READONLY") or "readonly" in text or "read-only" in text:
        return "read-only"
    if name == "SQLITE_FULL" or "full" in text:
        return "disk full"
    if name.startswith("SQLITE_CANTOPEN") or "unable to open" in text:
        return "cannot open"
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in text:
        return "corrupt"
    if "not a database" in text:
        return "corrupt"
    if name.startswith("SQLITE_IOERR") or "disk i/o" in text:
        return "I/O error"
    if isinstance(error, ValueError) and ("closed" in text or "no active connection" in text):
        return "closed"
    return type(error).__name__


class SqliteStorage:
    """The bot's ``Storage`` in one SQLite file (or a ``file:`` URI, or ``:memory:``)."""

    def __init__(
        self,
        path: Path | str,
        *,
        retention_days: int = 180,
        key: bytes | None = None,
        busy_timeout: float = 5.0,
        queue_size: int = 10_000,
        batch_size: int = 200,
        retry_delays: Sequence[float] = (0.2, 1.0, 3.0),
        retry_later: Sequence[float] = (2.0, 10.0, 30.0, 60.0, 120.0),
        reconnect_interval: float = 30.0,
        prune_interval: float = 86_400.0,
        close_timeout: float = 10.0,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        raw = str(path)
        self.target = raw
        self.uri = raw.startswith("file:")
        query = raw.partition("?")[2]
        self.memory = raw == ":memory:" or (self.uri and "mode=memory" in query)
        file_part = unquote(raw[5:].partition("?")[0]) if self.uri else raw
        self.file: Path | None = None if self.memory or not file_part else Path(file_part)
        self.legacy_salt = Path(f"{self.file}.salt") if self.file else None
        """Where versions before schema 3 kept their salt, removed once keyed again."""
        self.retention_days = retention_days
        self.busy_timeout = busy_timeout
        self.queue_size = queue_size
        self.batch_size = batch_size
        self.retry_delays = tuple(retry_delays)
        self.retry_later = tuple(retry_later)
        """Seconds before each later try of a write that failed; then it is given up."""
        self.reconnect_interval = reconnect_interval
        self.prune_interval = prune_interval
        self.close_timeout = close_timeout
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._queue: asyncio.Queue[_Item] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._key = key or secrets.token_bytes(32)
        self._images: dict[str, dict[str, str]] = {}
        self._top: tuple[float, int, list[str]] = (-TOP_ENTRIES_TTL, 0, [])
        self._last_connect = -float("inf")
        self._closing = False
        self._faults: Counter[str] = Counter()
        self._logged: dict[str, float] = {}
        self._suppressed: Counter[str] = Counter()
        self._later: dict[int, tuple[asyncio.TimerHandle, list[_Item]]] = {}
        self._later_ids = 0
        self._identity: tuple[int, int] | None = None
        self._reopening = asyncio.Lock()
        self._read_problem = ""
        self._dropped_logged = -float("inf")
        self._dropped_unlogged = 0
        self.dropped = 0
        """Writes given up on (after their tries, a full queue, or unsaved at close)."""
        self.replaced = 0
        """Times the database file was deleted or replaced under the running bot."""
        self.replaced_at: dt.datetime | None = None

    # -- state and faults ------------------------------------------------------------------

    @property
    def available(self) -> bool:
        """Whether the database is open and migrated."""
        return self._writer is not None

    @property
    def faults(self) -> dict[str, int]:
        """Storage faults since start, by kind."""
        return dict(self._faults)

    @property
    def retrying(self) -> int:
        """Writes waiting for their next try."""
        return sum(len(items) for _, items in self._later.values())

    def _fault(self, kind: str, doing: str, detail: str = "") -> None:
        """Count a fault; log its kind once (again after ``RELOG_SECONDS``), not every time."""
        self._faults[kind] += 1
        now = time.monotonic()
        last = self._logged.get(kind)
        if last is not None and now - last < RELOG_SECONDS:
            self._suppressed[kind] += 1
            return
        self._logged[kind] = now
        repeats = self._suppressed.pop(kind, 0)
        since = f" ({repeats} more since the last report)" if repeats else ""
        log.warning(
            "Storage problem (%s) while %s%s%s. The bot keeps answering; further %r problems "
            "are counted, not logged.",
            kind,
            doing,
            f": {detail}" if detail else "",
            since,
            kind,
        )

    def _error(self, error: BaseException, doing: str) -> str:
        kind = fault_kind(error)
        self._fault(kind, doing, f"{type(error).__name__}: {error}")
        return kind

    def _now(self) -> dt.datetime:
        return self._clock()

    # -- opening and closing ---------------------------------------------------------------

    async def open(self) -> None:
        """Create the folder and database, migrate, prune, and start the background writer."""
        if self._queue is not None:
            return
        self._queue = asyncio.Queue(self.queue_size)
        await self._connect()
        self._tasks = [
            asyncio.create_task(self._write_loop(), name="storage-writer"),
            asyncio.create_task(self._prune_loop(), name="storage-prune"),
        ]

    async def close(self) -> None:
        """Flush pending writes (up to ``close_timeout``) and close the database."""
        if self._closing:
            return
        self._closing = True
        if self._queue is not None and not await self.flush(self.close_timeout):
            pending = self._queue.qsize()
            self.dropped += pending
            log.warning("Storage closed with %d write(s) not saved.", pending)
        waiting = [item for _, items in self._later.values() for item in items]
        for handle, _ in self._later.values():
            handle.cancel()
        self._later.clear()
        if waiting:
            try:
                await asyncio.wait_for(self._write(waiting, last=True), self.close_timeout)
            except Exception as error:
                self._error(error, "saving the writes waiting for a retry")
                self._drop(waiting, "closed")
        if self._dropped_unlogged:
            self._log_dropped("since the last such line")
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        await self._disconnect()

    async def flush(self, timeout: float | None = 5.0) -> bool:
        """Wait until every queued write is saved or dropped; False on timeout."""
        writer = self._tasks[0] if self._tasks else None
        if self._queue is None or writer is None or writer.done():
            return self._queue is None or self._queue.empty()
        try:
            await asyncio.wait_for(self._queue.join(), timeout)
        except TimeoutError:
            return False
        return True

    async def _connect(self) -> bool:
        """Open, set up and migrate the database; False (fault logged) if it cannot be used."""
        self._last_connect = time.monotonic()
        if self.file is not None:
            try:
                self.file.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                self._error(error, "creating the database folder")
                return False
        writer = reader = None
        recovering = bool(self._faults)
        try:
            writer = await self._open_connection()
            await writer.create_function("esscard_rekey", 1, self._rekey, deterministic=True)
            await self._pragmas(writer)
            await self._migrate(writer)
            if recovering:
                await self._quick_check(writer)
            if self.memory:
                reader = writer
            else:
                reader = await self._open_connection()
                await reader.execute("PRAGMA mmap_size = 0")
                await reader.execute("PRAGMA query_only = ON")
            await self._load_images(reader)
        except Exception as error:
            self._error(error, "opening the database")
            for connection in {writer, reader} - {None}:
                assert connection is not None
                with contextlib.suppress(Exception):
                    await connection.close()
            return False
        self._writer, self._reader = writer, reader
        self._identity = self._file_identity()
        try:
            await self._run([self._prune_op()])
        except Exception as error:
            self._error(error, "pruning old questions")
        else:
            if recovering:  # it was read and written just now: say so, not before
                log.info("Storage is working: %s", self.target)
        return True

    @staticmethod
    async def _quick_check(db: aiosqlite.Connection) -> None:
        """After a fault, a file that opens may still be corrupt inside: check its pages."""
        rows = list(await db.execute_fetchall("PRAGMA quick_check(1)"))
        result = str(rows[0][0]) if rows else "no answer"
        if result != "ok":
            raise sqlite3.DatabaseError(f"database disk image is malformed: {result}")

    def _file_identity(self) -> tuple[int, int] | None:
        if self.file is None:
            return None
        try:
            info = os.stat(self.file)
        except OSError:
            return None
        return info.st_dev, info.st_ino

    async def _check_file(self) -> None:
        """Reopen (recreating it if need be) when the database file was deleted or replaced
        under the open connections, which would otherwise go on using the old file."""
        if self._reopening.locked():  # being reopened: wait for it
            async with self._reopening:
                return
        if self._identity is None or self._writer is None or self.file is None:
            return
        what = self._file_changed()
        if what is None:
            return
        async with self._reopening:  # the writer and a reader may both notice
            if self._writer is None or self._file_changed() is None:
                return
            await self._reopen(what)

    def _file_changed(self) -> str | None:
        """How the file at the database's path is no longer the one open (None: it is)."""
        assert self.file is not None
        try:
            info = os.stat(self.file)
        except FileNotFoundError:
            return "was deleted (with its folder?)"
        except OSError:
            return None  # cannot tell; SQLite's own errors will say what is wrong
        if (info.st_dev, info.st_ino) == self._identity:
            return None
        return "was replaced by another file"

    async def _reopen(self, what: str) -> None:
        self.replaced += 1
        self.replaced_at = self._now()
        log.error(
            "The database file %s %s while the bot was running. Opening it again (a new, "
            "empty one if it is gone): questions saved before are not in it. /stats says so.",
            self.file,
            what,
        )
        await self._disconnect()
        await self._connect()

    async def _open_connection(self) -> aiosqlite.Connection:
        return await aiosqlite.connect(
            self.target, uri=self.uri, timeout=self.busy_timeout, isolation_level=None
        )

    async def _pragmas(self, db: aiosqlite.Connection) -> None:
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

    async def _migrate(self, db: aiosqlite.Connection) -> None:
        """Run the migrations the database lacks, all in one transaction."""
        version = await self._user_version(db)
        if version >= SCHEMA_VERSION:
            if version > SCHEMA_VERSION:
                self._fault("newer schema", "opening the database", f"user_version {version}")
            return
        await db.execute("BEGIN IMMEDIATE")
        try:
            version = await self._user_version(db)
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
        if version < 3:
            self._remove_legacy_salt()

    def _remove_legacy_salt(self) -> None:
        """Overwrite and delete the salt file of schema 1-2: the hashes no longer need it."""
        path = self.legacy_salt
        if path is None or not path.is_file():
            return
        try:
            size = path.stat().st_size
            with path.open("r+b") as file:
                file.write(b"\0" * size)
            path.unlink()
        except OSError as error:
            log.warning(
                "Could not delete the old salt file %s (%s); stored ids no longer depend on it, "
                "so delete it by hand.",
                path,
                error,
            )
        else:
            log.info("Deleted the old salt file %s: user ids are keyed with the hash key.", path)

    @staticmethod
    async def _user_version(db: aiosqlite.Connection) -> int:
        rows = list(await db.execute_fetchall("PRAGMA user_version"))
        return int(rows[0][0])

    async def _load_images(self, db: aiosqlite.Connection) -> None:
        rows = await db.execute_fetchall("SELECT path, digest, file_id FROM images ORDER BY at")
        for path, digest, file_id in rows:
            self._images.setdefault(digest, {}).setdefault(path, file_id)

    async def _disconnect(self) -> None:
        writer, reader = self._writer, self._reader
        self._writer = self._reader = None
        for connection in {writer, reader} - {None}:
            assert connection is not None
            try:
                await connection.close()
            except Exception as error:
                self._error(error, "closing the database")

    # -- the write queue -------------------------------------------------------------------

    def _enqueue(self, op: _Op) -> bool:
        if self._queue is None or self._closing:
            self._fault("closed" if self._closing else "not open", "queueing a write")
            return False
        try:
            self._queue.put_nowait(_Item(op))
        except asyncio.QueueFull:
            self._fault("queue full", "queueing a write", f"{self.queue_size} writes waiting")
            self._drop([_Item(op)], "queue full")
            return False
        return True

    async def _write_loop(self) -> None:
        assert self._queue is not None
        queue = self._queue
        while True:
            batch = [await queue.get()]
            while len(batch) < self.batch_size:
                try:
                    batch.append(queue.get_nowait())
                except asyncio.QueueEmpty:
                    break
            try:
                await self._write(batch)
            except Exception as error:  # never let the writer die
                self._error(error, "writing")
                self._drop(batch, type(error).__name__)
            finally:
                for _ in batch:
                    queue.task_done()

    async def _write(self, batch: list[_Item], *, last: bool = False) -> None:
        """Save a batch in one transaction, trying again at once while locked; what the store
        refuses is tried again later (a bounded number of times), a bad record is dropped."""
        await self._check_file()
        retried = last or any(item.tries for item in batch)
        if self._writer is None and not await self._reconnect(now=retried):
            self._fault("unavailable", "saving", f"{len(batch)} write(s) to be tried again")
            self._later_or_drop(batch, "unavailable", last)
            return
        kind = ""
        for delay in (0.0, *self.retry_delays):
            if delay:
                await asyncio.sleep(delay)
            try:
                await self._run([item.op for item in batch])
                return
            except Exception as error:
                kind = self._error(error, f"saving {len(batch)} record(s)")
            if kind != _TRANSIENT:
                break
        if kind in _RECONNECT_KINDS:
            await self._disconnect()
        if kind in _STORE_KINDS or len(batch) == 1:
            self._later_or_drop(batch, kind, last)
            return
        for item in batch:  # one bad record must not cost the others
            try:
                await self._run([item.op])
            except Exception as error:
                self._later_or_drop([item], self._error(error, "saving a record"), last)

    def _later_or_drop(self, items: list[_Item], kind: str, last: bool) -> None:
        """Schedule *items* for their next try, or give up on them: after their last try, at
        close, when the record itself is bad, or beyond ``queue_size`` waiting."""
        if last or kind not in _STORE_KINDS:
            self._drop(items, kind)
            return
        groups: defaultdict[int, list[_Item]] = defaultdict(list)
        room = self.queue_size - self.retrying
        for item in items:
            item.tries += 1
            if item.tries > len(self.retry_later) or room <= 0:
                self._drop([item], kind)
            else:
                groups[item.tries].append(item)
                room -= 1
        loop = asyncio.get_running_loop()
        for tries, group in groups.items():
            self._later_ids += 1
            key = self._later_ids
            handle = loop.call_later(self.retry_later[tries - 1], self._requeue, key)
            self._later[key] = (handle, group)

    def _requeue(self, key: int) -> None:
        """Put writes whose retry time has come back into the queue."""
        _, items = self._later.pop(key, (None, []))
        for item in items:
            try:
                if self._queue is None:
                    raise asyncio.QueueFull
                self._queue.put_nowait(item)
            except asyncio.QueueFull:
                self._drop([item], "queue full")

    def _drop(self, items: list[_Item], kind: str) -> None:
        """Give up on *items*: count them, and log it (at most every DROPPED_LOG_SECONDS)."""
        self.dropped += len(items)
        self._dropped_unlogged += len(items)
        if time.monotonic() - self._dropped_logged >= DROPPED_LOG_SECONDS:
            tries = max((item.tries for item in items), default=0) + 1
            self._log_dropped(f"{kind}, {tries} {'try' if tries == 1 else 'tries'}")

    def _log_dropped(self, why: str) -> None:
        self._dropped_logged = time.monotonic()
        log.warning(
            "Storage gave up on %d write(s) (%s); %d given up since the bot started. "
            "/stats shows the count.",
            self._dropped_unlogged,
            why,
            self.dropped,
        )
        self._dropped_unlogged = 0

    async def _reconnect(self, *, now: bool = False) -> bool:
        """Open the database again, at most every ``reconnect_interval`` unless *now*."""
        if not now and time.monotonic() - self._last_connect < self.reconnect_interval:
            return False
        return await self._connect()

    async def _run(self, batch: Sequence[_Op]) -> None:
        db = self._writer
        if db is None:
            raise ValueError("the database is closed")
        await db.execute("BEGIN IMMEDIATE")
        try:
            for op in batch:
                for sql, parameters in op:
                    await db.execute(sql, parameters)
            await db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(Exception):
                await db.execute("ROLLBACK")
            raise

    # -- retention -------------------------------------------------------------------------

    def _prune_op(self) -> _Op:
        cutoff = (_stamp(self._now() - dt.timedelta(days=self.retention_days)),)
        return (
            ("DELETE FROM questions WHERE at < ?", cutoff),
            ("DELETE FROM votes WHERE at < ?", cutoff),
            ("DELETE FROM choices WHERE at < ?", cutoff),
        )

    async def prune(self) -> None:
        """Delete questions, votes and choices older than ``retention_days`` now."""
        try:
            if self._enqueue(self._prune_op()):
                await self.flush()
        except Exception as error:
            self._error(error, "pruning old questions")

    async def _prune_loop(self) -> None:
        while True:
            await asyncio.sleep(self.prune_interval)
            self._enqueue(self._prune_op())

    # -- the Storage protocol --------------------------------------------------------------

    def _hash(self, label: bytes, value: str) -> str:
        return hmac.new(self._key, label + value.encode(), hashlib.sha256).hexdigest()

    def user_hash(self, user_id: int | None) -> str | None:
        """HMAC-SHA256 of a Telegram user id with the hash key (kept outside the data folder)."""
        if user_id is None:
            return None
        return self._hash(b"user:", str(user_id))

    def _rekey(self, old: str | None) -> str | None:
        """A user hash of schema 1-2 (salted beside the database), keyed with the hash key."""
        return None if old is None else self._hash(b"legacy:", str(old))

    async def log_question(self, record: QuestionRecord) -> int | None:
        """Queue a question; return its id at once (None if it cannot be queued)."""
        try:
            text = redact(record.text[:MAX_TEXT_CHARS])
            normalized = redact(record.normalized[:MAX_TEXT_CHARS])
            kinds = set(text.kinds | normalized.kinds)
            kinds.update(k for k, mark in PLACEHOLDERS.items() if mark in record.text)
            question_id = _new_id()
            op: _Op = (
                (
                    "INSERT INTO questions (id, at, chat_type, user_hash, text, normalized, "
                    "decision, entry_id, score, private) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        question_id,
                        _stamp(record.at or self._now()),
                        record.chat_type[:32],
                        self.user_hash(record.user_id),
                        text.text,
                        normalize(normalized.text) if normalized.found else normalized.text,
                        str(record.decision),
                        record.entry_id,
                        round(float(record.score), 4),
                        ",".join(k for k in PLACEHOLDERS if k in kinds),
                    ),
                ),
            )
            return question_id if self._enqueue(op) else None
        except Exception as error:
            self._error(error, "logging a question")
            return None

    def _message_hash(self, message: tuple[int, int] | None) -> str | None:
        """A chat's message as stored: keyed like user ids (a private chat's id is its user's)."""
        if message is None:
            return None
        chat_id, message_id = message
        return self._hash(b"message:", f"{int(chat_id)}:{int(message_id)}")

    async def record_vote(
        self,
        question_id: int | None,
        entry_id: str,
        vote: int,
        *,
        voter: int | None = None,
        message: tuple[int, int] | None = None,
    ) -> None:
        """A 👍 (+1) or 👎 (-1); the same voter's later vote on the same message replaces it."""
        if not vote:
            return
        try:
            self._enqueue(
                (
                    (
                        "INSERT INTO votes (question_id, entry_id, vote, at, message, voter) "
                        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (message, voter) DO UPDATE SET "
                        "entry_id = excluded.entry_id, vote = excluded.vote, at = excluded.at",
                        (
                            question_id,
                            entry_id,
                            1 if vote > 0 else -1,
                            _stamp(self._now()),
                            self._message_hash(message),
                            self.user_hash(voter),
                        ),
                    ),
                )
            )
        except Exception as error:
            self._error(error, "recording a vote")

    async def record_choice(
        self,
        question_id: int | None,
        entry_id: str | None,
        *,
        voter: int | None = None,
        message: tuple[int, int] | None = None,
    ) -> None:
        """A "did you mean" choice, once per voter, message and entry; ``entry_id`` None means
        "none of these"."""
        try:
            self._enqueue(
                (
                    (
                        "INSERT OR IGNORE INTO choices "
                        "(question_id, entry_id, at, message, voter) VALUES (?, ?, ?, ?, ?)",
                        (
                            question_id,
                            entry_id,
                            _stamp(self._now()),
                            self._message_hash(message),
                            self.user_hash(voter),
                        ),
                    ),
                )
            )
        except Exception as error:
            self._error(error, "recording a choice")

    async def record_admin_action(self, admin_id: int, action: str, detail: str) -> None:
        """An admin's reload or teach, with time and admin id."""
        try:
            self._enqueue(
                (
                    (
                        "INSERT INTO admin_actions (at, admin_id, action, detail) "
                        "VALUES (?, ?, ?, ?)",
                        (
                            _stamp(self._now()),
                            int(admin_id),
                            action[:64],
                            redact(detail[:MAX_TEXT_CHARS]).text,
                        ),
                    ),
                )
            )
        except Exception as error:
            self._error(error, "recording an admin action")

    async def cached_file_id(self, path: str, digest: str) -> str | None:
        """The file_id of an image with this content hash (read from memory, never waits)."""
        known = self._images.get(digest)
        if not known:
            return None
        return known.get(path) or next(iter(known.values()))

    async def cache_file_id(self, path: str, digest: str, file_id: str) -> None:
        """Remember the file_id Telegram gave an uploaded image."""
        try:
            self._images.setdefault(digest, {})[path] = file_id
            self._enqueue(
                (
                    (
                        "INSERT OR REPLACE INTO images (path, digest, file_id, at) "
                        "VALUES (?, ?, ?, ?)",
                        (path, digest, file_id, _stamp(self._now())),
                    ),
                )
            )
        except Exception as error:
            self._error(error, "caching an image file_id")

    async def top_entries(self, limit: int) -> list[str]:
        """Ids of the most served entries (answers and picks), most first; cached a minute."""
        cached_at, cached_limit, ids = self._top
        if time.monotonic() - cached_at < TOP_ENTRIES_TTL and cached_limit >= limit:
            return ids[:limit]
        rows = await self._read(
            "SELECT entry_id, count(*) AS n FROM ("
            " SELECT entry_id FROM questions WHERE decision = 'answer' AND entry_id IS NOT NULL"
            " UNION ALL SELECT entry_id FROM choices WHERE entry_id IS NOT NULL"
            ") GROUP BY entry_id ORDER BY n DESC, entry_id LIMIT ?",
            (max(limit, 0),),
            "reading the top entries",
        )
        if rows is None:
            return ids[:limit]
        ids = [str(row[0]) for row in rows]
        self._top = (time.monotonic(), limit, ids)
        return ids

    # -- admin figures ---------------------------------------------------------------------

    async def _read(
        self, sql: str, parameters: tuple[Any, ...], doing: str
    ) -> list[sqlite3.Row] | None:
        """The rows, or None (the fault counted and kept as ``_read_problem``)."""
        await self._check_file()
        db = self._reader
        if db is None:
            self._fault("unavailable", doing)
            self._read_problem = "unavailable"
            return None
        try:
            return list(await db.execute_fetchall(sql, parameters))
        except Exception as error:
            self._read_problem = self._error(error, doing)
            return None

    def _health(self) -> dict[str, Any]:
        """What /stats says about the storage itself."""
        return {
            "faults": self.faults,
            "dropped": self.dropped,
            "retrying": self.retrying,
            "replaced": self.replaced,
            "replaced_at": self.replaced_at,
        }

    async def stats(self, days: int = 7) -> Stats:
        """The /stats figures over the last *days* days (empty figures when unreadable)."""
        now = self._now()
        since = now - dt.timedelta(days=days)
        await self.flush(2.0)
        self._read_problem = ""
        try:
            stats = await self._stats(days, since, now)
        except Exception as error:
            self._read_problem = self._error(error, "computing the figures")
            stats = None
        if stats is None or self._read_problem:
            problem = self._read_problem or "unavailable"
            return Stats(
                days=days,
                since=since,
                until=now,
                readable=False,
                problem=problem,
                **self._health(),
            )
        return stats

    async def _stats(self, days: int, since: dt.datetime, now: dt.datetime) -> Stats | None:
        after = (_stamp(since),)
        doing = "reading the figures"
        totals = await self._read(
            "SELECT count(*), total(decision = 'answer'), total(decision = 'suggest'), "
            "total(decision = 'fallback'), count(DISTINCT user_hash), total(private != '') "
            "FROM questions WHERE at >= ?",
            after,
            doing,
        )
        answers = await self._read(
            "SELECT entry_id, count(*) FROM questions WHERE at >= ? AND decision = 'answer' "
            "AND entry_id IS NOT NULL GROUP BY entry_id",
            after,
            doing,
        )
        choices = await self._read(
            "SELECT entry_id, count(*) FROM choices WHERE at >= ? GROUP BY entry_id", after, doing
        )
        votes = await self._read(
            "SELECT entry_id, total(vote > 0), total(vote < 0) FROM votes WHERE at >= ? "
            "GROUP BY entry_id",
            after,
            doing,
        )
        hours = await self._read(
            "SELECT CAST(strftime('%H', at, ?) AS INTEGER) AS hour, count(*) AS n "
            "FROM questions WHERE at >= ? GROUP BY hour ORDER BY n DESC, hour",
            (f"{BEIJING_HOURS:+d} hours", *after),
            doing,
        )
        if totals is None:
            return None
        figures: dict[str, dict[str, int]] = {}
        for entry_id, count in answers or ():
            figures.setdefault(entry_id, {})["answers"] = int(count)
        none_of_these = 0
        for entry_id, count in choices or ():
            if entry_id is None:
                none_of_these += int(count)
            else:
                figures.setdefault(entry_id, {})["chosen"] = int(count)
        for entry_id, up, down in votes or ():
            figures.setdefault(entry_id, {}).update(up=int(up), down=int(down))
        entries = sorted(
            (EntryFigures(entry_id, **values) for entry_id, values in figures.items()),
            key=lambda f: (-f.served, -(f.up + f.down), f.entry_id),
        )
        count, answered, suggested, fallback, users, private = totals[0]
        return Stats(
            days=days,
            since=since,
            until=now,
            questions=int(count),
            answered=int(answered),
            suggested=int(suggested),
            fallback=int(fallback),
            users=int(users),
            none_of_these=none_of_these,
            private=int(private),
            entries=tuple(entries),
            hours=tuple((int(hour), int(n)) for hour, n in hours or ()),
            **self._health(),
        )

    async def unanswered(self, limit: int = 10, *, days: int | None = None) -> list[Group] | None:
        """Fallback and "none of these" questions, similar ones grouped, newest group first;
        None when they cannot be read."""
        await self.flush(2.0)
        since = _stamp(self._now() - dt.timedelta(days=days)) if days else ""
        rows = await self._read(
            "SELECT q.id, q.at, q.text, q.normalized, EXISTS (SELECT 1 FROM choices AS c "
            " WHERE c.question_id = q.id AND c.entry_id IS NULL) AS none_of_these "
            "FROM questions AS q WHERE q.at >= ? AND (q.decision = 'fallback' OR EXISTS ("
            " SELECT 1 FROM choices AS c WHERE c.question_id = q.id AND c.entry_id IS NULL)) "
            "ORDER BY q.at DESC, q.id DESC LIMIT ?",
            (since, UNANSWERED_SCAN),
            "reading unanswered questions",
        )
        if rows is None:
            return None
        if not rows:
            return []
        try:
            questions = [
                UnansweredQuestion(int(i), _moment(at), text, normalized, bool(none))
                for i, at, text, normalized, none in rows
            ]
            return group_questions(questions)[: max(limit, 0)]
        except Exception as error:
            self._error(error, "grouping unanswered questions")
            return None


if TYPE_CHECKING:

    def _conforms(storage: SqliteStorage) -> Storage:
        """mypy checks here that SqliteStorage implements the Storage protocol."""
        return storage
