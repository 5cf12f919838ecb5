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


async def test_open_close_and_admin_actions() -> None:
    storage = MemoryStorage()
    await storage.open()
    await storage.record_admin_action(7, "reload", "ok")
    await storage.close()
    assert storage.opened and storage.closed
    assert [(a.admin_id, a.action, a.detail) for a in storage.admin_actions] == [
        (7, "reload", "ok")
    ]
