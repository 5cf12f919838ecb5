"""A broken knowledge base is reported, file:line, and never replaces a working one.

Each property test mutates one YAML file of a private copy of the shipped knowledge base (one
mutation per example, restored afterwards): truncation, a deleted or doubled line, garbage or
invalid UTF-8 bytes, a tab, a renamed key, a value of the wrong type, an empty or binary file.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.cli import main
from bot.core.faq import Faq
from bot.core.knowledge import KnowledgeError, Problem, load_knowledge, load_yaml
from bot.core.lexicon import load_lexicon
from bot.core.render import render_decision
from tests.conftest import KNOWLEDGE, ROOT

ENTRY_FILES = ("e-card.yaml", "services.yaml", "third-gen-card.yaml")
LEXICON_FILES = ("lexicon/synonyms.yaml", "lexicon/out_of_scope.yaml")
KEYS = (
    "id",
    "title",
    "category",
    "questions",
    "answer",
    "steps",
    "images",
    "related",
    "source",
    "outlet",
    "date",
    "entries",
    "file",
    "caption",
    "url",
    "terms",
)
WRONG_VALUES = (
    "[1, 2]",
    "{a: b}",
    "true",
    "null",
    "~",
    "123",
    "1.5",
    ".inf",
    "2021-13-45",
    "2021-11-30 25:00:00",
    "0x_",
    "0b_",
    "''",
    "!!binary aGk=",
    "!!python/object/apply:os.system [echo]",
    "!!int x",
    "&anchor x",
    "*nowhere",
    "|",
    "- x",
    "@x",
    "`x`",
    "%x",
    '"\\0"',
    '"a\\x00b"',
    "[" * 400,
)
GARBAGE = (
    b"\t",
    b"\xff",
    b"\xc3\x28",
    b"\xe2\x82",
    b"\x00",
    b"\x07",
    b"\x1b[0m",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\r",
    b":",
    b": ",
    b"- ",
    b"  ",
    b"[",
    b"{",
    b'"',
    b"'",
    b"#",
    b"&",
    b"*",
    b"!",
    b"|",
    b"%YAML 1.1\n---\n",
    b"\n---\n",
    b"...",
)
QUESTIONS = (
    "电子社保卡怎么领",
    "失业金怎么申领",
    "养老资格认证怎么做",
    "第三代社保卡有什么用",
    "公积金怎么提",
)
_KEY = re.compile(rb"^(\s*(?:-\s+)?)([^\s:#\[\]{},\"'-][^:#]*?):(?:\s|$)")
_VALUE = re.compile(rb"^(\s*(?:-\s+)?[^\s:#\[\]{},\"'-][^:#]*?:[ \t]+)(\S.*)$|^(\s*-\s+)(\S.*)$")
_LOCATED = re.compile(r"^(?P<file>.+):(?P<line>\d+): (?P<message>\S.*)$")
_TECHNICAL = re.compile(r"Errno|Traceback|object at 0x|<unicode string>|codec")


class Mutation:
    """One file of the knowledge base replaced by broken bytes; shown briefly on failure."""

    def __init__(self, file: str, what: str, data: bytes) -> None:
        self.file = file
        self.what = what
        self.data = data

    def __repr__(self) -> str:
        return f"Mutation({self.file!r}, {self.what})"


def mutations(texts: dict[str, bytes]) -> st.SearchStrategy[Mutation]:
    """Mutations of one of *texts* (relative file name -> content)."""

    @st.composite
    def mutate(draw: st.DrawFn) -> Mutation:
        name = draw(st.sampled_from(sorted(texts)))
        data = texts[name]
        lines = data.splitlines(keepends=True)
        line = draw(st.integers(0, len(lines) - 1))
        at = draw(st.integers(0, len(data)))
        kind = draw(
            st.sampled_from(
                (
                    "truncate",
                    "delete line",
                    "duplicate line",
                    "insert garbage",
                    "insert tab",
                    "rename key",
                    "wrong type",
                    "empty",
                    "binary",
                )
            )
        )
        if kind == "truncate":
            return Mutation(name, f"truncated at byte {at}", data[:at])
        if kind == "delete line":
            return Mutation(
                name, f"line {line + 1} deleted", b"".join(lines[:line] + lines[line + 1 :])
            )
        if kind == "duplicate line":
            return Mutation(
                name, f"line {line + 1} doubled", b"".join(lines[: line + 1] + lines[line:])
            )
        if kind in ("insert garbage", "insert tab"):
            junk = (
                b"\t"
                if kind == "insert tab"
                else draw(st.sampled_from(GARBAGE) | st.binary(min_size=1, max_size=8))
            )
            return Mutation(name, f"{junk!r} inserted at byte {at}", data[:at] + junk + data[at:])
        if kind == "rename key":
            keyed = [i for i, text in enumerate(lines) if _KEY.match(text)]
            index = draw(st.sampled_from(keyed))
            old = _KEY.match(lines[index])
            assert old is not None
            new = draw(
                st.sampled_from([*(key.encode() for key in KEYS), old[2] + b"s", old[2].upper()])
            )
            changed = lines[index][: old.start(2)] + new + lines[index][old.end(2) :]
            what = f"line {index + 1}: key {old[2].decode()!r} renamed {new.decode()!r}"
            return Mutation(name, what, b"".join([*lines[:index], changed, *lines[index + 1 :]]))
        if kind == "wrong type":
            valued = [i for i, text in enumerate(lines) if _VALUE.match(text.rstrip(b"\r\n"))]
            index = draw(st.sampled_from(valued))
            match = _VALUE.match(lines[index].rstrip(b"\r\n"))
            assert match is not None
            prefix = match[1] if match[1] is not None else match[3]
            value = draw(st.sampled_from(WRONG_VALUES))
            changed = prefix + value.encode() + b"\n"
            what = f"line {index + 1} set to {value[:20]!r}"
            return Mutation(name, what, b"".join([*lines[:index], changed, *lines[index + 1 :]]))
        if kind == "empty":
            return Mutation(
                name, "emptied", draw(st.sampled_from([b"", b"\n", b"  \n\n", b"#\n"]))
            )
        noise = draw(st.binary(min_size=1, max_size=256))
        png = (KNOWLEDGE / "images" / "apply-e-card.png").read_bytes()[:2048]
        return Mutation(name, "binary", draw(st.sampled_from([noise, png, b"\x00" + noise])))

    return mutate()


def originals(directory: Path, names: tuple[str, ...]) -> dict[str, bytes]:
    return {name: (directory / name).read_bytes() for name in names}


@contextlib.contextmanager
def applied(directory: Path, mutation: Mutation, original: bytes) -> Iterator[Path]:
    """The mutated file in place for the block, the original restored afterwards."""
    path = directory / mutation.file
    path.write_bytes(mutation.data)
    try:
        yield path
    finally:
        path.write_bytes(original)


def problems_of(directory: Path, *, lexicon: bool) -> list[Problem]:
    """Problems from the loader that reads the mutated file; any other exception escapes."""
    try:
        if lexicon:
            load_lexicon(directory)
        else:
            load_knowledge(directory)
    except KnowledgeError as error:
        assert error.problems, "a KnowledgeError must say what is wrong"
        return list(error.problems)
    return []


def parses(data: bytes) -> bool:
    """Whether the knowledge base's YAML reader takes *data* as UTF-8 YAML without any error."""
    try:
        load_yaml(data.decode("utf-8"))
    except Exception:
        return False
    return b"\x00" not in data


def line_count(data: bytes) -> int:
    """Lines as YAML and editors count them: CR, LF and CRLF end a line, so do NEL, LS, PS."""
    try:
        return len(re.findall("\r\n|[\r\n\x85\u2028\u2029]", data.decode("utf-8"))) + 1
    except UnicodeDecodeError:
        return len(re.findall(rb"\r\n|[\r\n]", data)) + 1


def assert_located(problems: list[Problem], directory: Path, path: Path, data: bytes) -> None:
    """Every problem names a file of the knowledge base, and a line in it, in plain words."""
    for problem in problems:
        assert _LOCATED.match(str(problem)), str(problem)
        file = Path(problem.file)
        assert file == directory or file.is_relative_to(directory), problem
        if file != directory:
            assert file.is_file(), problem
            assert 1 <= problem.line <= line_count(data if file == path else file.read_bytes())
        assert not _TECHNICAL.search(problem.message), problem
    if not parses(data):
        assert any(Path(problem.file) == path for problem in problems), problems


def test_mutated_entry_files_load_or_are_reported(kb_copy: Path) -> None:
    texts = originals(kb_copy, ENTRY_FILES)

    @given(mutation=mutations(texts))
    def check(mutation: Mutation) -> None:
        with applied(kb_copy, mutation, texts[mutation.file]) as path:
            problems = problems_of(kb_copy, lexicon=False)
            assert_located(problems, kb_copy, path, mutation.data)
            if mutation.data == texts[mutation.file]:
                assert problems == []

    check()


def test_mutated_lexicon_files_load_or_are_reported(kb_copy: Path) -> None:
    texts = originals(kb_copy, LEXICON_FILES)

    @settings(max_examples=50)
    @given(mutation=mutations(texts))
    def check(mutation: Mutation) -> None:
        with applied(kb_copy, mutation, texts[mutation.file]) as path:
            problems = problems_of(kb_copy, lexicon=True)
            assert_located(problems, kb_copy, path, mutation.data)
            if mutation.data == texts[mutation.file]:
                assert problems == []

    check()


def snapshot(faq: Faq) -> list[object]:
    """What the FAQ knows and answers, to compare before and after a failed reload."""
    kb = faq.kb
    state: list[object] = [len(kb.entries), kb.phrasing_count, tuple(kb.by_id)]
    for question in QUESTIONS:
        decision = faq.ask(question)
        entry = decision.entry.id if decision.entry else None
        state.append((decision.kind, entry, render_decision(decision, kb).html))
    return state


def test_failed_reload_keeps_answering_from_the_old_kb(kb_copy: Path) -> None:
    faq = Faq(kb_copy)
    matcher, before = faq.matcher, snapshot(faq)
    answered = faq.ask(QUESTIONS[0]).entry
    assert answered is not None and answered.id == "apply-e-card"  # real answers are compared
    texts = originals(kb_copy, ENTRY_FILES + LEXICON_FILES)

    @settings(max_examples=40)
    @given(mutation=mutations(texts))
    def check(mutation: Mutation) -> None:
        with applied(kb_copy, mutation, texts[mutation.file]) as path:
            try:
                report = faq.reload()
            except KnowledgeError as error:
                assert error.problems
                assert_located(list(error.problems), kb_copy, path, mutation.data)
                # Nothing half-swapped: the very same matcher, the same answers.
                assert faq.matcher is matcher
                assert snapshot(faq) == before
            else:
                assert parses(mutation.data)
                assert faq.matcher is not matcher and report.entries == len(faq.kb.entries)
                faq.matcher = matcher  # back to the pristine KB for the next example

    check()


def run_kb_check(directory: Path) -> tuple[int, list[str]]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["kb", "check", str(directory)])
    return code, out.getvalue().splitlines()


def test_kb_check_prints_every_problem_as_file_line_message(kb_copy: Path) -> None:
    texts = originals(kb_copy, ENTRY_FILES + LEXICON_FILES)

    @settings(max_examples=25)
    @given(mutation=mutations(texts))
    def check(mutation: Mutation) -> None:
        with applied(kb_copy, mutation, texts[mutation.file]) as path:
            code, lines = run_kb_check(kb_copy)
            if code == 0:
                assert parses(mutation.data)
                assert lines[0].startswith("OK: ")
                assert all(line.startswith(("warning: ", "note: ")) for line in lines[1:])
                return
            assert code == 1 and lines
            for line in lines:
                match = _LOCATED.match(line)
                assert match, line
                assert Path(match["file"]).is_relative_to(kb_copy), line
            if not parses(mutation.data):
                assert any(line.startswith(f"{path}:") for line in lines), lines

    check()


def test_kb_check_command_exits_1_on_a_broken_copy(kb_copy: Path) -> None:
    path = kb_copy / "services.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[: len(lines) // 2]) + "  - id: [broken\n", encoding="utf-8")
    (kb_copy / "e-card.yaml").write_bytes(b"entries:\n  - id: \xff\xfe\n")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "kb", "check", str(kb_copy)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    printed = result.stdout.splitlines()
    assert all(_LOCATED.match(line) for line in printed), printed
    assert any(line.startswith(f"{path}:") and "YAML syntax error" in line for line in printed)
    assert f"{kb_copy / 'e-card.yaml'}:2: the file is not UTF-8 text" in result.stdout
    assert "problem(s) found" in result.stderr


# -- the values PyYAML itself chokes on, and the file system ---------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2021-13-45", "'2021-13-45' cannot be read (month must be in 1..12)"),
        ("2021-11-30 25:00:00", "cannot be read (hour must be in 0..23)"),
        ("0x_", "'0x_' cannot be read"),
        ("0b_", "'0b_' cannot be read"),
    ],
)
def test_a_value_yaml_cannot_convert_is_a_located_problem(
    kb_copy: Path, value: str, message: str
) -> None:
    path = kb_copy / "services.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines, start=1) if "date:" in line)
    lines[number - 1] = re.sub(r"date:.*", f"date: {value}", lines[number - 1])
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(KnowledgeError) as error:
        load_knowledge(kb_copy)
    [problem] = error.value.problems
    assert (problem.file, problem.line) == (str(path), number)
    assert message in problem.message and "put it in quotes" in problem.message
    synonyms = kb_copy / "lexicon" / "synonyms.yaml"
    synonyms.write_text(f"社保卡: [卡]\nx: {value}\n", encoding="utf-8")
    with pytest.raises(KnowledgeError) as lexicon_error:
        load_lexicon(kb_copy)
    assert [(p.file, p.line) for p in lexicon_error.value.problems] == [(str(synonyms), 2)]


@pytest.mark.parametrize(
    ("data", "line", "message"),
    [
        (
            b"entries:\n  - id: a\n    title: \xe4\xb8\n",
            3,
            "the file is not UTF-8 text (byte 0xE4",
        ),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 3, "this is not a text file"),
        ("entries: []\n".encode("utf-16"), 1, "the file is saved as UTF-16"),
        (b"entries:\n\n  - id: a\x07b\n", 3, "character U+0007 is not allowed"),
        (b"entries:\n  - id: a\n\ttitle: b\n", 3, "YAML syntax error"),
        (b"[" * 1000, 1, "the file is nested too deeply"),
    ],
)
def test_unreadable_bytes_are_located_in_plain_words(
    kb_copy: Path, data: bytes, line: int, message: str
) -> None:
    path = kb_copy / "e-card.yaml"
    path.write_bytes(data)
    with pytest.raises(KnowledgeError) as error:
        load_knowledge(kb_copy)
    mine = [p for p in error.value.problems if p.file == str(path)]
    assert [(p.line, p.message.startswith(message)) for p in mine] == [(line, True)], mine
    assert not _TECHNICAL.search(mine[0].message)


@pytest.mark.parametrize("name", ["a\x00b.png", "x" * 5000 + ".png", "/etc/passwd", "../x.png"])
def test_a_bad_image_file_name_is_a_problem_not_a_crash(kb_copy: Path, name: str) -> None:
    path = kb_copy / "e-card.yaml"
    text = path.read_text(encoding="utf-8")
    bad = name.replace("\x00", "\\0")
    path.write_text(text.replace("file: images/apply-e-card.png", f'file: "{bad}"'), "utf-8")
    with pytest.raises(KnowledgeError) as error:
        load_knowledge(kb_copy)
    [problem] = error.value.problems
    assert problem.file == str(path) and problem.line > 1
    assert "image file" in problem.message


def _is_root_like(path: Path) -> bool:
    """Whether mode 000 fails to stop this process from reading *path* (root, CAP_DAC_...)."""
    try:
        if path.is_dir():
            os.listdir(path)
        else:
            path.read_bytes()
    except PermissionError:
        return False
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _missing(kb: Path) -> Path:
    _remove(kb)
    return kb


def _a_file(kb: Path) -> Path:
    _remove(kb)
    kb.write_text("not a folder\n", encoding="utf-8")
    return kb


def _dangling_link(kb: Path) -> Path:
    _remove(kb)
    kb.symlink_to(kb.parent / "nowhere")
    return kb


def _unreadable(kb: Path) -> Path:
    kb.chmod(0)
    if _is_root_like(kb):
        kb.chmod(0o755)
        pytest.skip("mode 000 does not stop this user (root) from reading the folder")
    return kb


def _entry_file_a_folder(kb: Path) -> Path:
    path = kb / "services.yaml"
    path.unlink()
    path.mkdir()
    return path


def _entry_file_unreadable(kb: Path) -> Path:
    path = kb / "services.yaml"
    path.chmod(0)
    if _is_root_like(path):
        path.chmod(0o644)
        pytest.skip("mode 000 does not stop this user (root) from reading the file")
    return path


def _lexicon_a_file(kb: Path) -> Path:
    path = kb / "lexicon"
    shutil.rmtree(path)
    path.write_text("", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("breaking", "message"),
    [
        (_missing, "the knowledge folder does not exist"),
        (_a_file, "the knowledge folder is a file, not a folder"),
        (_dangling_link, "the knowledge folder does not exist"),
        (_unreadable, "cannot open the knowledge folder: permission denied"),
        (_entry_file_a_folder, "this is a folder, not a file"),
        (_entry_file_unreadable, "cannot read the file: permission denied"),
        (_lexicon_a_file, "the lexicon folder is a file, not a folder"),
    ],
    ids=lambda value: value.__name__.strip("_") if callable(value) else "",
)
def test_reload_of_a_missing_or_unreadable_kb_keeps_the_old_one(
    kb_copy: Path, breaking: Callable[[Path], Path], message: str
) -> None:
    faq = Faq(kb_copy)
    matcher, before = faq.matcher, snapshot(faq)
    try:
        named = breaking(kb_copy)
        with pytest.raises(KnowledgeError) as error:
            faq.reload()
    finally:
        for path in (kb_copy, kb_copy / "services.yaml"):
            if path.exists() and not path.is_symlink():
                path.chmod(0o755 if path.is_dir() else 0o644)
    [problem] = error.value.problems
    assert problem.file == str(named)
    assert problem.message == message
    assert not _TECHNICAL.search(str(problem))
    assert faq.matcher is matcher and snapshot(faq) == before


def test_one_broken_entry_is_one_problem_not_a_cascade(kb_copy: Path) -> None:
    """References to an entry that is broken, or in a file that cannot be read, are not blamed."""
    path = kb_copy / "services.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("  - id: query-and-payment")
    title = text.index("    title:", start)
    path.write_text(text[:title] + text[text.index("\n", title) + 1 :], encoding="utf-8")
    with pytest.raises(KnowledgeError) as error:
        load_knowledge(kb_copy)
    assert [(p.file, p.message) for p in error.value.problems] == [
        (str(path), "entry 'query-and-payment': title is missing")
    ]
    path.write_text("entries: [\n", encoding="utf-8")
    with pytest.raises(KnowledgeError) as error:
        load_knowledge(kb_copy)
    assert {p.file for p in error.value.problems} == {str(path)}
