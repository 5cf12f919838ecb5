"""The FAQ service: the current knowledge base and matcher, asked and reloaded as one."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from bot.core.decision import Decision, Kind, Thresholds, decide
from bot.core.knowledge import KnowledgeBase, load_knowledge
from bot.core.lexicon import load_lexicon
from bot.core.matcher import Matcher, Weights
from bot.core.semantic import Encoder, SemanticIndex, VectorCache, load_encoder
from bot.core.text import first_question


@dataclass(frozen=True)
class ReloadReport:
    """What changed when the knowledge base was reloaded."""

    entries: int
    phrasings: int
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]

    def summary(self) -> str:
        """One short paragraph for an admin, in English like ``kb check`` and its problems."""
        lines = [f"Knowledge base reloaded: {self.entries} entries, {self.phrasings} phrasings."]
        for label, ids in (("Added", self.added), ("Removed", self.removed)):
            lines.append(f"{label}: {', '.join(ids) if ids else 'none'}")
        lines.append(f"Changed: {', '.join(self.changed) if self.changed else 'none'}")
        return "\n".join(lines)


def build_matcher(
    directory: Path | str,
    weights: Weights | None = None,
    previous: Matcher | None = None,
    meaning: Meaning | None = None,
) -> Matcher:
    """Load and validate everything under *directory*, then index it (reusing what the
    *previous* matcher already worked out, when its lexicon is the same); with *meaning*, the
    phrasings' sentence embeddings too.

    Raises ``KnowledgeError`` with every problem; nothing is half-built.
    """
    kb = load_knowledge(directory)
    lexicon = load_lexicon(directory)
    semantic = None
    if meaning is not None:
        semantic = SemanticIndex(
            meaning.encoder,
            [entry.phrasings for entry in kb.entries],
            [example.text for example in kb.declined],
            meaning.cache,
        )
    return Matcher(kb, lexicon, weights, previous=previous, semantic=semantic)


@dataclass(frozen=True)
class Meaning:
    """A sentence-embedding model and where the vectors of phrasings are kept."""

    encoder: Encoder
    cache: VectorCache

    @classmethod
    def load(cls, setting: str = "auto", cache_dir: Path | None = None) -> Meaning | None:
        """The model for *setting* (``auto``, ``on`` or ``off``), or None without one."""
        encoder = load_encoder(setting)
        if encoder is None:
            return None
        return cls(encoder, VectorCache(cache_dir, encoder.name))


class Faq:
    """Answers questions from a knowledge base that can be swapped at any time."""

    def __init__(
        self,
        directory: Path | str,
        thresholds: Thresholds | None = None,
        weights: Weights | None = None,
        meaning: Meaning | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.thresholds = thresholds or Thresholds()
        self.weights = weights
        self.meaning = meaning
        self.matcher = build_matcher(self.directory, weights, meaning=meaning)

    @property
    def kb(self) -> KnowledgeBase:
        """The knowledge base now in use."""
        return self.matcher.kb

    def ask(self, question: str) -> Decision:
        """Decide how to reply to *question*, its personal data already left out (the use
        case, ``service.read_question``, does that for every incoming question).

        A message may hold two questions ("电子社保卡怎么领？另外公积金怎么取"): when one of
        them can be answered and the other cannot, the one is answered and the other passed on
        as unanswered.
        """
        matcher = self.matcher  # one snapshot, even if a reload swaps it meanwhile
        decision = decide(question, *matcher.rank(question), self.thresholds)
        parts = first_question(question)
        if parts is None:
            return decision
        head, rest = parts
        # Each part read from its words only: a sentence vector costs ~20 ms.
        first = decide(head, *matcher.rank(head, meaning=False), self.thresholds)
        second = decide(rest, *matcher.rank(rest, meaning=False), self.thresholds)
        if first.kind is Kind.ANSWER and second.kind is not Kind.ANSWER:
            return replace(first, question=question, unanswered=rest)
        if second.kind is Kind.ANSWER and first.kind is not Kind.ANSWER:
            return replace(second, question=question, unanswered=head.rstrip("?？﹖ "))
        return decision

    def add_meaning(self, meaning: Meaning) -> None:
        """Use the sentence model from now on (indexing the phrasings first: slow the first
        time, when no vector is cached)."""
        matcher = build_matcher(self.directory, self.weights, self.matcher, meaning)
        self.meaning = meaning
        self.matcher = matcher

    def reload(self) -> ReloadReport:
        """Re-read the knowledge base; keep the old one on any error (``KnowledgeError``)."""
        return self.use(self.prepare())

    def prepare(self) -> Matcher:
        """The knowledge base on disk now, loaded and indexed but not in use yet (slow: the
        bot runs this in a thread, ``use`` on its event loop)."""
        return build_matcher(self.directory, self.weights, self.matcher, self.meaning)

    def use(self, matcher: Matcher) -> ReloadReport:
        """Answer from *matcher* (made by ``prepare``) from now on; what changed."""
        old = self.matcher.kb
        self.matcher = matcher
        return _compare(old, matcher.kb)


def _compare(old: KnowledgeBase, new: KnowledgeBase) -> ReloadReport:
    before, after = old.by_id, new.by_id
    return ReloadReport(
        entries=len(new.entries),
        phrasings=new.phrasing_count,
        added=tuple(i for i in after if i not in before),
        removed=tuple(i for i in before if i not in after),
        changed=tuple(i for i in after if i in before and after[i] != before[i]),
    )
