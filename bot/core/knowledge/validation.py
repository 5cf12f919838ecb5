"""Validating knowledge files: each entry's fields, then what entries and files say of each
other (duplicate questions, related ids, taught and declined questions)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from pathlib import Path

from bot.core.knowledge.model import Entry, Example, Image, Problem, Source
from bot.core.knowledge.yamlfile import Located
from bot.core.text import normalize

LEARNED_FILE = "learned.yaml"
DECLINED_FILE = "declined.yaml"
"""Example questions the bot must decline (near the topics, or everyday ones)."""
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_ID_CHARS = 64
"""Telegram's limit for a /start deep-link parameter."""
MIN_QUESTIONS = 3
ADVISED_QUESTIONS = 5
"""``kb check`` warns about an entry with fewer phrasings than this."""
MAX_TITLE_CHARS = 30
MAX_CAPTION_CHARS = 1024
ENTRY_FIELDS = frozenset(
    {"id", "title", "category", "questions", "answer", "steps", "images", "related", "source"}
)
FILE_DEFAULTS = frozenset({"source", "category"})


class Validator:
    """Collects problems while turning raw YAML into entries."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.problems: list[Problem] = []
        self.file = ""
        self.ids: set[str] = set()
        """Every id an entry declares, valid or not (for cross-references)."""

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.file, line, message))

    def text(self, node: Located | None, what: str, line: int, *, required: bool = True) -> str:
        if node is None or node.value is None:
            if required:
                self.problem(line, f"{what} is missing")
            return ""
        if isinstance(node.value, dt.date):
            return node.value.isoformat()
        if not isinstance(node.value, str | int | float) or isinstance(node.value, bool):
            self.problem(node.line, f"{what} must be text, not {_kind(node.value)}")
            return ""
        value = str(node.value).strip()
        if required and not value:
            self.problem(node.line, f"{what} is empty")
        return value

    def texts(self, node: Located | None, what: str, line: int) -> list[tuple[str, int]]:
        if node is None or node.value is None:
            return []
        if not isinstance(node.value, list):
            self.problem(node.line, f"{what} must be a list, not {_kind(node.value)}")
            return []
        items = []
        for item in node.value:
            value = self.text(item, f"an item of {what}", item.line)
            if value:
                items.append((value, item.line))
        return items

    def source(self, node: Located | None, where: str, line: int) -> Source | None:
        if node is None or node.value is None:
            self.problem(line, f"{where}: source is missing (outlet and date of the article)")
            return None
        if not isinstance(node.value, dict):
            self.problem(node.line, f"{where}: source must be a mapping with outlet and date")
            return None
        fields = node.value
        outlet = self.text(fields.get("outlet"), f"{where}: source outlet", node.line)
        date = self.text(fields.get("date"), f"{where}: source date", node.line)
        if date and not _is_iso_date(date):
            self.problem(fields["date"].line, f"{where}: source date {date!r} is not YYYY-MM-DD")
        title = self.text(fields.get("title"), "source title", node.line, required=False)
        url = self.text(fields.get("url"), "source url", node.line, required=False)
        return Source(outlet, date, title, url) if outlet and date else None

    def images(self, node: Located | None, where: str) -> list[Image]:
        if node is None or node.value is None:
            return []
        if not isinstance(node.value, list):
            self.problem(node.line, f"{where}: images must be a list")
            return []
        images = []
        for item in node.value:
            if not isinstance(item.value, dict):
                self.problem(item.line, f"{where}: an image must be a mapping with file or url")
                continue
            caption = self.text(
                item.value.get("caption"), "image caption", item.line, required=False
            )
            if len(caption) > MAX_CAPTION_CHARS:
                self.problem(
                    item.line, f"{where}: image caption over {MAX_CAPTION_CHARS} characters"
                )
            file = self.text(item.value.get("file"), "image file", item.line, required=False)
            url = self.text(item.value.get("url"), "image url", item.line, required=False)
            if bool(file) == bool(url):
                self.problem(item.line, f"{where}: an image needs exactly one of file or url")
            elif file:
                try:
                    path = (self.directory / file).resolve()
                    inside = path.is_relative_to(self.directory.resolve())
                    exists = inside and path.is_file()
                except (OSError, ValueError):
                    self.problem(item.line, f"{where}: image file {file!r} is not a usable name")
                    continue
                if not inside:
                    self.problem(item.line, f"{where}: image file {file!r} is outside knowledge/")
                elif not exists:
                    self.problem(item.line, f"{where}: image file {file!r} does not exist")
                else:
                    images.append(Image(caption, path=path))
            elif not url.startswith(("https://", "http://")):
                self.problem(item.line, f"{where}: image url {url!r} must start with https://")
            else:
                images.append(Image(caption, url=url))
        return images

    def entry(
        self, node: Located, defaults: dict[str, Located]
    ) -> tuple[Entry, dict[str, int]] | None:
        if not isinstance(node.value, dict):
            self.problem(node.line, f"an entry must be a mapping, not {_kind(node.value)}")
            return None
        raw = {**defaults, **node.value}
        entry_id = self.text(raw.get("id"), "entry id", node.line)
        self.ids.add(entry_id)
        where = f"entry {entry_id!r}" if entry_id else "entry without id"
        for unknown in sorted(set(node.value) - ENTRY_FIELDS):
            self.problem(node.value[unknown].line, f"{where}: unknown field {unknown!r}")
        if entry_id and not ID_PATTERN.match(entry_id):
            self.problem(
                raw["id"].line,
                f"{where}: id must be lowercase letters, digits and '-' (like apply-e-card)",
            )
        if len(entry_id) > MAX_ID_CHARS:
            self.problem(
                raw["id"].line,
                f"{where}: id is {len(entry_id)} characters long; keep it to {MAX_ID_CHARS} "
                "so that it fits a /start link",
            )
        title = self.text(raw.get("title"), f"{where}: title", node.line)
        if len(title) > MAX_TITLE_CHARS:
            self.problem(
                raw["title"].line,
                f"{where}: title is {len(title)} characters long; keep it to {MAX_TITLE_CHARS} "
                "(it is shown on buttons)",
            )
        category = self.text(raw.get("category"), f"{where}: category", node.line)
        answer = self.text(raw.get("answer"), f"{where}: answer", node.line)
        questions = self.texts(raw.get("questions"), f"{where}: questions", node.line)
        if len(questions) < MIN_QUESTIONS:
            self.problem(
                raw["questions"].line if "questions" in raw else node.line,
                f"{where}: has {len(questions)} questions, needs at least {MIN_QUESTIONS}",
            )
        steps = self.texts(raw.get("steps"), f"{where}: steps", node.line)
        related = self.texts(raw.get("related"), f"{where}: related", node.line)
        source = self.source(raw.get("source"), where, node.line)
        images = self.images(raw.get("images"), where)
        if not (entry_id and title and category and answer and source):
            return None
        entry = Entry(
            id=entry_id,
            title=title,
            category=category,
            questions=tuple(question for question, _ in questions),
            answer=answer,
            source=source,
            steps=tuple(step for step, _ in steps),
            images=tuple(images),
            related=tuple(ref for ref, _ in related),
            location=f"{self.file}:{node.line}",
        )
        lines = {question: line for question, line in questions}
        lines.update({f"related:{ref}": line for ref, line in related})
        return entry, lines


def _kind(value: object) -> str:
    return {dict: "a mapping", list: "a list", bool: "true/false"}.get(type(value), "a value")


def _is_iso_date(value: str) -> bool:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def check_declined(entries: list[Entry], declined: list[Example], validator: Validator) -> None:
    """A question cannot be both one to answer and one to decline."""
    owner = {normalize(text): entry.id for entry in entries for text in entry.phrasings}
    for example in declined:
        entry_id = owner.get(normalize(example.text))
        if entry_id is not None:
            file, line = example.location.rsplit(":", 1)
            message = (
                f"declined question {example.text!r} is also a question of entry "
                f"{entry_id!r}; keep it in one place"
            )
            validator.problems.append(Problem(file, int(line), message))


def check_cross_references(
    entries: list[Entry],
    lines: dict[str, dict[str, int]],
    taught: list[tuple[str, str, int]],
    validator: Validator,
    *,
    related: bool = True,
) -> list[Entry]:
    # An entry with problems of its own is still known: a reference to it is not a new problem.
    known = {entry.id for entry in entries} | validator.ids
    owner: dict[str, tuple[str, str]] = {}
    for entry in entries:
        file = entry.location.rsplit(":", 1)[0]
        for question in entry.phrasings[1:]:
            key = normalize(question)
            line = lines[entry.id].get(question, 0)
            if not key:
                validator.problems.append(
                    Problem(file, line, f"entry {entry.id!r}: question {question!r} has no words")
                )
            elif key in owner and owner[key][0] != entry.id:
                validator.problems.append(
                    Problem(
                        file,
                        line,
                        f"entry {entry.id!r}: question {question!r} is also in entry "
                        f"{owner[key][0]!r} ({owner[key][1]}); keep it in one entry",
                    )
                )
            owner.setdefault(key, (entry.id, f"{file}:{line}"))
        for ref in entry.related:
            if related and ref not in known:
                validator.problems.append(
                    Problem(
                        file,
                        lines[entry.id].get(f"related:{ref}", 0),
                        f"entry {entry.id!r}: related id {ref!r} does not exist",
                    )
                )
    learned: dict[str, list[str]] = {}
    learned_file = str(validator.directory / LEARNED_FILE)
    for question, entry_id, line in taught:
        key = normalize(question)
        if entry_id not in known:
            validator.problems.append(
                Problem(
                    learned_file, line, f"learned question {question!r}: unknown id {entry_id!r}"
                )
            )
        elif key in owner and owner[key][0] != entry_id:
            validator.problems.append(
                Problem(
                    learned_file,
                    line,
                    f"learned question {question!r} is already a question "
                    f"of entry {owner[key][0]!r} ({owner[key][1]})",
                )
            )
        elif key not in owner:
            owner[key] = (entry_id, f"{learned_file}:{line}")
            learned.setdefault(entry_id, []).append(question)
    return [replace(entry, learned=tuple(learned.get(entry.id, ()))) for entry in entries]
