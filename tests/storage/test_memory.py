"""The in-memory storage behaves like the Storage protocol says."""

from __future__ import annotations

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


async def test_a_later_vote_replaces_the_earlier_one() -> None:
    storage = MemoryStorage()
    await storage.record_vote(1, "a", 1)
    await storage.record_vote(1, "a", -5)
    await storage.record_vote(None, "b", 1)
    await storage.record_vote(2, "b", 0)
    assert [(v.question_id, v.entry_id, v.vote) for v in storage.votes] == [
        (1, "a", -1),
        (None, "b", 1),
    ]


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
