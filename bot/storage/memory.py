"""An in-memory ``Storage``: for tests, and for running without a database."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from dataclasses import dataclass, replace

from bot.storage.base import QuestionRecord


@dataclass(frozen=True)
class Vote:
    """A 👍 (+1) or 👎 (-1) as recorded."""

    question_id: int | None
    entry_id: str
    vote: int


@dataclass(frozen=True)
class Choice:
    """A "did you mean" pick; ``entry_id`` None means "none of these"."""

    question_id: int | None
    entry_id: str | None


@dataclass(frozen=True)
class AdminAction:
    """An admin's reload or teach."""

    admin_id: int
    action: str
    detail: str


class MemoryStorage:
    """Keeps everything in lists and dicts for the life of the process."""

    def __init__(self) -> None:
        self.questions: dict[int, QuestionRecord] = {}
        self.votes: list[Vote] = []
        self.choices: list[Choice] = []
        self.admin_actions: list[AdminAction] = []
        self.files: dict[tuple[str, str], str] = {}
        self.opened = False
        self.closed = False
        self._ids = itertools.count(1)

    async def open(self) -> None:
        """Nothing to prepare."""
        self.opened = True

    async def close(self) -> None:
        """Nothing to flush."""
        self.closed = True

    async def log_question(self, record: QuestionRecord) -> int | None:
        """Keep the question; return its id."""
        question_id = next(self._ids)
        self.questions[question_id] = replace(record, at=record.at or dt.datetime.now(dt.UTC))
        return question_id

    async def record_vote(self, question_id: int | None, entry_id: str, vote: int) -> None:
        """Keep a vote; a later vote on the same question replaces the earlier one."""
        if not vote:
            return
        if question_id is not None:
            self.votes = [v for v in self.votes if v.question_id != question_id]
        self.votes.append(Vote(question_id, entry_id, 1 if vote > 0 else -1))

    async def record_choice(self, question_id: int | None, entry_id: str | None) -> None:
        """Keep a "did you mean" choice."""
        self.choices.append(Choice(question_id, entry_id))

    async def record_admin_action(self, admin_id: int, action: str, detail: str) -> None:
        """Keep an admin action."""
        self.admin_actions.append(AdminAction(admin_id, action, detail))

    async def cached_file_id(self, path: str, digest: str) -> str | None:
        """The file_id of an upload with this content hash, preferring the same path."""
        exact = self.files.get((path, digest))
        if exact is not None:
            return exact
        return next((fid for (_, known), fid in self.files.items() if known == digest), None)

    async def cache_file_id(self, path: str, digest: str, file_id: str) -> None:
        """Remember an upload's file_id."""
        self.files[(path, digest)] = file_id

    async def top_entries(self, limit: int) -> list[str]:
        """Ids of the most answered and most picked entries, most first."""
        counts: Counter[str] = Counter(
            record.entry_id
            for record in self.questions.values()
            if record.decision == "answer" and record.entry_id
        )
        counts.update(choice.entry_id for choice in self.choices if choice.entry_id)
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        return [entry_id for entry_id, _ in ranked[: max(limit, 0)]]
