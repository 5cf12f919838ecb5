"""What the use case hands to storage: a question as it is kept."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class QuestionRecord:
    """One question as it is logged; ``text`` must already be redacted."""

    chat_type: str
    user_id: int | None
    """The raw Telegram user id; storage keeps only a keyed hash of it."""
    text: str
    normalized: str
    decision: str
    entry_id: str | None
    score: float
    at: dt.datetime | None = None
