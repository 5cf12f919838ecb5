"""The matcher's language data: domain words, synonyms, stopwords, out-of-scope topics."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TypeVar

import yaml

from bot.core.knowledge import (
    KnowledgeError,
    Problem,
    compose_yaml,
    load_yaml,
    read_text,
    yaml_problem,
)
from bot.core.text import normalize

LEXICON_DIR = "lexicon"
GENERIC_TERMS = Path(__file__).with_name("out_of_scope.yaml")
"""The out-of-scope words of a knowledge folder that has no ``lexicon/out_of_scope.yaml``."""
T = TypeVar("T")


@dataclass(frozen=True)
class Lexicon:
    """Word lists read from ``knowledge/lexicon/``."""

    words: Mapping[str, int | None]
    """Domain words for the segmenter, with an optional jieba frequency."""
    synonyms: Mapping[str, str]
    """Variant -> canonical word."""
    stopwords: frozenset[str]
    out_of_scope: frozenset[str]
    intent_words: frozenset[str] = frozenset()
    """Question words ("怎么", "申领"): never enough on their own to pick an entry."""
    phrases: Mapping[str, str] = field(default_factory=dict)
    """Variants of several space-separated words ("social security card") -> canonical."""
    in_scope_with: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Out-of-scope term -> words that bring it back in scope in the same question (激活 next
    to 电子社保卡 is claiming the e-card; activating a bank card is not covered)."""

    def out_of_scope_in(self, tokens: tuple[str, ...]) -> tuple[str, ...]:
        """The out-of-scope terms among *tokens* that no other of them brings back in scope."""
        present = frozenset(tokens)
        return tuple(
            token
            for token in tokens
            if token in self.out_of_scope
            and self.in_scope_with.get(token, frozenset()).isdisjoint(present)
        )

    def rewrite_phrases(self, normalized: str) -> str:
        """*normalized* text with every multi-word variant replaced by its canonical word."""
        if not self.phrases:
            return normalized
        return self._phrase_pattern.sub(lambda match: f" {self.phrases[match[0]]} ", normalized)

    @cached_property
    def _phrase_pattern(self) -> re.Pattern[str]:
        """Longest phrase first, whole words only."""
        ordered = sorted(self.phrases, key=len, reverse=True)
        return re.compile(
            r"(?<![a-z0-9])(?:" + "|".join(map(re.escape, ordered)) + r")(?![a-z0-9])"
        )

    @property
    def vocabulary(self) -> frozenset[str]:
        """Every word the segmenter must keep whole."""
        kept = frozenset(word for word, freq in self.words.items() if freq != 0)
        return kept | frozenset(self.synonyms) | self.out_of_scope

    def canonical(self, token: str) -> str:
        """The canonical form of *token* (itself unless it is a known variant)."""
        return self.synonyms.get(token, token)


def _read(path: Path, problems: list[Problem]) -> str | None:
    """The text of an optional file, or None (a problem noted if it exists but is unreadable)."""
    try:
        return read_text(path, optional=True)
    except KnowledgeError as error:
        problems.extend(error.problems)
        return None


def _read_lines(path: Path, problems: list[Problem]) -> list[tuple[int, str]]:
    text = _read(path, problems)
    if text is None:
        return []
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if line:
            lines.append((number, line))
    return lines


def _parse(path: Path, problems: list[Problem], parse: Callable[[str], T]) -> T | None:
    """*parse* applied to an optional YAML file; None with a located problem on an error."""
    text = _read(path, problems)
    if text is None:
        return None
    try:
        return parse(text)
    except (yaml.YAMLError, RecursionError) as error:
        problems.append(yaml_problem(str(path), text, error))
    return None


def _word(raw: object) -> str:
    return normalize(str(raw)).replace(" ", "")


def _variant(raw: object) -> str:
    """A synonym variant: one word, or several words of a Latin-script phrase."""
    text = normalize(str(raw))
    return text if re.fullmatch(r"[a-z0-9]+( [a-z0-9]+)+", text) else text.replace(" ", "")


def _word_list(path: Path, problems: list[Problem]) -> frozenset[str]:
    return frozenset(word for _, line in _read_lines(path, problems) if (word := _word(line)))


def _user_words(path: Path, problems: list[Problem]) -> dict[str, int | None]:
    words: dict[str, int | None] = {}
    for number, line in _read_lines(path, problems):
        parts = line.split()
        word = _word(parts[0])
        freq: int | None = None
        if len(parts) > 1:
            if not parts[1].isdigit():
                problems.append(
                    Problem(
                        str(path),
                        number,
                        f"frequency {parts[1]!r} of {parts[0]!r} is not a number",
                    )
                )
                continue
            freq = int(parts[1])
        if word:
            words[word] = freq
    return words


def _synonyms(path: Path, problems: list[Problem]) -> dict[str, str]:
    """Variant -> canonical; a variant of several words is kept with single spaces.

    A canonical word may head several groups (say one of Chinese, one of English variants).
    """
    root = _parse(path, problems, compose_yaml)
    if root is None:
        return {}
    file = str(path)
    if not isinstance(root, yaml.MappingNode):
        line = root.start_mark.line + 1
        problems.append(Problem(file, line, "synonyms must map a canonical word to a list"))
        return {}
    synonyms: dict[str, str] = {}
    for key, value in root.value:
        line = key.start_mark.line + 1
        canonical = _word(key.value) if isinstance(key, yaml.ScalarNode) else ""
        if not canonical:
            problems.append(Problem(file, line, "a synonym group needs a word before the colon"))
            continue
        if not isinstance(value, yaml.SequenceNode) or not all(
            isinstance(item, yaml.ScalarNode) for item in value.value
        ):
            problems.append(
                Problem(file, line, f"synonyms of {key.value!r} must be a list of words, [a, b]")
            )
            continue
        for item in value.value:
            variant = _variant(item.value)
            if not variant or variant == canonical:
                continue
            if synonyms.get(variant, canonical) != canonical:
                problems.append(
                    Problem(
                        file,
                        item.start_mark.line + 1,
                        f"{item.value!r} is listed under both {synonyms[variant]!r} and "
                        f"{key.value!r}; keep it under one",
                    )
                )
            synonyms[variant] = canonical
    # A canonical word that is itself a variant elsewhere would make rewriting order-dependent.
    for variant, canonical in list(synonyms.items()):
        seen = {variant}
        while canonical in synonyms and canonical not in seen:
            seen.add(canonical)
            canonical = synonyms[canonical]
        synonyms[variant] = canonical
    return synonyms


def _terms(
    path: Path, problems: list[Problem]
) -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    """The out-of-scope terms, and the words that bring some of them back in scope."""
    data = _parse(path, problems, load_yaml)
    if data is None:
        return frozenset(), {}
    terms = data.get("terms") if isinstance(data, dict) else None
    if not isinstance(terms, list):
        problems.append(Problem(str(path), 1, "out_of_scope.yaml needs a 'terms' list"))
        return frozenset(), {}
    words = frozenset(word for word in map(_word, terms) if word)
    unless = data.get("in_scope_with") or {}
    if not isinstance(unless, dict):
        message = "'in_scope_with' must map a term to a list of words, e.g. 激活: [电子社保卡]"
        problems.append(Problem(str(path), 1, message))
        return words, {}
    exceptions: dict[str, frozenset[str]] = {}
    for term, others in unless.items():
        term = _word(term)
        if term not in words or not isinstance(others, list) or not others:
            message = (
                f"in_scope_with: '{term}' must be one of the terms above and list the words "
                "that bring it back in scope, e.g. 激活: [电子社保卡]"
            )
            problems.append(Problem(str(path), 1, message))
            continue
        exceptions[term] = frozenset(word for word in map(_word, others) if word)
    return words, exceptions


def terms_file(knowledge_dir: Path | str) -> Path:
    """Where a knowledge folder's out-of-scope words come from: its own
    ``lexicon/out_of_scope.yaml``, or else the bot's generic list."""
    own = Path(knowledge_dir) / LEXICON_DIR / "out_of_scope.yaml"
    return own if own.exists() else GENERIC_TERMS


def load_lexicon(knowledge_dir: Path | str) -> Lexicon:
    """Read ``lexicon/`` under *knowledge_dir*; every file is optional (without
    ``out_of_scope.yaml``, the bot's generic words are used)."""
    directory = Path(knowledge_dir) / LEXICON_DIR
    if directory.is_file():
        message = "the lexicon folder is a file, not a folder"
        raise KnowledgeError([Problem(str(directory), 0, message)])
    problems: list[Problem] = []
    words = _user_words(directory / "userdict.txt", problems)
    synonyms = _synonyms(directory / "synonyms.yaml", problems)
    stopwords = frozenset(
        word
        for _, line in _read_lines(directory / "stopwords.txt", problems)
        if (word := _word(line))
    )
    out_of_scope, in_scope_with = _terms(terms_file(knowledge_dir), problems)
    intent_words = frozenset(
        synonyms.get(word, word) for word in _word_list(directory / "intent_words.txt", problems)
    )
    if problems:
        raise KnowledgeError(problems)
    phrases = {variant: synonyms.pop(variant) for variant in list(synonyms) if " " in variant}
    in_scope_with = {
        term: frozenset(synonyms.get(word, word) for word in others)
        for term, others in in_scope_with.items()
    }
    return Lexicon(words, synonyms, stopwords, out_of_scope, intent_words, phrases, in_scope_with)
