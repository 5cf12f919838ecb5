"""Loading and validating the knowledge base: YAML files of FAQ entries."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

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


class BadValueError(yaml.constructor.ConstructorError):
    """A YAML value that looks like a date or number but is not one (``2021-13-45``, ``0x_``)."""


class _LocatedValues:
    """A value PyYAML cannot convert (``date: 2021-13-45``) becomes a located YAML error.

    The plain safe loader lets a bare ``ValueError`` escape.
    """

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)  # type: ignore[misc]
        except (ValueError, TypeError, OverflowError) as error:
            shown = node.value if isinstance(node, yaml.ScalarNode) else node.tag
            raise BadValueError(
                None,
                None,
                f"the value {shown!r} cannot be read ({error}); put it in quotes if it is text",
                node.start_mark,
            ) from error


class YamlLoader(_LocatedValues, yaml.SafeLoader):
    """PyYAML's pure-Python safe loader: slow, but its errors are the most readable."""


_LIBYAML: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class FastYamlLoader(_LocatedValues, _LIBYAML):  # type: ignore[misc,valid-type]
    """libyaml's parser when PyYAML has it: it reads the shipped KB about 15 times faster."""


_SAFE_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "seq", "map", "timestamp", "merge")
)


MAX_FILE_BYTES = 1024 * 1024
"""A knowledge file may hold at most this much (the shipped ones hold under 20 KB)."""
MAX_YAML_VALUES = 100_000
"""Values a YAML file may hold, each alias (``*name``) counted as all it stands for: a few
lines of nested aliases can stand for billions (an "alias bomb")."""


class TooComplexError(yaml.composer.ComposerError):
    """A YAML file whose aliases refer to themselves or stand for too many values."""


def compose_yaml(text: str) -> yaml.Node | None:
    """The node tree of *text*; on an error, the pure-Python parser's located explanation.

    A tag the safe loader would refuse (``!!python/object``) is refused here too, and so are
    aliases that contain themselves or stand for more than ``MAX_YAML_VALUES`` values.
    """
    try:
        root = yaml.compose(text, Loader=FastYamlLoader)
    except (yaml.YAMLError, RecursionError):
        root = yaml.compose(text, Loader=YamlLoader)
    if root is not None:
        _check_nodes(root)
    return root


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_nodes(root: yaml.Node) -> None:
    """Check each distinct node once: its tag, and how many values it stands for with every
    alias expanded (a node an alias shares is counted where it is used, not walked again)."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    pending: list[tuple[yaml.Node, bool]] = [(root, False)]
    while pending:
        node, finished = pending.pop()
        key = id(node)
        if finished:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] > MAX_YAML_VALUES:
                raise TooComplexError(
                    None,
                    None,
                    f"with its aliases (*name) expanded, this holds more than "
                    f"{MAX_YAML_VALUES:,} values; write the values out, or split the file",
                    node.start_mark,
                )
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise TooComplexError(
                None, None, "an alias (*name) refers to a value it is part of", node.start_mark
            )
        if node.tag not in _SAFE_TAGS:
            raise yaml.constructor.ConstructorError(
                None, None, f"the tag {node.tag!r} is not allowed here", node.start_mark
            )
        on_path.add(key)
        pending.append((node, True))
        pending.extend((child, False) for child in _children(node))


def load_yaml(text: str) -> Any:
    """Python values of *text*, read and checked like ``compose_yaml``."""
    try:
        return _load(text, FastYamlLoader)
    except TooComplexError:
        raise
    except (yaml.YAMLError, RecursionError):
        return _load(text, YamlLoader)


def _load(text: str, loader_class: type[yaml.SafeLoader]) -> Any:
    loader = loader_class(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        _check_nodes(root)
        return loader.construct_document(root)
    finally:
        loader.dispose()


def read_text(path: Path, *, optional: bool = False) -> str | None:
    """The UTF-8 text of the file at *path*; None if it is *optional* and does not exist.

    Raises ``KnowledgeError`` with one problem, in plain words, when the file cannot be read.
    """
    file = str(path)
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        if optional:
            return None
        raise KnowledgeError([Problem(file, 1, "the file does not exist")]) from None
    except IsADirectoryError:
        raise KnowledgeError([Problem(file, 1, "this is a folder, not a file")]) from None
    except PermissionError:
        message = "cannot read the file: permission denied"
        raise KnowledgeError([Problem(file, 1, message)]) from None
    except OSError as error:
        message = f"cannot read the file: {error.strerror or error}"
        raise KnowledgeError([Problem(file, 1, message)]) from None
    if len(data) > MAX_FILE_BYTES:
        message = (
            f"the file is larger than {MAX_FILE_BYTES // 1024:,} KB, the most a knowledge file "
            "may hold; split it into several files"
        )
        raise KnowledgeError([Problem(file, 1, message)])
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        message = "the file is saved as UTF-16; save it as UTF-8"
        raise KnowledgeError([Problem(file, 1, message)])
    if b"\0" in data:
        line = data.count(b"\n", 0, data.index(b"\0")) + 1
        message = "this is not a text file (it holds binary data); save it as UTF-8 text"
        raise KnowledgeError([Problem(file, line, message)])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        message = (
            f"the file is not UTF-8 text (byte 0x{data[error.start]:02X} cannot be read); "
            "save it as UTF-8"
        )
        raise KnowledgeError([Problem(file, line, message)]) from None


_SCANNER_HINTS = {
    "while scanning a simple key": "is the ':' after a key missing?",
    "while scanning a quoted scalar": "is a quote left open?",
}


def yaml_problem(file: str, text: str, error: Exception) -> Problem:
    """The located, readable problem for an error PyYAML raised while reading *text*."""
    if isinstance(error, yaml.reader.ReaderError):
        line = text.count("\n", 0, error.position) + 1
        character = error.character if isinstance(error.character, int) else 0
        return Problem(
            file, line, f"character U+{character:04X} is not allowed in a YAML file; delete it"
        )
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        if isinstance(error, yaml.scanner.ScannerError) and error.context_mark is not None:
            # Where the scanner gave up is often the next line (a key without ':') or the end
            # of the file (an unclosed quote); the faulty token starts at the context mark.
            mark = error.context_mark
        line = mark.line + 1 if mark else 1
        if isinstance(error, BadValueError | TooComplexError):
            return Problem(file, line, str(error.problem))
        message = f"YAML syntax error: {error.problem or error}"
        if isinstance(error, yaml.scanner.ScannerError) and error.context:
            message += f" ({error.context} that starts on this line)"
            hint = _SCANNER_HINTS.get(error.context)
            if hint:
                message += f"; {hint}"
        return Problem(file, line, message)
    if isinstance(error, RecursionError):
        return Problem(file, 1, "the file is nested too deeply to read")
    return Problem(file, 1, f"YAML error: {error}")


class _Node:
    """A YAML value with the line it starts on (1-based)."""

    __slots__ = ("line", "value")

    def __init__(self, value: Any, line: int) -> None:
        self.value = value
        self.line = line


def _plain(value: Any) -> Any:
    """*value* with every ``_Node`` unwrapped."""
    if isinstance(value, _Node):
        return _plain(value.value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _to_python(node: yaml.Node, constructor: YamlLoader) -> Any:
    """Turn a composed YAML node into Python values wrapped in ``_Node`` with lines."""
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        mapping: dict[str, _Node] = {}
        for key_node, value_node in node.value:
            key = _plain(_to_python(key_node, constructor))
            mapping[str(key)] = _to_python(value_node, constructor)
            mapping[str(key)].line = min(mapping[str(key)].line, key_node.start_mark.line + 1)
        return _Node(mapping, line)
    if isinstance(node, yaml.SequenceNode):
        return _Node([_to_python(item, constructor) for item in node.value], line)
    return _Node(constructor.construct_object(node, deep=True), line)


def _compose(text: str) -> _Node | None:
    root = compose_yaml(text)
    return None if root is None else _to_python(root, YamlLoader(""))


class _Validator:
    """Collects problems while turning raw YAML into entries."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.problems: list[Problem] = []
        self.file = ""
        self.ids: set[str] = set()
        """Every id an entry declares, valid or not (for cross-references)."""

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.file, line, message))

    def text(self, node: _Node | None, what: str, line: int, *, required: bool = True) -> str:
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

    def texts(self, node: _Node | None, what: str, line: int) -> list[tuple[str, int]]:
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

    def source(self, node: _Node | None, where: str, line: int) -> Source | None:
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

    def images(self, node: _Node | None, where: str) -> list[Image]:
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
        self, node: _Node, defaults: dict[str, _Node]
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


def _read(path: Path, validator: _Validator, *, optional: bool = False) -> _Node | None:
    try:
        text = read_text(path, optional=optional)
    except KnowledgeError as error:
        validator.problems.extend(error.problems)
        return None
    if text is None:
        return None
    try:
        return _compose(text)
    except (yaml.YAMLError, RecursionError) as error:
        validator.problems.append(yaml_problem(str(path), text, error))
    return None


def _raw_entries(
    root: _Node | None, validator: _Validator
) -> Iterator[tuple[_Node, dict[str, _Node]]]:
    if root is None or root.value is None:
        validator.problem(1, "the file holds no entries")
        return
    defaults: dict[str, _Node] = {}
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


def _listed(path: Path, key: str, validator: _Validator, what: str) -> _Node | None:
    """The list under *key* of an optional file (None: no file, or a located problem)."""
    validator.file = str(path)
    root = _read(path, validator, optional=True)
    if root is None or root.value is None:
        return None
    items: _Node | None = root.value.get(key) if isinstance(root.value, dict) else None
    if items is None or not isinstance(items.value, list):
        validator.problem(root.line, f"{path.name} needs a '{key}' list{what}")
        return None
    return items


def _learned(directory: Path, validator: _Validator) -> list[tuple[str, str, int]]:
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


def _declined(directory: Path, validator: _Validator) -> list[Example]:
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
    validator = _Validator(directory)
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
    entries = _check_cross_references(entries, lines, taught, validator, related=not unread)
    _check_declined(entries, declined, validator)
    if validator.problems:
        raise KnowledgeError(validator.problems)
    return KnowledgeBase(tuple(entries), directory, tuple(declined))


def _check_declined(entries: list[Entry], declined: list[Example], validator: _Validator) -> None:
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


def _check_cross_references(
    entries: list[Entry],
    lines: dict[str, dict[str, int]],
    taught: list[tuple[str, str, int]],
    validator: _Validator,
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
