"""Compact ``callback_data`` for inline buttons (Telegram allows at most 64 bytes).

    e:<ref>                 open an entry (related question, menu item)
    s:<question>:<ref>      a "did you mean" choice for a logged question
    n:<question>            "none of these"
    v:+:<question>:<ref>    👍 on an answer (``v:-:`` for 👎)
    m                       the category menu
    c:<position>            one category of the menu

``<question>`` is the logged question's id (empty when it could not be logged); ``<ref>`` is
the entry id, or ``#`` and a short hash of it when the id would not fit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from bot.core.decision import Kind
from bot.core.knowledge import Entry, KnowledgeBase
from bot.core.render import Action, Button

MAX_BYTES = 64
_HASH_CHARS = 16


@dataclass(frozen=True)
class Pressed:
    """A decoded button press."""

    action: Action
    value: str = ""
    """Entry reference or category position."""
    question_id: int | None = None
    choice: bool = False
    """An entry picked from a "did you mean" list."""


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
    if not text.isdigit():
        raise _Malformed(text)
    return int(text)


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
    if kind == "c" and rest.isdigit():
        return Pressed(Action.CATEGORY, rest)
    if kind == "e" and rest:
        return Pressed(Action.ENTRY, rest)
    if kind == "n":
        return Pressed(Action.NONE_OF_THESE, question_id=_question(rest))
    if kind == "s":
        question, _, ref = rest.partition(":")
        qid = _question(question)
        return Pressed(Action.ENTRY, ref, qid, choice=True) if ref else None
    if kind == "v":
        sign, _, tail = rest.partition(":")
        question, _, ref = tail.partition(":")
        qid = _question(question)
        if sign not in ("+", "-") or not ref:
            return None
        action = Action.VOTE_UP if sign == "+" else Action.VOTE_DOWN
        return Pressed(action, ref, qid)
    return None


def resolve(ref: str, kb: KnowledgeBase) -> Entry | None:
    """The entry a button refers to, or None if the knowledge base no longer has it."""
    if not ref.startswith("#"):
        return kb.by_id.get(ref)
    return next((entry for entry in kb.entries if _hash(entry.id) == ref), None)
