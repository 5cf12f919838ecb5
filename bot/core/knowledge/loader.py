"""Loading the knowledge folder: its entry files, learned.yaml and declined.yaml, read,
validated and returned whole, or refused with every problem."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import yaml

from bot.core.knowledge.model import Entry, Example, KnowledgeBase, KnowledgeError, Problem
from bot.core.knowledge.validation import (
    DECLINED_FILE,
    FILE_DEFAULTS,
    LEARNED_FILE,
    Validator,
    check_cross_references,
    check_declined,
)
from bot.core.knowledge.yamlfile import Located, compose_located, read_text, yaml_problem


def _entry_files(directory: Path) -> list[Path]:
    """The entry files in *directory*; ``KnowledgeError`` if the folder cannot be listed."""
    folder = str(directory)
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        message = "the knowledge folder does not exist"
    except NotADirectoryError:
        message = "the knowledge folder is a file, not a folder"
    except PermissionError:
        message = "cannot open the knowledge folder: permission denied"
    except OSError as error:
        message = f"cannot open the knowledge folder: {error.strerror or error}"
    else:
        return sorted(
            directory / name
            for name in names
            if name.endswith(".yaml") and name not in (LEARNED_FILE, DECLINED_FILE)
        )
    raise KnowledgeError([Problem(folder, 0, message)])


def _read(path: Path, validator: Validator, *, optional: bool = False) -> Located | None:
    try:
        text = read_text(path, optional=optional)
    except KnowledgeError as error:
        validator.problems.extend(error.problems)
        return None
    if text is None:
        return None
    try:
        return compose_located(text)
    except (yaml.YAMLError, RecursionError) as error:
        validator.problems.append(yaml_problem(str(path), text, error))
    return None


def _raw_entries(
    root: Located | None, validator: Validator
) -> Iterator[tuple[Located, dict[str, Located]]]:
    if root is None or root.value is None:
        validator.problem(1, "the file holds no entries")
        return
    defaults: dict[str, Located] = {}
    items = root.value
    if isinstance(items, dict):
        for key in sorted(set(items) - FILE_DEFAULTS - {"entries"}):
            validator.problem(items[key].line, f"unknown top-level key {key!r}")
        defaults = {key: items[key] for key in FILE_DEFAULTS if key in items}
        entries = items.get("entries")
        if entries is None or not isinstance(entries.value, list):
            validator.problem(root.line, "a mapping file needs an 'entries' list")
            return
        items = entries.value
    if not isinstance(items, list):
        validator.problem(
            root.line, "the file must be a list of entries or hold an 'entries' list"
        )
        return
    for item in items:
        yield item, defaults


def _listed(path: Path, key: str, validator: Validator, what: str) -> Located | None:
    """The list under *key* of an optional file (None: no file, or a located problem)."""
    validator.file = str(path)
    root = _read(path, validator, optional=True)
    if root is None or root.value is None:
        return None
    items: Located | None = root.value.get(key) if isinstance(root.value, dict) else None
    if items is None or not isinstance(items.value, list):
        validator.problem(root.line, f"{path.name} needs a '{key}' list{what}")
        return None
    return items


def _learned(directory: Path, validator: Validator) -> list[tuple[str, str, int]]:
    items = _listed(directory / LEARNED_FILE, "learned", validator, "")
    if items is None:
        return []
    taught = []
    for item in items.value:
        if not isinstance(item.value, dict):
            validator.problem(item.line, "a learned item must be a mapping with question and id")
            continue
        question = validator.text(item.value.get("question"), "learned question", item.line)
        entry_id = validator.text(item.value.get("id"), "learned id", item.line)
        if question and entry_id:
            taught.append((question, entry_id, item.line))
    return taught


def _declined(directory: Path, validator: Validator) -> list[Example]:
    path = directory / DECLINED_FILE
    items = _listed(path, "declined", validator, " of questions")
    if items is None:
        return []
    return [
        Example(text, f"{path}:{line}")
        for text, line in validator.texts(items, "declined", items.line)
    ]


def load_knowledge(directory: Path | str) -> KnowledgeBase:
    """Read, validate and return the knowledge base in *directory*.

    Raises ``KnowledgeError`` listing every problem found, so nothing half-valid is used.
    """
    directory = Path(directory)
    validator = Validator(directory)
    files = _entry_files(directory)
    if not files:
        raise KnowledgeError(
            [Problem(str(directory), 0, "no *.yaml files in the knowledge folder")]
        )
    entries: list[Entry] = []
    lines: dict[str, dict[str, int]] = {}
    unread = False
    for path in files:
        validator.file = str(path)
        before = len(validator.problems)
        root = _read(path, validator)
        if len(validator.problems) > before:
            unread = True
            continue
        for node, defaults in _raw_entries(root, validator):
            result = validator.entry(node, defaults)
            if result is None:
                continue
            entry, entry_lines = result
            if entry.id in lines:
                first = next(e for e in entries if e.id == entry.id)
                validator.problem(
                    node.line, f"duplicate id {entry.id!r} (first at {first.location})"
                )
                continue
            entries.append(entry)
            lines[entry.id] = entry_lines
    taught = _learned(directory, validator)
    declined = _declined(directory, validator)
    # An unreadable file's entries are unknown: "related id does not exist" would only be noise.
    entries = check_cross_references(entries, lines, taught, validator, related=not unread)
    check_declined(entries, declined, validator)
    if validator.problems:
        raise KnowledgeError(validator.problems)
    return KnowledgeBase(tuple(entries), directory, tuple(declined))
