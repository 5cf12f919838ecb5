"""Reading knowledge files: bytes to UTF-8 text, text to YAML values with their lines, and
PyYAML's errors turned into located problems in plain words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.core.knowledge.model import KnowledgeError, Problem


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


class Located:
    """A YAML value with the line it starts on (1-based)."""

    __slots__ = ("line", "value")

    def __init__(self, value: Any, line: int) -> None:
        self.value = value
        self.line = line


def _plain(value: Any) -> Any:
    """*value* with every ``Located`` unwrapped."""
    if isinstance(value, Located):
        return _plain(value.value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _to_python(node: yaml.Node, constructor: YamlLoader) -> Any:
    """Turn a composed YAML node into Python values wrapped in ``Located`` with lines."""
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        mapping: dict[str, Located] = {}
        for key_node, value_node in node.value:
            key = _plain(_to_python(key_node, constructor))
            mapping[str(key)] = _to_python(value_node, constructor)
            mapping[str(key)].line = min(mapping[str(key)].line, key_node.start_mark.line + 1)
        return Located(mapping, line)
    if isinstance(node, yaml.SequenceNode):
        return Located([_to_python(item, constructor) for item in node.value], line)
    return Located(constructor.construct_object(node, deep=True), line)


def compose_located(text: str) -> Located | None:
    root = compose_yaml(text)
    return None if root is None else _to_python(root, YamlLoader(""))
