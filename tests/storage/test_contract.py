"""The storage contract: the same behaviour from the in-memory store and from SQLite."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage.base import QuestionRecord, Storage
from bot.storage.memory import MemoryStorage
from bot.storage.sqlite import SqliteStorage
from tests.storage.conftest import Make
from tests.storage.test_sqlite import NOW, record


@pytest.fixture(params=["memory", "sqlite"])
async def store(
    request: pytest.FixtureRequest, make: Make, db_path: Path
) -> AsyncIterator[Storage]:
    """An opened store whose clock says NOW: in memory, or on a real SQLite file."""
    if request.param == "sqlite":
        yield await make(db_path, clock=lambda: NOW)
        return
    memory = MemoryStorage(clock=lambda: NOW)
    await memory.open()
    yield memory
    await memory.close()


async def saved(storage: Storage) -> None:
    """Queued writes saved (SQLite writes in the background; memory at once)."""
    if isinstance(storage, SqliteStorage):
        assert await storage.flush()


def _record(decision: str = "answer", entry_id: str | None = "a") -> QuestionRecord:
    return QuestionRecord("private", 1, "问", "问", decision, entry_id, 1.0)


async def test_file_ids_are_found_by_content(store: Storage) -> None:
    storage = store
    assert await storage.cached_file_id("images/a.png", "d1") is None
    await storage.cache_file_id("images/a.png", "d1", "F1")
    assert await storage.cached_file_id("images/a.png", "d1") == "F1"
    assert await storage.cached_file_id("images/copy.png", "d1") == "F1"
    assert await storage.cached_file_id("images/a.png", "d2") is None
    await storage.cache_file_id("images/a.png", "d1", "F2")
    assert await storage.cached_file_id("images/a.png", "d1") == "F2"


async def test_top_entries(store: Storage) -> None:
    storage = store
    for _ in range(3):
        await storage.log_question(record(entry_id="forgot-card"))
    await storage.log_question(record(entry_id="apply-e-card"))
    suggested = await storage.log_question(record("社保卡", "suggest", None))
    await storage.record_choice(suggested, "apply-e-card")
    await storage.record_choice(suggested, "apply-e-card")
    await storage.log_question(record("公积金", "fallback", None))
    await saved(storage)
    assert await storage.top_entries(5) == ["apply-e-card", "forgot-card"]
    assert await storage.top_entries(1) == ["apply-e-card"]


async def test_top_entries_count_answers_and_choices(store: Storage) -> None:
    storage = store
    for entry_id in ["a", "b", "b"]:
        await storage.log_question(_record(entry_id=entry_id))
    await storage.log_question(_record("fallback", None))
    await storage.log_question(_record("suggest", "c"))
    await storage.record_choice(1, "c")
    await storage.record_choice(1, "c")
    await storage.record_choice(1, "c")
    await storage.record_choice(2, None)
    await saved(storage)
    assert await storage.top_entries(5) == ["c", "b", "a"]
    assert await storage.top_entries(1) == ["c"]
    assert await storage.top_entries(0) == []


async def test_stats_on_a_known_log(store: Storage) -> None:
    storage = store
    hour = dt.timedelta(hours=1)
    log = storage.log_question
    a1 = await log(record(user_id=1, at=NOW - 3 * hour))  # 09:00 UTC = 17:00 Beijing
    a2 = await log(record(user_id=2, at=NOW - 3 * hour))
    await log(record(user_id=1, at=NOW - 2 * hour))  # 18:00 Beijing
    f1 = await log(record("忘带卡", entry_id="forgot-card", user_id=3, at=NOW - 2 * hour))
    s1 = await log(record("社保卡", "suggest", None, user_id=3, at=NOW - 2 * hour))
    s2 = await log(record("卡丢了", "suggest", None, user_id=4, at=NOW - 2 * hour))
    await log(record("公积金", "fallback", None, user_id=4, at=NOW - 30 * hour))
    await log(record("手机[手机号]怎么认证", "fallback", None, user_id=5, at=NOW - 30 * hour))
    await log(record("很久以前", "fallback", None, user_id=6, at=NOW - dt.timedelta(days=10)))
    await storage.record_vote(a1, "apply-e-card", 1, voter=1, message=(1, 10))
    await storage.record_vote(a2, "apply-e-card", 1, voter=2, message=(2, 11))
    await storage.record_vote(a2, "apply-e-card", -1, voter=2, message=(2, 11))
    await storage.record_vote(f1, "forgot-card", -1, voter=3, message=(3, 12))
    await storage.record_choice(s1, "forgot-card")
    await storage.record_choice(s2, None)

    stats = await storage.stats(7)
    assert (stats.questions, stats.answered, stats.suggested, stats.fallback) == (8, 4, 2, 2)
    assert stats.users == 5
    assert stats.none_of_these == 1
    assert stats.private == 1
    assert stats.answer_rate == pytest.approx(0.5)
    assert stats.suggest_rate == pytest.approx(0.25)
    assert stats.fallback_rate == pytest.approx(0.25)
    by_id = {figures.entry_id: figures for figures in stats.entries}
    assert [f.entry_id for f in stats.entries] == ["apply-e-card", "forgot-card"]
    assert (by_id["apply-e-card"].answers, by_id["apply-e-card"].chosen) == (3, 0)
    assert (by_id["apply-e-card"].up, by_id["apply-e-card"].down) == (1, 1)
    assert (by_id["forgot-card"].answers, by_id["forgot-card"].chosen) == (1, 1)
    assert (by_id["forgot-card"].up, by_id["forgot-card"].down) == (0, 1)
    assert stats.hours == ((18, 4), (14, 2), (17, 2))  # Beijing time, busiest first
    assert stats.until == NOW and stats.since == NOW - dt.timedelta(days=7)
    assert (await storage.stats(30)).questions == 9
    assert (await storage.stats(1)).questions == 6


async def test_unanswered_groups_fallbacks_and_none_of_these(store: Storage) -> None:
    storage = store
    minute = dt.timedelta(minutes=1)
    log = storage.log_question
    await log(record("公积金怎么提取", "fallback", None, at=NOW - 50 * minute))
    await log(record("医保报销比例是多少", "fallback", None, at=NOW - 40 * minute))
    picked = await log(record("社保卡怎么补", "suggest", None, at=NOW - 35 * minute))
    await storage.record_choice(picked, "forgot-card")
    none = await log(record("请问公积金怎么提取", "suggest", None, at=NOW - 30 * minute))
    await storage.record_choice(none, None)
    await storage.record_choice(none, None)  # pressed twice: still one question
    await log(record("电子社保卡怎么领", at=NOW - 20 * minute))
    await log(record("医保报销比例多少", "fallback", None, at=NOW - 10 * minute))

    groups = await storage.unanswered(10)
    assert groups is not None
    assert [(g.text, g.count, g.none_of_these) for g in groups] == [
        ("医保报销比例多少", 2, 0),
        ("请问公积金怎么提取", 2, 1),
    ]
    assert groups[0].last_at == NOW - 10 * minute
    assert groups[1].examples == ("公积金怎么提取",)
    assert len(await storage.unanswered(1) or []) == 1
    assert await storage.unanswered(10, days=1) == groups


def _asked(text: str, at: dt.datetime | None = None) -> QuestionRecord:
    return QuestionRecord("private", 1, text, text, "fallback", None, 0.1, at)


async def test_stats_and_unanswered_match_what_was_logged(store: Storage) -> None:
    now = NOW
    storage = store
    old = now - dt.timedelta(days=10)
    answered = await storage.log_question(_record())
    await storage.log_question(QuestionRecord("private", 2, "问", "问", "answer", "a", 1.0))
    await storage.log_question(_record("fallback", None))
    suggested = await storage.log_question(_record("suggest", None))
    await storage.log_question(_asked("很久以前的问题", at=old))
    await storage.log_question(_asked("我的手机[手机号]怎么认证"))
    await storage.record_vote(answered, "a", -1)
    await storage.record_choice(suggested, None)

    stats = await storage.stats(7)
    assert (stats.questions, stats.answered, stats.suggested, stats.fallback) == (5, 2, 1, 2)
    assert (stats.users, stats.none_of_these, stats.private) == (2, 1, 1)
    assert [(f.entry_id, f.answers, f.up, f.down) for f in stats.entries] == [("a", 2, 0, 1)]
    assert stats.hours == ((20, 5),)  # 12:00 UTC is 20:00 in Beijing
    assert (await storage.stats(30)).questions == 6

    groups = await storage.unanswered(10) or []
    assert [(g.text, g.count, g.none_of_these) for g in groups] == [
        ("我的手机[手机号]怎么认证", 1, 0),
        ("问", 2, 1),
        ("很久以前的问题", 1, 0),
    ]
    recent = await storage.unanswered(10, days=7) or []
    assert [g.text for g in recent] == ["我的手机[手机号]怎么认证", "问"]
