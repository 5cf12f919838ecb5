"""Compact ``callback_data`` for inline buttons (Telegram allows at most 64 bytes).

    e:<ref>                 open an entry (related question, menu item)
    s:<question>:<ref>      a "did you mean" choice for a logged question
    n:<question>            "none of these"
    v:+:<question>:<ref>    👍 on an answer (``v:-:`` for 👎)
    m                       the category menu
    c:<position>            one category of the menu

``<question>`` is the logged question's id (empty when it could not be logged); ``<ref>`` is
the entry id, or ``#`` and a short hash of it when the id would not fit.

Callback data comes from the user's client and can be anything: ``decode`` accepts only what
``encode`` makes (ASCII digits that fit SQLite's integers, well-formed entry references) and
returns None for the rest.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from bot.core.decision import Kind
from bot.core.knowledge import Entry, KnowledgeBase
from bot.core.render import Action, Button

MAX_BYTES = 64
_HASH_CHARS = 16
MAX_QUESTION_ID = 2**63 - 1
"""The largest id SQLite stores (question ids are microseconds since 1970, about 2**50)."""
_REF = re.compile(rf"[a-z0-9]+(?:-[a-z0-9]+)*|#[0-9a-f]{{{_HASH_CHARS}}}")
_CATEGORY = re.compile(r"[0-9]{1,3}")


@dataclass(frozen=True)
class Pressed:
    """A decoded button press."""

    action: Action
    value: str = ""
    """Entry reference or category position."""
    question_id: int | None = None
    choice: bool = False
    """An entry picked from a "did you mean" list."""

    @property
    def records(self) -> bool:
        """Whether the press is stored (a vote, a pick or "none of these")."""
        return self.choice or self.action in (
            Action.VOTE_UP,
            Action.VOTE_DOWN,
            Action.NONE_OF_THESE,
        )


def _hash(entry_id: str) -> str:
    return "#" + hashlib.sha256(entry_id.encode()).hexdigest()[:_HASH_CHARS]


def _fit(prefix: str, entry_id: str) -> str:
    data = prefix + entry_id
    return data if len(data.encode()) <= MAX_BYTES else prefix + _hash(entry_id)


def short_ref(entry_id: str) -> str:
    """*entry_id*, or its hash when longer than 64 bytes (``resolve`` finds it either way)."""
    return _fit("", entry_id)


def encode(button: Button, kind: Kind | None = None, question_id: int | None = None) -> str:
    """The callback data of *button* in a reply of *kind* to question *question_id*."""
    qid = "" if question_id is None else str(question_id)
    match button.action:
        case Action.ENTRY if kind is Kind.SUGGEST:
            return _fit(f"s:{qid}:", button.value)
        case Action.ENTRY:
            return _fit("e:", button.value)
        case Action.VOTE_UP:
            return _fit(f"v:+:{qid}:", button.value)
        case Action.VOTE_DOWN:
            return _fit(f"v:-:{qid}:", button.value)
        case Action.NONE_OF_THESE:
            return f"n:{qid}"
        case Action.CATEGORY:
            return f"c:{button.value}"
    return "m"


class _Malformed(ValueError):
    pass


def _question(text: str) -> int | None:
    """A question id; None when empty."""
    if not text:
        return None
    if len(text) > 19 or not text.isascii() or not text.isdigit():
        raise _Malformed(text)
    value = int(text)
    if value > MAX_QUESTION_ID:
        raise _Malformed(text)
    return value


def _ref(text: str) -> str:
    """An entry reference: an id as the knowledge base allows them, or ``#`` and a hash."""
    if not _REF.fullmatch(text):
        raise _Malformed(text)
    return text


def decode(data: str) -> Pressed | None:
    """The press encoded in *data*; None for anything this bot did not make."""
    try:
        return _decode(data)
    except _Malformed:
        return None


def _decode(data: str) -> Pressed | None:
    kind, _, rest = data.partition(":")
    if data == "m":
        return Pressed(Action.MENU)
    if kind == "c" and _CATEGORY.fullmatch(rest):
        return Pressed(Action.CATEGORY, rest)
    if kind == "e":
        return Pressed(Action.ENTRY, _ref(rest))
    if kind == "n":
        return Pressed(Action.NONE_OF_THESE, question_id=_question(rest))
    if kind == "s":
        question, _, ref = rest.partition(":")
        return Pressed(Action.ENTRY, _ref(ref), _question(question), choice=True)
    if kind == "v":
        sign, _, tail = rest.partition(":")
        question, _, ref = tail.partition(":")
        if sign not in ("+", "-"):
            return None
        action = Action.VOTE_UP if sign == "+" else Action.VOTE_DOWN
        return Pressed(action, _ref(ref), _question(question))
    return None


def resolve(ref: str, kb: KnowledgeBase) -> Entry | None:
    """The entry a button refers to, or None if the knowledge base no longer has it."""
    if not ref.startswith("#"):
        return kb.by_id.get(ref)
    return next((entry for entry in kb.entries if _hash(entry.id) == ref), None)
