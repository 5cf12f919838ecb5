"""Follow-up questions: a short memory of each conversation's last answered topic.

After "电子社保卡怎么领", people go on with "在哪办", "那它还能干啥" or "那第三代的呢": alone,
such a message names no topic and is not answered, or is answered by whichever entry its few
words happen to fit best ("手机上能办吗" fits a dozen). A conversation remembers its last
answered entry and the question that led to it (personal data left out) for a few minutes.

A short message is read against that topic when it does not name its own answer's topic (the
most specific topic word of that entry's title). The reading is kept only if the matcher answers
it within the topic's neighbourhood, the message itself is mostly about the answer, the answer
does not say that its source is silent on what is asked, and, against an answer the message has
alone, the reading explains every word that answer does. The reply then says which topic it
assumed and offers the other candidates (the answer alone first). A short message that still
leaves the topic without naming where it goes is only offered ("did you mean"), never answered
more confidently than alone; after a message declined for naming something no entry covers
(驾照), the same holds. The memory is bounded in count and age, lives in this process only (never
on disk), and is lost on restart without harm.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, replace

from bot.core.decision import Decision, Kind
from bot.core.faq import Faq
from bot.core.knowledge import Entry, KnowledgeBase
from bot.core.matcher import Analysis, Matcher
from bot.core.scope import referral_sentences

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
    entry_id: str | None
    """The last answered entry; None when the last message was declined as being about
    something no entry covers (驾照): a follow-up leaning on it is about that too."""
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
        self._cache: OrderedDict[str, Analysis] = OrderedDict()
        self._cache_kb: KnowledgeBase | None = None
        self._untold_words: dict[str, frozenset[str]] = {}

    def __len__(self) -> int:
        self._expire()
        return len(self._memory)

    def ask(self, key: Hashable, question: str) -> Turn:
        """Decide how to reply to *question* in conversation *key*, and remember its topic."""
        alone = self.faq.ask(question)
        recalled = self._recall(key)
        turn = Turn(alone) if recalled is None else self._read(question, alone, *recalled)
        decision = turn.decision
        if decision.kind is Kind.ANSWER and decision.entry is not None:
            self.remember(key, decision.entry, question)
        elif alone.kind is Kind.ANSWER:
            pass  # an answer held back because it leaves the topic: the topic stays
        elif _foreign(alone):
            self._memory.pop(key, None)
            self._memory[key] = _Memory(None, "", self.clock())
            self._bound()
        elif alone.analysis.tokens:  # it names something else: the old topic is over
            self.forget(key)
        return turn

    def _read(self, question: str, alone: Decision, last: Entry | None, asked: str) -> Turn:
        """*question* read in a conversation whose topic is *last* (None: something no entry
        covers), asked as *asked*."""
        if alone.kind is not Kind.ANSWER or alone.entry is None:
            if last is None:
                return Turn(alone)
            return self._follow_up(question, alone, last, asked) or Turn(alone)
        entry = alone.entry
        tokens = alone.analysis.tokens
        if last is not None and entry.id == last.id:
            return Turn(alone)
        if len(tokens) > MAX_FOLLOW_UP_WORDS or (
            last is not None and self._names(alone, entry, last)
        ):
            return Turn(alone)  # a question of its own
        # The message names no topic of its answer: it may lean on the conversation's topic.
        if last is not None:
            turn = self._follow_up(question, alone, last, asked)
            if turn is not None:
                return turn if turn.decision.entry != entry else Turn(alone)
            if entry.id in _neighbours(last, self.faq.kb):
                return Turn(alone)
            if not alone.analysis.topics <= self.faq.matcher.words_of(last.id):
                return Turn(alone)  # it says something the topic does not: a new question
        if self._points(alone, entry):
            return Turn(alone)
        # Alone it answers something the conversation was not about, naming none of its topic:
        # offer it, no more.
        return Turn(replace(alone, kind=Kind.SUGGEST, entry=None, suggestions=(entry,)))

    def _names(self, alone: Decision, entry: Entry, last: Entry) -> bool:
        """Whether the message names *entry*'s own topic: every topic word of its title, or the
        most specific one (the one fewest entries use) unless *last*'s title has it too
        ("电子社保卡" in "还没领电子社保卡咋整" after a pension question; not 线上 for
        网上办工伤业务)."""
        title = self._title_topics(entry)
        if not title:
            return False
        if title <= alone.analysis.topics:
            return True  # all of it ("电子社保卡怎么领" after the green-energy question)
        uses = {word: self.faq.matcher.entries_using(word) for word in title}
        own = frozenset(word for word in title if uses[word] == min(uses.values()))
        return bool((own - self._title_topics(last)) & alone.analysis.topics)

    def _points(self, alone: Decision, entry: Entry) -> bool:
        """Whether the message names where it goes: a topic word that its answer *entry* uses
        and that is as specific as its title's (技能提升补贴 for 网上申领失业金; not 多久)."""
        uses = self.faq.matcher.entries_using
        title = self._title_topics(entry)
        bar = min(map(uses, title), default=len(self.faq.kb.entries))
        named = alone.analysis.topics & _explained(alone)
        return bool(named & title) or any(uses(word) <= bar for word in named)

    def _title_topics(self, entry: Entry) -> frozenset[str]:
        return self._analyse(entry.title).topics

    def last(self, key: Hashable) -> Entry | None:
        """The conversation's last topic, if it is recent and still in the knowledge base."""
        recalled = self._recall(key)
        return recalled[0] if recalled else None

    def remember(self, key: Hashable, entry: Entry, question: str = "") -> None:
        """Make *entry* the conversation's topic (answered, or opened with a button)."""
        self._memory.pop(key, None)
        self._memory[key] = _Memory(entry.id, question, self.clock())
        self._bound()

    def _bound(self) -> None:
        while len(self._memory) > max(self.capacity, 0):
            self._memory.popitem(last=False)

    def forget(self, key: Hashable) -> None:
        """Drop the conversation's topic."""
        self._memory.pop(key, None)

    def _recall(self, key: Hashable) -> tuple[Entry | None, str] | None:
        self._expire()
        memory = self._memory.get(key)
        if memory is None:
            return None
        if memory.entry_id is None:
            return None, memory.question
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

    def _untold(self, entry: Entry) -> frozenset[str]:
        """Words that *entry*'s answer uses only where it says what the source does not tell."""
        matcher = self._matcher()
        untold = self._untold_words.get(entry.id)
        if untold is None:
            said = frozenset(
                token
                for sentence in referral_sentences(entry)
                for token in matcher.analyse(sentence).tokens
            )
            untold = self._untold_words[entry.id] = said - matcher.words_of(entry.id)
        return untold

    def _analyse(self, text: str) -> Analysis:
        """The matcher's reading of a text made from the knowledge base (its words and topics;
        nothing ranked), remembered until a reload."""
        matcher = self._matcher()
        analysis = self._cache.get(text)
        if analysis is None:
            analysis = self._cache[text] = matcher.analyse(text)
            if len(self._cache) > MAX_CACHED:
                self._cache.popitem(last=False)
        return analysis

    def _matcher(self) -> Matcher:
        """The matcher in use, the caches of an older knowledge base dropped."""
        matcher = self.faq.matcher
        if self._cache_kb is not matcher.kb:
            self._cache, self._cache_kb = OrderedDict(), matcher.kb
            self._untold_words = {}
        return matcher

    def _follow_up(self, question: str, alone: Decision, last: Entry, asked: str) -> Turn | None:
        """*question* read as a follow-up to *last* (asked as *asked*); None if it is not one."""
        words = frozenset(alone.analysis.tokens)
        if not words or len(alone.analysis.tokens) > MAX_FOLLOW_UP_WORDS:
            return None
        decision = self._switched(alone, last, asked)
        if decision is None:
            decision = self._aspect(question, words, alone.analysis.telling, last)
            # Against an answer of its own, the message's words must not prefer that answer.
            if decision is not None and alone.kind is Kind.ANSWER and not _covers(decision, alone):
                return None
        if decision is None or decision.entry is None:
            return None
        # The answer itself says that the source does not tell this ("能领多少" after
        # "失业金怎么领": "能领多少……文章没有讲"): the message is not answered from context.
        if words & self._untold(decision.entry):
            return None
        others = _alternatives(decision.entry, alone, decision, self.faq.thresholds.suggest)
        return Turn(replace(decision, question=question), last, others)

    def _aspect(
        self, question: str, words: frozenset[str], telling: frozenset[str], last: Entry
    ) -> Decision | None:
        """The message asks about another aspect of the last topic ("在哪办", "能干啥"): ask it
        with the topic's words, and keep the answer that explains most of the message."""
        best: tuple[int, Decision] | None = None
        matcher = self.faq.matcher
        for hint, near in self._hints(last):
            combined = _sure(self.faq.ask(f"{question} {hint}"))
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
            if any(not matcher.entries_using(word) for word in words & telling):
                continue
            if best is None or len(shared) > best[0]:  # on a tie, the broader reading
                best = len(shared), combined
        return best[1] if best else None

    def _hints(self, entry: Entry) -> Iterator[tuple[str, frozenset[str]]]:
        """Texts that name *entry*'s topic, each with the entries a reading of it may answer:
        the title's topic words (领取 and 怎样 left out), the title, and the category."""
        kb = self.faq.kb
        near = _neighbours(entry, kb)
        title = self._analyse(entry.title)
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
            previous = self._analyse(text)
            for old in dict.fromkeys(t for t in previous.tokens if t in previous.topics):
                for token in message.tokens:
                    new = self._completion(token, old)
                    if new is None or new in previous.topics:
                        continue
                    readings = [" ".join(new if t == old else t for t in previous.tokens)]
                    if token in message.normalized:
                        readings.insert(0, message.normalized.replace(token, new, 1))
                    for reading in readings:
                        decision = _sure(self.faq.ask(reading))
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
            analysis = self._analyse(token + noun[start:])
            if len(analysis.tokens) == 1 and analysis.tokens[0] in analysis.topics:
                word = analysis.tokens[0]
                if word != noun:
                    return word
        return None


def _sure(reading: Decision) -> Decision:
    """*reading* of a message with the topic's words, not answered on a close call: the
    reading is a guess already."""
    if reading.entry is None or not reading.alternatives:
        return reading
    offered = (reading.entry, *reading.alternatives)
    return replace(reading, kind=Kind.SUGGEST, entry=None, suggestions=offered)


def _explained(decision: Decision) -> frozenset[str]:
    """The words of the question that the answered entry's phrasings use."""
    for candidate in decision.candidates:
        if decision.entry is not None and candidate.entry.id == decision.entry.id:
            return candidate.matched
    return frozenset()


def _foreign(decision: Decision) -> frozenset[str]:
    """Telling words of a declined message that no candidate entry uses (驾照 in
    "驾照怎么换证"): the message is about something the knowledge base does not cover."""
    if decision.kind is Kind.ANSWER:
        return frozenset()
    known = frozenset().union(*(c.matched for c in decision.candidates))
    return decision.analysis.telling - decision.analysis.topics - known


def _covers(reading: Decision, alone: Decision) -> bool:
    """Whether *reading* explains every word that *alone*'s answer explains, and every topic
    word of the message: the message's own words do not prefer *alone*."""
    words = frozenset(alone.analysis.tokens)
    explained = _explained(reading) & words
    return explained >= (_explained(alone) & words) and explained >= alone.analysis.topics


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
