"""The matcher's language data: domain words, synonyms, stopwords, out-of-scope topics."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.core.knowledge import KnowledgeError, Problem
from bot.core.text import normalize

LEXICON_DIR = "lexicon"


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

    @property
    def vocabulary(self) -> frozenset[str]:
        """Every word the segmenter must keep whole."""
        kept = frozenset(word for word, freq in self.words.items() if freq != 0)
        return kept | frozenset(self.synonyms) | self.out_of_scope

    def canonical(self, token: str) -> str:
        """The canonical form of *token* (itself unless it is a known variant)."""
        return self.synonyms.get(token, token)


def _read_lines(path: Path, problems: list[Problem]) -> list[tuple[int, str]]:
    if not path.exists():
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        problems.append(Problem(str(path), 1, f"cannot read the file: {error}"))
        return []
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if line:
            lines.append((number, line))
    return lines


def _read_yaml(path: Path, problems: list[Problem]) -> object:
    if not path.exists():
        return None
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        problems.append(
            Problem(str(path), mark.line + 1 if mark else 1, f"YAML syntax error: {error.problem}")
        )
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        problems.append(Problem(str(path), 1, f"cannot read the file: {error}"))
    return None


def _word(raw: object) -> str:
    return normalize(str(raw)).replace(" ", "")


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
    data = _read_yaml(path, problems)
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.append(Problem(str(path), 1, "synonyms must map a canonical word to a list"))
        return {}
    synonyms: dict[str, str] = {}
    for raw_canonical, variants in data.items():
        canonical = _word(raw_canonical)
        if not isinstance(variants, list):
            problems.append(
                Problem(str(path), 1, f"synonyms of {raw_canonical!r} must be a list of words")
            )
            continue
        for raw_variant in variants:
            variant = _word(raw_variant)
            if not variant or variant == canonical:
                continue
            if synonyms.get(variant, canonical) != canonical:
                problems.append(
                    Problem(
                        str(path),
                        1,
                        f"{raw_variant!r} is listed under both {synonyms[variant]!r} and "
                        f"{raw_canonical!r}; keep it under one",
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


def _terms(path: Path, problems: list[Problem]) -> frozenset[str]:
    data = _read_yaml(path, problems)
    if data is None:
        return frozenset()
    terms = data.get("terms") if isinstance(data, dict) else None
    if not isinstance(terms, list):
        problems.append(Problem(str(path), 1, "out_of_scope.yaml needs a 'terms' list"))
        return frozenset()
    return frozenset(word for word in map(_word, terms) if word)


def load_lexicon(knowledge_dir: Path | str) -> Lexicon:
    """Read ``lexicon/`` under *knowledge_dir*; every file is optional."""
    directory = Path(knowledge_dir) / LEXICON_DIR
    problems: list[Problem] = []
    words = _user_words(directory / "userdict.txt", problems)
    synonyms = _synonyms(directory / "synonyms.yaml", problems)
    stopwords = frozenset(
        word
        for _, line in _read_lines(directory / "stopwords.txt", problems)
        if (word := _word(line))
    )
    out_of_scope = _terms(directory / "out_of_scope.yaml", problems)
    intent_words = frozenset(
        synonyms.get(word, word) for word in _word_list(directory / "intent_words.txt", problems)
    )
    if problems:
        raise KnowledgeError(problems)
    return Lexicon(words, synonyms, stopwords, out_of_scope, intent_words)
