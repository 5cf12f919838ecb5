"""An in-memory ``Storage``: for tests, and for running without a database."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from bot.core.privacy import PLACEHOLDERS
from bot.storage.base import QuestionRecord
from bot.storage.stats import (
    BEIJING_HOURS,
    EntryFigures,
    Group,
    Stats,
    UnansweredQuestion,
    group_questions,
)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Vote:
    """A 👍 (+1) or 👎 (-1) as recorded."""

    question_id: int | None
    entry_id: str
    vote: int
    at: dt.datetime = field(default_factory=_utc_now)
    voter: int | None = None
    message: tuple[int, int] | None = None


@dataclass(frozen=True)
class Choice:
    """A "did you mean" pick; ``entry_id`` None means "none of these"."""

    question_id: int | None
    entry_id: str | None
    at: dt.datetime = field(default_factory=_utc_now)
    voter: int | None = None
    message: tuple[int, int] | None = None


@dataclass(frozen=True)
class AdminAction:
    """An admin's reload or teach."""

    admin_id: int
    action: str
    detail: str


class MemoryStorage:
    """Keeps everything in lists and dicts for the life of the process."""

    available = True
    """Memory is always there."""

    def __init__(self, clock: Callable[[], dt.datetime] = _utc_now) -> None:
        self.clock = clock
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
        self.questions[question_id] = replace(record, at=record.at or self.clock())
        return question_id

    async def record_vote(
        self,
        question_id: int | None,
        entry_id: str,
        vote: int,
        *,
        voter: int | None = None,
        message: tuple[int, int] | None = None,
    ) -> None:
        """Keep a vote; the same voter's later vote on the same message replaces it."""
        if not vote:
            return
        if voter is not None and message is not None:
            self.votes = [v for v in self.votes if (v.voter, v.message) != (voter, message)]
        sign = 1 if vote > 0 else -1
        self.votes.append(Vote(question_id, entry_id, sign, self.clock(), voter, message))

    async def record_choice(
        self,
        question_id: int | None,
        entry_id: str | None,
        *,
        voter: int | None = None,
        message: tuple[int, int] | None = None,
    ) -> None:
        """Keep a "did you mean" choice, once per voter, message and entry."""
        known = voter is not None and message is not None
        if known and any(
            (c.voter, c.message, c.entry_id) == (voter, message, entry_id) for c in self.choices
        ):
            return
        self.choices.append(Choice(question_id, entry_id, self.clock(), voter, message))

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

    def _at(self, record: QuestionRecord) -> dt.datetime:
        return record.at or self.clock()

    async def stats(self, days: int = 7) -> Stats:
        """The /stats figures over the last *days* days, as ``SqliteStorage`` computes them."""
        now = self.clock()
        since = now - dt.timedelta(days=days)
        recent = [r for r in self.questions.values() if self._at(r) >= since]
        figures: dict[str, Counter[str]] = {}
        for record in recent:
            if record.decision == "answer" and record.entry_id:
                figures.setdefault(record.entry_id, Counter())["answers"] += 1
        choices = [choice for choice in self.choices if choice.at >= since]
        for choice in choices:
            if choice.entry_id:
                figures.setdefault(choice.entry_id, Counter())["chosen"] += 1
        for vote in self.votes:
            if vote.at >= since:
                figures.setdefault(vote.entry_id, Counter())[
                    "up" if vote.vote > 0 else "down"
                ] += 1
        entries = sorted(
            (EntryFigures(entry_id, **counts) for entry_id, counts in figures.items()),
            key=lambda f: (-f.served, -(f.up + f.down), f.entry_id),
        )
        beijing = dt.timedelta(hours=BEIJING_HOURS)
        hours = Counter((self._at(r) + beijing).hour for r in recent)
        decisions = Counter(r.decision for r in recent)
        return Stats(
            days=days,
            since=since,
            until=now,
            questions=len(recent) - decisions["small_talk"],
            answered=decisions["answer"],
            suggested=decisions["suggest"],
            fallback=decisions["fallback"],
            small_talk=decisions["small_talk"],
            users=len({r.user_id for r in recent if r.user_id is not None}),
            none_of_these=sum(choice.entry_id is None for choice in choices),
            private=sum(any(mark in r.text for mark in PLACEHOLDERS.values()) for r in recent),
            entries=tuple(entries),
            hours=tuple(sorted(hours.items(), key=lambda item: (-item[1], item[0]))),
        )

    async def unanswered(self, limit: int = 10, *, days: int | None = None) -> list[Group]:
        """Fallback and "none of these" questions, similar ones grouped, newest group first."""
        since = self.clock() - dt.timedelta(days=days) if days else None
        rejected = {c.question_id for c in self.choices if c.entry_id is None}
        questions = [
            UnansweredQuestion(
                question_id, self._at(r), r.text, r.normalized, question_id in rejected
            )
            for question_id, r in self.questions.items()
            if (r.decision == "fallback" or question_id in rejected)
            and (since is None or self._at(r) >= since)
        ]
        return group_questions(questions)[: max(limit, 0)]
