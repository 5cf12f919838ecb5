"""The knowledge base as the bot uses it: entries, their sources and pictures, and problems."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Source:
    """Where an answer's facts come from."""

    outlet: str
    date: str
    title: str = ""
    url: str = ""


@dataclass(frozen=True)
class Image:
    """A picture sent with an answer: a file under the knowledge folder, or a URL."""

    caption: str
    path: Path | None = None
    url: str | None = None


@dataclass(frozen=True)
class Entry:
    """One FAQ topic with the phrasings that ask for it and its answer."""

    id: str
    title: str
    category: str
    questions: tuple[str, ...]
    answer: str
    source: Source
    steps: tuple[str, ...] = ()
    images: tuple[Image, ...] = ()
    related: tuple[str, ...] = ()
    learned: tuple[str, ...] = ()
    location: str = field(default="", compare=False)

    @property
    def phrasings(self) -> tuple[str, ...]:
        """Every phrasing that asks for this entry: the title, hand-written and taught ones."""
        return (self.title, *self.questions, *self.learned)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the knowledge base, located as ``file:line``."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Example:
    """A question the bot must decline, and where it is written."""

    text: str
    location: str = field(default="", compare=False)


@dataclass(frozen=True)
class KnowledgeBase:
    """The validated entries, in file order, and the questions the bot must decline."""

    entries: tuple[Entry, ...]
    directory: Path
    declined: tuple[Example, ...] = ()
    by_id: Mapping[str, Entry] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", {entry.id: entry for entry in self.entries})

    @property
    def categories(self) -> tuple[str, ...]:
        """Category names in the order they first appear."""
        return tuple(dict.fromkeys(entry.category for entry in self.entries))

    def in_category(self, category: str) -> tuple[Entry, ...]:
        """The entries of one category, in file order."""
        return tuple(entry for entry in self.entries if entry.category == category)

    @property
    def phrasing_count(self) -> int:
        """How many phrasings the matcher indexes."""
        return sum(len(entry.phrasings) for entry in self.entries)


class KnowledgeError(Exception):
    """The knowledge base cannot be used; ``problems`` says every reason."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))
