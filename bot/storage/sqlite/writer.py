"""The SQLite store: its connections, the write queue and its retries, and the Storage methods.

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
import hashlib
import hmac
import logging
import os
import secrets
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import aiosqlite

from bot.core.privacy import PLACEHOLDERS, redact
from bot.core.text import normalize
from bot.storage.base import QuestionRecord
from bot.storage.sqlite.faults import (
    RECONNECT_KINDS,
    STORE_KINDS,
    TRANSIENT,
    FaultLog,
)
from bot.storage.sqlite.queries import TOP_ENTRIES, UNANSWERED, UNANSWERED_SCAN, read_stats
from bot.storage.sqlite.schema import (
    SCHEMA_VERSION,
    migrate,
    new_id,
    parse_stamp,
    quick_check,
    set_pragmas,
    stamp,
)
from bot.storage.stats import Group, Stats, UnansweredQuestion, group_questions

if TYPE_CHECKING:
    from bot.storage.base import Storage

log = logging.getLogger("bot.storage.sqlite")  # one logger name for the whole store

MAX_TEXT_CHARS = 1000
TOP_ENTRIES_TTL = 60.0
DROPPED_LOG_SECONDS = 60.0
"""Writes given up on are logged at most this often (each report counts what came since)."""

_Statement = tuple[str, tuple[Any, ...]]
_Op = tuple[_Statement, ...]


@dataclass(slots=True)
class _Item:
    """A queued write and how often it was tried."""

    op: _Op
    tries: int = 0


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
        self._fault_log = FaultLog()
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
        return dict(self._fault_log.counts)

    @property
    def retrying(self) -> int:
        """Writes waiting for their next try."""
        return sum(len(items) for _, items in self._later.values())

    def _fault(self, kind: str, doing: str, detail: str = "") -> None:
        self._fault_log.fault(kind, doing, detail)

    def _error(self, error: BaseException, doing: str) -> str:
        return self._fault_log.error(error, doing)

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
        recovering = bool(self._fault_log.counts)
        try:
            writer = await self._open_connection()
            await writer.create_function("esscard_rekey", 1, self._rekey, deterministic=True)
            await set_pragmas(writer)
            await self._migrate(writer)
            if recovering:
                await quick_check(writer)
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

    async def _migrate(self, db: aiosqlite.Connection) -> None:
        """Bring the schema up to date; a newer one is a fault, and the salt of schema 1-2 goes."""
        version = await migrate(db)
        if version > SCHEMA_VERSION:
            self._fault("newer schema", "opening the database", f"user_version {version}")
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
            if kind != TRANSIENT:
                break
        if kind in RECONNECT_KINDS:
            await self._disconnect()
        if kind in STORE_KINDS or len(batch) == 1:
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
        if last or kind not in STORE_KINDS:
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
        cutoff = (stamp(self._now() - dt.timedelta(days=self.retention_days)),)
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
        """Queue a question; return its id at once (None if it cannot be queued).

        The use case has redacted the record already (``service.read_question``); redacting
        again here is the last safety net before the disk, for a record that came another way,
        and costs next to nothing on text with no digits left."""
        try:
            text = redact(record.text[:MAX_TEXT_CHARS])
            normalized = redact(record.normalized[:MAX_TEXT_CHARS])
            kinds = set(text.kinds | normalized.kinds)
            kinds.update(k for k, mark in PLACEHOLDERS.items() if mark in record.text)
            question_id = new_id()
            op: _Op = (
                (
                    "INSERT INTO questions (id, at, chat_type, user_hash, text, normalized, "
                    "decision, entry_id, score, private) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        question_id,
                        stamp(record.at or self._now()),
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
                            stamp(self._now()),
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
                            stamp(self._now()),
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
                            stamp(self._now()),
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
                        (path, digest, file_id, stamp(self._now())),
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
        rows = await self._read(TOP_ENTRIES, (max(limit, 0),), "reading the top entries")
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
            stats = await read_stats(self._read, days, since, now, self._health())
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

    async def unanswered(self, limit: int = 10, *, days: int | None = None) -> list[Group] | None:
        """Fallback and "none of these" questions, similar ones grouped, newest group first;
        None when they cannot be read."""
        await self.flush(2.0)
        since = stamp(self._now() - dt.timedelta(days=days)) if days else ""
        rows = await self._read(
            UNANSWERED, (since, UNANSWERED_SCAN), "reading unanswered questions"
        )
        if rows is None:
            return None
        if not rows:
            return []
        try:
            questions = [
                UnansweredQuestion(int(i), parse_stamp(at), text, normalized, bool(none))
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
