"""The in-memory storage behaves like the Storage protocol says."""

from __future__ import annotations

import datetime as dt

from bot.storage.base import QuestionRecord, Storage
from bot.storage.memory import MemoryStorage


def _record(decision: str = "answer", entry_id: str | None = "a") -> QuestionRecord:
    return QuestionRecord("private", 1, "问", "问", decision, entry_id, 1.0)


async def test_questions_get_increasing_ids_and_a_time() -> None:
    storage: Storage = MemoryStorage()
    first = await storage.log_question(_record())
    second = await storage.log_question(_record())
    assert first is not None and second is not None and second > first
    assert isinstance(storage, MemoryStorage) and storage.questions[first].at is not None


async def test_a_vote_counts_once_per_voter_and_message() -> None:
    storage = MemoryStorage()
    await storage.record_vote(1, "a", 1, voter=7, message=(7, 70))
    await storage.record_vote(1, "a", -5, voter=7, message=(7, 70))
    await storage.record_vote(1, "a", 1, voter=8, message=(7, 70))
    await storage.record_vote(None, "b", 1, voter=7, message=(7, 71))
    await storage.record_vote(2, "b", 0, voter=7, message=(7, 72))
    assert [(v.question_id, v.entry_id, v.vote) for v in storage.votes] == [
        (1, "a", -1),
        (1, "a", 1),
        (None, "b", 1),
    ]
    await storage.record_choice(1, None, voter=7, message=(7, 70))
    await storage.record_choice(1, None, voter=7, message=(7, 70))
    assert len(storage.choices) == 1


async def test_file_ids_are_found_by_content() -> None:
    storage = MemoryStorage()
    assert await storage.cached_file_id("images/a.png", "d1") is None
    await storage.cache_file_id("images/a.png", "d1", "F1")
    assert await storage.cached_file_id("images/a.png", "d1") == "F1"
    assert await storage.cached_file_id("images/copy.png", "d1") == "F1"
    assert await storage.cached_file_id("images/a.png", "d2") is None


async def test_top_entries_count_answers_and_choices() -> None:
    storage = MemoryStorage()
    for entry_id in ["a", "b", "b"]:
        await storage.log_question(_record(entry_id=entry_id))
    await storage.log_question(_record("fallback", None))
    await storage.log_question(_record("suggest", "c"))
    await storage.record_choice(1, "c")
    await storage.record_choice(1, "c")
    await storage.record_choice(1, "c")
    await storage.record_choice(2, None)
    assert await storage.top_entries(5) == ["c", "b", "a"]
    assert await storage.top_entries(1) == ["c"]
    assert await storage.top_entries(0) == []


async def test_open_close_and_admin_actions() -> None:
    storage = MemoryStorage()
    await storage.open()
    await storage.record_admin_action(7, "reload", "ok")
    await storage.close()
    assert storage.opened and storage.closed
    assert [(a.admin_id, a.action, a.detail) for a in storage.admin_actions] == [
        (7, "reload", "ok")
    ]


def _asked(text: str, at: dt.datetime | None = None) -> QuestionRecord:
    return QuestionRecord("private", 1, text, text, "fallback", None, 0.1, at)


async def test_stats_and_unanswered_match_what_was_logged() -> None:
    now = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
    storage = MemoryStorage(clock=lambda: now)
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

    groups = await storage.unanswered(10)
    assert [(g.text, g.count, g.none_of_these) for g in groups] == [
        ("我的手机[手机号]怎么认证", 1, 0),
        ("问", 2, 1),
        ("很久以前的问题", 1, 0),
    ]
    recent = await storage.unanswered(10, days=7)
    assert [g.text for g in recent] == ["我的手机[手机号]怎么认证", "问"]
