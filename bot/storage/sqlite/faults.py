"""Storage faults: what kind each is, which are the store's (tried again) and which a record's,
and logging each kind once instead of every time."""

from __future__ import annotations

import errno
import logging
import time
from collections import Counter

log = logging.getLogger("bot.storage.sqlite")  # one logger name for the whole store

RELOG_SECONDS = 3600.0
"""A fault kind already logged is logged again only after this long."""
TRANSIENT = "locked"
RECONNECT_KINDS = frozenset({"cannot open", "I/O error", "corrupt", "closed"})
STORE_KINDS = (
    frozenset({TRANSIENT, "read-only", "disk full", "file system", "unavailable"})
    | RECONNECT_KINDS
)
"""Faults of the store, not of a record: the write is tried again later."""


def fault_kind(error: BaseException) -> str:
    """A short name for what went wrong, used to log each kind of fault once."""
    name = str(getattr(error, "sqlite_errorname", "") or "")
    text = str(error).lower()
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return "disk full"
    if isinstance(error, OSError):
        return "file system"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text or "busy" in text:
        return TRANSIENT
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


class FaultLog:
    """Faults counted by kind; each kind logged once (again after ``RELOG_SECONDS``)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._logged: dict[str, float] = {}
        self._suppressed: Counter[str] = Counter()

    def fault(self, kind: str, doing: str, detail: str = "") -> None:
        """Count a fault; log its kind once (again after ``RELOG_SECONDS``), not every time."""
        self.counts[kind] += 1
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

    def error(self, error: BaseException, doing: str) -> str:
        kind = fault_kind(error)
        self.fault(kind, doing, f"{type(error).__name__}: {error}")
        return kind
