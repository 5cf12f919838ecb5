"""Follow-up questions: a short memory of each conversation's last answered topic.

After "电子社保卡怎么领", people go on with "在哪办", "那它还能干啥" or "那第三代的呢": alone,
such a message names no topic and is not answered. A conversation remembers its last answered
entry and the question that led to it (personal data left out) for a few minutes. Only when a
message alone is not answered is it read against that topic, and the reading is kept only if
the matcher answers it and the message itself is mostly about the answer. The reply then says
which topic it assumed and offers the other candidates. The memory is bounded in count and
age, lives in this process only (never on disk), and is lost on restart without harm.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, replace

from bot.core.decision import Decision, Kind
from bot.core.faq import Faq
from bot.core.knowledge import Entry, KnowledgeBase

CONTEXT_SECONDS = 300.0
"""How long a conversation's last topic is remembered."""
MAX_CONVERSATIONS = 10_000
"""How many conversations are remembered at most; the least recently active go first."""
MAX_ALTERNATIVES = 3
MAX_FOLLOW_UP_WORDS = 10
"""A message leaning on the last topic is short; a longer one is read only on its own."""
MAX_CACHED = 4096
"""Decisions kept for texts made from the knowledge base and a message's words."""


@dataclass(frozen=True)
class Turn:
    """The outcome for one message of a conversation."""

    decision: Decision
    """What to reply: the message's own decision, or the one read with the last topic."""
    assumed: Entry | None = None
    """The last topic the message was read against; None when no context was used."""
    alternatives: tuple[Entry, ...] = ()
    """Other entries the message might mean, offered beside an answer read from context."""

    @property
    def used_context(self) -> bool:
        """Whether the reply rests on the conversation's last topic."""
        return self.assumed is not None


@dataclass(frozen=True)
class _Memory:
    entry_id: str
    question: str
    """The question that was answered, as matched: personal data already left out by the use
    case (``service.read_question``); "" when a button chose."""
    at: float


class Conversations:
    """The last answered topic of each conversation, and messages read against it.

    A conversation is any hashable key: a private chat, one user inside a group, a console.
    """

    def __init__(
        self,
        faq: Faq,
        *,
        seconds: float = CONTEXT_SECONDS,
        capacity: int = MAX_CONVERSATIONS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.faq = faq
        self.seconds = seconds
        self.capacity = capacity
        self.clock = clock
        self._memory: OrderedDict[Hashable, _Memory] = OrderedDict()
        self._cache: OrderedDict[str, Decision] = OrderedDict()
        self._cache_kb: KnowledgeBase | None = None

    def __len__(self) -> int:
        self._expire()
        return len(self._memory)

    def ask(self, key: Hashable, question: str) -> Turn:
        """Decide how to reply to *question* in conversation *key*, and remember its topic."""
        decision = self.faq.ask(question)
        if decision.kind is Kind.ANSWER and decision.entry is not None:
            self.remember(key, decision.entry, question)
            return Turn(decision)
        last = self._recall(key)
        if last is None:
            return Turn(decision)
        turn = self._follow_up(question, decision, *last)
        if turn is not None and turn.decision.entry is not None:
            self.remember(key, turn.decision.entry, question)
            return turn
        if decision.analysis.tokens:  # it names something else: the old topic is over
            self.forget(key)
        return Turn(decision)

    def last(self, key: Hashable) -> Entry | None:
        """The conversation's last topic, if it is recent and still in the knowledge base."""
        recalled = self._recall(key)
        return recalled[0] if recalled else None

    def remember(self, key: Hashable, entry: Entry, question: str = "") -> None:
        """Make *entry* the conversation's topic (answered, or opened with a button)."""
        self._memory.pop(key, None)
        self._memory[key] = _Memory(entry.id, question, self.clock())
        while len(self._memory) > max(self.capacity, 0):
            self._memory.popitem(last=False)

    def forget(self, key: Hashable) -> None:
        """Drop the conversation's topic."""
        self._memory.pop(key, None)

    def _recall(self, key: Hashable) -> tuple[Entry, str] | None:
        self._expire()
        memory = self._memory.get(key)
        if memory is None:
            return None
        entry = self.faq.kb.by_id.get(memory.entry_id)
        if entry is None:  # gone with a reload
            self.forget(key)
            return None
        return entry, memory.question

    def _expire(self) -> None:
        """Drop every topic older than the limit (the least recently set are first)."""
        limit = self.clock() - self.seconds
        while self._memory:
            key, memory = next(iter(self._memory.items()))
            if memory.at > limit:
                break
            del self._memory[key]

    def _ask(self, text: str) -> Decision:
        """``Faq.ask`` for the texts made from the knowledge base, remembered until a reload."""
        kb = self.faq.kb
        if self._cache_kb is not kb:
            self._cache, self._cache_kb = OrderedDict(), kb
        decision = self._cache.get(text)
        if decision is None:
            decision = self._cache[text] = self.faq.ask(text)
            if len(self._cache) > MAX_CACHED:
                self._cache.popitem(last=False)
        return decision

    def _follow_up(self, question: str, alone: Decision, last: Entry, asked: str) -> Turn | None:
        """*question* read as a follow-up to *last* (asked as *asked*); None if it is not one."""
        words = frozenset(alone.analysis.tokens)
        if not words or len(alone.analysis.tokens) > MAX_FOLLOW_UP_WORDS:
            return None
        decision = self._switched(alone, last, asked) or self._aspect(question, words, last)
        if decision is None or decision.entry is None:
            return None
        others = _alternatives(decision.entry, alone, decision, self.faq.thresholds.suggest)
        return Turn(replace(decision, question=question), last, others)

    def _aspect(self, question: str, words: frozenset[str], last: Entry) -> Decision | None:
        """The message asks about another aspect of the last topic ("在哪办", "能干啥"): ask it
        with the topic's words, and keep the answer that explains most of the message."""
        best: tuple[int, Decision] | None = None
        for hint, near in self._hints(last):
            combined = self.faq.ask(f"{question} {hint}")
            if combined.kind is not Kind.ANSWER or combined.entry is None:
                continue
            if combined.entry.id not in near:
                continue
            shared = _explained(combined) & words
            # The message itself must be mostly about the answer: "在哪办" is; in "我在广州呢
            # 也这么领吗" only 领 is, and the answer would pass over the question.
            if not shared or 2 * len(shared) < len(words):
                continue
            # ...and hold no telling word that no entry uses (天气 in "今天天气怎么样").
            known = frozenset().union(*(c.matched for c in combined.candidates))
            if (words & combined.analysis.telling) - known:
                continue
            if best is None or len(shared) > best[0]:  # on a tie, the broader reading
                best = len(shared), combined
        return best[1] if best else None

    def _hints(self, entry: Entry) -> Iterator[tuple[str, frozenset[str]]]:
        """Texts that name *entry*'s topic, each with the entries a reading of it may answer:
        the title's topic words (领取 and 怎样 left out), the title, and the category."""
        kb = self.faq.kb
        near = _neighbours(entry, kb)
        title = self._ask(entry.title).analysis
        topic = " ".join(dict.fromkeys(t for t in title.tokens if t in title.topics))
        if topic:
            yield topic, near
        if entry.title != topic:
            yield entry.title, near
        if entry.category not in (topic, entry.title):
            yield entry.category, frozenset(e.id for e in kb.in_category(entry.category))

    def _switched(self, alone: Decision, last: Entry, asked: str) -> Decision | None:
        """The message names a new topic by a modifier of the last topic's noun ("那第三代的呢"
        after "电子社保卡怎么领": 第三代 + 社保卡): ask the message about that topic, or else the
        last question with that topic in place of the old one."""
        message = alone.analysis
        for text in dict.fromkeys(t for t in (asked, last.title) if t):
            previous = self._ask(text).analysis
            for old in dict.fromkeys(t for t in previous.tokens if t in previous.topics):
                for token in message.tokens:
                    new = self._completion(token, old)
                    if new is None or new in previous.topics:
                        continue
                    readings = [" ".join(new if t == old else t for t in previous.tokens)]
                    if token in message.normalized:
                        readings.insert(0, message.normalized.replace(token, new, 1))
                    for reading in readings:
                        decision = self.faq.ask(reading)
                        explained = _explained(decision)
                        rest = frozenset(decision.analysis.tokens) - {new}
                        # Both the new topic and something asked about it must be in the answer.
                        if decision.kind is Kind.ANSWER and new in explained and rest & explained:
                            return decision
        return None

    def _completion(self, token: str, noun: str) -> str | None:
        """The topic word *token* names with the end of *noun* (第三代 + 电子社保卡 ->
        第三代社保卡), other than *noun* itself; None if there is none."""
        if token in noun:
            return None
        for start in range(len(noun) - 1):
            analysis = self._ask(token + noun[start:]).analysis
            if len(analysis.tokens) == 1 and analysis.tokens[0] in analysis.topics:
                word = analysis.tokens[0]
                if word != noun:
                    return word
        return None


def _explained(decision: Decision) -> frozenset[str]:
    """The words of the question that the answered entry's phrasings use."""
    for candidate in decision.candidates:
        if decision.entry is not None and candidate.entry.id == decision.entry.id:
            return candidate.matched
    return frozenset()


def _neighbours(entry: Entry, kb: KnowledgeBase) -> frozenset[str]:
    """The ids of *entry*, of its category and of the entries related to it either way."""
    return frozenset(
        other.id
        for other in kb.entries
        if other.id == entry.id
        or other.category == entry.category
        or other.id in entry.related
        or entry.id in other.related
    )


def _alternatives(
    entry: Entry, alone: Decision, combined: Decision, bar: float
) -> tuple[Entry, ...]:
    """Other candidates worth a button: the message's own, then the runners-up in context."""
    ranked = [*alone.suggestions, *(c.entry for c in alone.candidates if c.score >= bar)]
    ranked += [c.entry for c in combined.candidates if c.score >= bar]
    return tuple(dict.fromkeys(e for e in ranked if e.id != entry.id))[:MAX_ALTERNATIVES]
