"""The use case: one incoming question in, one reply decision out.

Every way a question reaches the bot (a private chat, a group, /ask, inline mode, the console
``chat`` and ``ask``) goes through ``Answering``, in this order:

1. ``read_question``: personal data is redacted, here and nowhere else on the question's way
   (storage checks again as a safety net, and so does the log filter);
2. match and decide: the knowledge base through ``Faq`` (and ``Conversations`` for follow-ups);
3. small talk: a bare greeting or thanks the matcher cannot answer is its own kind;
4. render: neutral reply data (``render.Reply``), no Telegram markup limits;
5. the records to store: the redacted question, and the unanswered rest of a message of two
   questions; and the privacy notice, once per user.

The adapters only carry updates in and replies out; none of them decides what to answer.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, replace

from bot.core.conversation import Conversations, Turn
from bot.core.decision import Decision, Kind
from bot.core.faq import Faq
from bot.core.knowledge import Entry
from bot.core.privacy import redact, without_placeholders
from bot.core.records import QuestionRecord
from bot.core.render import (
    Action,
    Reply,
    render_category,
    render_entry,
    render_menu,
    render_text,
    render_turn,
)
from bot.core.small_talk import small_talk
from bot.core.strings_zh import NONE_OF_THESE_TEXT, PRIVACY_NOTICE, THANKS_DOWN, THANKS_UP
from bot.core.text import normalize

PRIVATE = "private"
CONSOLE = "console"
"""The chat kind of the console (``esscard-bot chat`` and ``ask``)."""
INLINE_RESULTS = 5


@dataclass(frozen=True)
class Question:
    """An incoming question as the rest of the bot sees it: with its personal data hidden."""

    text: str
    """As stored: each ID, phone or card number and code replaced by a placeholder."""
    matching: str
    """As matched: the placeholders and the words naming them (身份证号是…) left out."""
    personal: frozenset[str]
    """The kinds of personal data that were hidden (``privacy.ID_CARD``...)."""


def read_question(text: str) -> Question:
    """*text* with its personal data hidden: the one place an incoming question is redacted."""
    redaction = redact(text)
    return Question(redaction.text, without_placeholders(redaction), redaction.kinds)


@dataclass(frozen=True)
class Incoming:
    """A question and where it comes from."""

    text: str
    chat_kind: str = PRIVATE
    """Telegram's chat type (private, group, supergroup, channel), or ``CONSOLE``."""
    conversation: Hashable | None = None
    """Whose follow-ups go together (a private chat, one user in a group); None: no context."""
    user_id: int | None = None

    @property
    def in_group(self) -> bool:
        """Whether others read the reply too (it is kept compact there)."""
        return self.chat_kind not in (PRIVATE, CONSOLE)


@dataclass(frozen=True)
class Outcome:
    """What to do with one incoming question."""

    reply: Reply
    turn: Turn
    records: tuple[QuestionRecord, ...]
    """To store, the question itself first; then the unanswered rest of a two-question message."""
    notice: Reply | None = None
    """The privacy notice, when the question held personal data and its user was not yet told."""

    @property
    def decision(self) -> Decision:
        """The decision the reply shows."""
        return self.turn.decision


class Answering:
    """Turns incoming questions into reply decisions, for every adapter alike."""

    def __init__(self, faq: Faq, conversations: Conversations | None = None) -> None:
        self.faq = faq
        self.conversations = conversations if conversations is not None else Conversations(faq)
        self._told: set[int] = set()
        """Users already shown the privacy notice (this process)."""

    def decide(self, text: str) -> Decision:
        """The decision for *text* alone, no conversation and nothing stored (``eval``)."""
        return _with_small_talk(Turn(self.faq.ask(read_question(text).matching))).decision

    def ask(self, incoming: Incoming) -> Outcome:
        """Redact, match, decide and render one question; say what to store."""
        question = read_question(incoming.text)
        if incoming.conversation is None:
            turn = Turn(self.faq.ask(question.matching))
        else:
            turn = self.conversations.ask(incoming.conversation, question.matching)
        turn = _with_small_talk(turn)
        reply = render_turn(turn, self.faq.kb, compact=incoming.in_group)
        return Outcome(
            reply,
            turn,
            _records(incoming, question, turn.decision),
            self._notice(incoming, question),
        )

    def _notice(self, incoming: Incoming, question: Question) -> Reply | None:
        user = incoming.user_id
        if not question.personal or user is None or user in self._told:
            return None
        self._told.add(user)
        return render_text(PRIVACY_NOTICE)

    def inline(self, text: str, limit: int = INLINE_RESULTS) -> tuple[Entry, ...]:
        """Entries to offer for *text* in inline mode: the answer first, then other candidates
        good enough to suggest."""
        decision = self.faq.ask(read_question(text).matching)
        entries = [decision.entry] if decision.entry and decision.kind is Kind.ANSWER else []
        entries += list(decision.suggestions)
        if decision.kind is not Kind.FALLBACK:
            entries += [
                candidate.entry
                for candidate in decision.candidates
                if candidate.score >= self.faq.thresholds.suggest
                and candidate.matched & decision.analysis.topics
            ]
        return tuple(dict.fromkeys(entries))[:limit]

    def press(
        self, action: Action, value: str, *, conversation: Hashable | None, compact: bool
    ) -> Reply | None:
        """What a pressed button shows; None when the entry it names is gone. Opening an entry
        makes it the conversation's topic. (Storing votes and picks is the adapter's part.)"""
        kb = self.faq.kb
        match action:
            case Action.ENTRY:
                entry = kb.by_id.get(value)
                if entry is None:
                    return None
                if conversation is not None:
                    self.conversations.remember(conversation, entry)
                return render_entry(entry, kb, compact=compact)
            case Action.CATEGORY:
                return render_category(kb, int(value))
            case Action.NONE_OF_THESE:
                return render_text(NONE_OF_THESE_TEXT)
            case Action.VOTE_UP:
                return render_text(THANKS_UP)
            case Action.VOTE_DOWN:
                return render_text(THANKS_DOWN)
        return render_menu(kb)


def _with_small_talk(turn: Turn) -> Turn:
    """A bare greeting or thanks the matcher does not answer is small talk, not a fallback."""
    decision = turn.decision
    if decision.kind is Kind.FALLBACK and small_talk(decision.analysis.normalized):
        return replace(turn, decision=replace(decision, kind=Kind.SMALL_TALK))
    return turn


def _records(
    incoming: Incoming, question: Question, decision: Decision
) -> tuple[QuestionRecord, ...]:
    def record(text: str, kind: Kind, entry: Entry | None, score: float) -> QuestionRecord:
        return QuestionRecord(
            chat_type=incoming.chat_kind,
            user_id=incoming.user_id,
            text=text,
            normalized=normalize(text),
            decision=str(kind),
            entry_id=entry.id if entry else None,
            score=score,
        )

    first = record(question.text, decision.kind, decision.entry, decision.score)
    if not decision.unanswered:
        return (first,)
    # The rest of the message is kept for /unanswered like any fallback.
    return first, record(decision.unanswered, Kind.FALLBACK, None, 0.0)
