"""What the bot needs from storage, whatever keeps it."""

from __future__ import annotations

from typing import Protocol

from bot.core.records import QuestionRecord as QuestionRecord
from bot.storage.stats import Group, Stats


class Storage(Protocol):
    """Persistence used by the Telegram adapter. Methods never raise on storage faults."""

    @property
    def available(self) -> bool:
        """Whether the store can be read and written now."""

    async def open(self) -> None:
        """Prepare the store (create, migrate)."""

    async def close(self) -> None:
        """Flush pending writes and release the store."""

    async def log_question(self, record: QuestionRecord) -> int | None:
        """Store a question; return its id (None if it could not be stored)."""

    async def record_vote(
        self,
        question_id: int | None,
        entry_id: str,
        vote: int,
        *,
        voter: int | None = None,
        message: tuple[int, int] | None = None,
    ) -> None:
        """A 👍 (+1) or 👎 (-1) on an answer: one per *voter* (a user id) and answer *message*
        (chat id, message id), a later one replacing the earlier."""

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

    async def record_admin_action(self, admin_id: int, action: str, detail: str) -> None:
        """An admin's reload or teach."""

    async def cached_file_id(self, path: str, digest: str) -> str | None:
        """The Telegram file_id of an image already uploaded with this content hash."""

    async def cache_file_id(self, path: str, digest: str, file_id: str) -> None:
        """Remember the file_id Telegram gave an uploaded image."""

    async def top_entries(self, limit: int) -> list[str]:
        """Ids of the most answered entries, most first."""

    async def stats(self, days: int = 7) -> Stats:
        """The /stats figures over the last *days* days (``readable`` False when they could
        not be read)."""

    async def unanswered(self, limit: int = 10, *, days: int | None = None) -> list[Group] | None:
        """Unanswered and "none of these" questions, similar ones grouped, newest first; None
        when they cannot be read (not the same as none)."""
