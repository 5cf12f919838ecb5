"""The SQL that reads the admin figures (/stats, /unanswered, the inline top entries) and
turns rows into ``Stats``."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from bot.storage.sqlite.schema import stamp
from bot.storage.stats import BEIJING_HOURS, EntryFigures, Stats

Read = Callable[[str, tuple[Any, ...], str], Awaitable[list[sqlite3.Row] | None]]
"""Rows of a query with its parameters (the third argument says what is being read), or None
when they cannot be read."""

UNANSWERED_SCAN = 2000
"""At most this many recent unanswered questions are read to build the groups."""
UNANSWERED = (
    "SELECT q.id, q.at, q.text, q.normalized, EXISTS (SELECT 1 FROM choices AS c "
    " WHERE c.question_id = q.id AND c.entry_id IS NULL) AS none_of_these "
    "FROM questions AS q WHERE q.at >= ? AND (q.decision = 'fallback' OR EXISTS ("
    " SELECT 1 FROM choices AS c WHERE c.question_id = q.id AND c.entry_id IS NULL)) "
    "ORDER BY q.at DESC, q.id DESC LIMIT ?"
)
"""Fallback and "none of these" questions since a moment, newest first."""
TOP_ENTRIES = (
    "SELECT entry_id, count(*) AS n FROM ("
    " SELECT entry_id FROM questions WHERE decision = 'answer' AND entry_id IS NOT NULL"
    " UNION ALL SELECT entry_id FROM choices WHERE entry_id IS NOT NULL"
    ") GROUP BY entry_id ORDER BY n DESC, entry_id LIMIT ?"
)
"""The most served entries (answers and picks)."""


async def read_stats(
    read: Read, days: int, since: dt.datetime, now: dt.datetime, health: dict[str, Any]
) -> Stats | None:
    """The /stats figures since *since*; None when the totals cannot be read."""
    after = (stamp(since),)
    doing = "reading the figures"
    totals = await read(
        "SELECT total(decision != 'small_talk'), total(decision = 'answer'), "
        "total(decision = 'suggest'), total(decision = 'fallback'), count(DISTINCT user_hash), "
        "total(private != ''), total(decision = 'small_talk') FROM questions WHERE at >= ?",
        after,
        doing,
    )
    answers = await read(
        "SELECT entry_id, count(*) FROM questions WHERE at >= ? AND decision = 'answer' "
        "AND entry_id IS NOT NULL GROUP BY entry_id",
        after,
        doing,
    )
    choices = await read(
        "SELECT entry_id, count(*) FROM choices WHERE at >= ? GROUP BY entry_id", after, doing
    )
    votes = await read(
        "SELECT entry_id, total(vote > 0), total(vote < 0) FROM votes WHERE at >= ? "
        "GROUP BY entry_id",
        after,
        doing,
    )
    hours = await read(
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
    count, answered, suggested, fallback, users, private, small_talk = totals[0]
    return Stats(
        days=days,
        since=since,
        until=now,
        questions=int(count),
        answered=int(answered),
        suggested=int(suggested),
        fallback=int(fallback),
        small_talk=int(small_talk),
        users=int(users),
        none_of_these=none_of_these,
        private=int(private),
        entries=tuple(entries),
        hours=tuple((int(hour), int(n)) for hour, n in hours or ()),
        **health,
    )
