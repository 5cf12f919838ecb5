"""Rendering decisions and entries to neutral reply data (text, HTML, images, buttons)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field, replace
from enum import StrEnum

from bot.core.conversation import Turn
from bot.core.decision import Decision, Kind
from bot.core.knowledge import Entry, Image, KnowledgeBase
from bot.core.small_talk import Talk, small_talk
from bot.core.strings_zh import (
    ASSUMED_TEXT,
    BUTTON_BACK,
    BUTTON_MENU,
    BUTTON_NONE_OF_THESE,
    BUTTON_USEFUL,
    BUTTON_USELESS,
    CATEGORY_TEXT,
    FALLBACK_TEXT,
    GREETING_TEXT,
    HELP_TEXT,
    MENU_TEXT,
    OTHERS_TEXT,
    SOURCE_LINE,
    SOURCE_TITLE,
    SUGGEST_TEXT,
    THANKS_TEXT,
    UNANSWERED_TEXT,
    WELCOME_TEXT,
)

MAX_RELATED = 5
MAX_QUOTED = 40


class Action(StrEnum):
    """What a button does when pressed."""

    ENTRY = "entry"
    """Show the entry whose id is the button's value."""
    VOTE_UP = "up"
    VOTE_DOWN = "down"
    NONE_OF_THESE = "none"
    MENU = "menu"
    CATEGORY = "cat"
    """Open the category whose position in the menu is the button's value."""


@dataclass(frozen=True)
class Button:
    """A button under a message."""

    label: str
    action: Action
    value: str = ""


@dataclass(frozen=True)
class Reply:
    """A message to send, independent of any chat platform."""

    text: str
    """Plain text, for consoles and logs."""
    html: str
    """The same in Telegram's HTML subset, everything from the KB and the user escaped."""
    images: tuple[Image, ...] = ()
    buttons: tuple[tuple[Button, ...], ...] = ()
    kind: Kind | None = None
    entry_id: str | None = None
    suggestions: tuple[str, ...] = field(default=())


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def source_line(entry: Entry) -> str:
    """Where the answer comes from, and how old it is."""
    source = entry.source
    bare = source.title.strip("《》 ")
    title = SOURCE_TITLE.format(title=bare) if bare else ""
    return SOURCE_LINE.format(outlet=source.outlet, title=title, date=source.date)


def unanswered_note(rest: str) -> str:
    """What to say about the part of a message the answer does not cover."""
    quoted = rest if len(rest) <= MAX_QUOTED else rest[: MAX_QUOTED - 1] + "…"
    return UNANSWERED_TEXT.format(quoted=quoted)


def render_entry(
    entry: Entry, kb: KnowledgeBase, *, compact: bool = False, unanswered: str = ""
) -> Reply:
    """The full answer to one entry; *compact* leaves out related buttons (for groups), and
    a note follows about an *unanswered* further question."""
    steps = [f"{number}. {step}" for number, step in enumerate(entry.steps, start=1)]
    body = [entry.answer.strip(), *(["", *steps] if steps else [])]
    source = source_line(entry)
    note = ["", unanswered_note(unanswered)] if unanswered else []
    text = "\n".join([entry.title, "", *body, "", source, *note])
    markup = "\n".join(
        [
            f"<b>{_escape(entry.title)}</b>",
            "",
            *map(_escape, body),
            "",
            f"<i>{_escape(source)}</i>",
            *map(_escape, note),
        ]
    )
    rows: list[tuple[Button, ...]] = []
    if not compact:
        related = [kb.by_id[ref] for ref in entry.related if ref in kb.by_id][:MAX_RELATED]
        rows.extend((Button(other.title, Action.ENTRY, other.id),) for other in related)
    rows.append(
        (
            Button(BUTTON_USEFUL, Action.VOTE_UP, entry.id),
            Button(BUTTON_USELESS, Action.VOTE_DOWN, entry.id),
        )
    )
    return Reply(text, markup, entry.images, tuple(rows), Kind.ANSWER, entry.id)


def render_fallback() -> Reply:
    """The honest "not covered" reply."""
    return Reply(
        FALLBACK_TEXT,
        _escape(FALLBACK_TEXT),
        buttons=((Button(BUTTON_MENU, Action.MENU),),),
        kind=Kind.FALLBACK,
    )


def render_suggestions(suggestions: tuple[Entry, ...]) -> Reply:
    """A "did you mean" question with one button per candidate and a "none of these"."""
    rows = [(Button(entry.title, Action.ENTRY, entry.id),) for entry in suggestions]
    rows.append((Button(BUTTON_NONE_OF_THESE, Action.NONE_OF_THESE),))
    lines = [SUGGEST_TEXT, *(f"• {entry.title}" for entry in suggestions)]
    return Reply(
        "\n".join(lines),
        _escape(SUGGEST_TEXT),
        buttons=tuple(rows),
        kind=Kind.SUGGEST,
        suggestions=tuple(entry.id for entry in suggestions),
    )


def render_decision(decision: Decision, kb: KnowledgeBase, *, compact: bool = False) -> Reply:
    """The reply for a decision."""
    if decision.kind is Kind.ANSWER and decision.entry is not None:
        reply = render_entry(decision.entry, kb, compact=compact, unanswered=decision.unanswered)
        return _offer(reply, decision.alternatives)
    if decision.kind is Kind.SUGGEST:
        return render_suggestions(decision.suggestions)
    if decision.kind is Kind.SMALL_TALK:
        return render_small_talk(small_talk(decision.analysis.normalized) or Talk.GREETING)
    return render_fallback()


def render_turn(turn: Turn, kb: KnowledgeBase, *, compact: bool = False) -> Reply:
    """The reply for one message of a conversation: when it was read against the last topic,
    it says which topic it assumed and offers the other candidates instead of related ones."""
    if turn.assumed is None:
        return render_decision(turn.decision, kb, compact=compact)
    reply = render_decision(replace(turn.decision, alternatives=()), kb, compact=compact)
    note = ASSUMED_TEXT.format(title=turn.assumed.title)
    reply = replace(reply, text=f"{note}\n{reply.text}", html=f"{_escape(note)}\n{reply.html}")
    offered = {entry.id: entry for entry in (*turn.alternatives, *turn.decision.alternatives)}
    return _offer(reply, tuple(offered.values()))


def _offer(reply: Reply, others: tuple[Entry, ...]) -> Reply:
    """*reply* with *others* listed after it, their buttons in place of the related ones (to
    keep the buttons few)."""
    if not others:
        return reply
    listed = "\n".join(f"• {entry.title}" for entry in others)
    text = f"{reply.text}\n\n{OTHERS_TEXT}\n{listed}"
    markup = f"{reply.html}\n\n{_escape(OTHERS_TEXT)}"
    rows = [(Button(entry.title, Action.ENTRY, entry.id),) for entry in others]
    rest = [row for row in reply.buttons if all(b.action is not Action.ENTRY for b in row)]
    return replace(reply, text=text, html=markup, buttons=(*rows, *rest))


def render_small_talk(talk: Talk) -> Reply:
    """A short friendly reply to a bare greeting or thanks."""
    text = GREETING_TEXT if talk is Talk.GREETING else THANKS_TEXT
    return Reply(text, _escape(text), kind=Kind.SMALL_TALK)


def render_menu(kb: KnowledgeBase) -> Reply:
    """The list of categories."""
    rows = tuple(
        (Button(category, Action.CATEGORY, str(position)),)
        for position, category in enumerate(kb.categories)
    )
    return Reply(MENU_TEXT, _escape(MENU_TEXT), buttons=rows)


def render_category(kb: KnowledgeBase, position: int) -> Reply:
    """The entries of one category, with a back button; the menu if *position* is stale."""
    if not 0 <= position < len(kb.categories):
        return render_menu(kb)
    category = kb.categories[position]
    rows = [(Button(entry.title, Action.ENTRY, entry.id),) for entry in kb.in_category(category)]
    rows.append((Button(BUTTON_BACK, Action.MENU),))
    text = CATEGORY_TEXT.format(category=category)
    return Reply(text, _escape(text), buttons=tuple(rows))


def render_welcome(kb: KnowledgeBase) -> Reply:
    """The greeting for /start, with the category menu."""
    return Reply(WELCOME_TEXT, _escape(WELCOME_TEXT), buttons=render_menu(kb).buttons)


def render_help() -> Reply:
    """How to use the bot."""
    return Reply(HELP_TEXT, _escape(HELP_TEXT))


def render_text(text: str) -> Reply:
    """A plain message (notices, admin reports), escaped for HTML."""
    return Reply(text, _escape(text))
