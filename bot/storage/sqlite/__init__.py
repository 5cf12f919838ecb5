"""SQLite storage through aiosqlite: question log, feedback, admin actions and image cache.

Writes go through a bounded queue flushed by one background task, so a reply never waits for
the disk; ``close()`` flushes what is pending. Every public method catches storage faults
(missing folder, locked, read-only, full disk...), logs each kind once and carries on. Nothing
is memory-mapped (a rollback journal, not WAL; no mmap I/O), so a damaged or vanished file is
an error here, never a signal that kills the process.

``schema`` holds the tables and their migrations, ``writer`` the store and its write queue,
``queries`` what the admin figures read, ``faults`` how failures are named and logged.
"""

from bot.storage.sqlite.faults import fault_kind
from bot.storage.sqlite.schema import MIGRATIONS, SCHEMA_VERSION
from bot.storage.sqlite.writer import SqliteStorage

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SqliteStorage", "fault_kind"]
