"""/teach: admins add a phrasing to ``knowledge/learned.yaml``, validated, and can undo it.

Only ``learned.yaml`` is ever written (atomically: a temporary file and ``os.replace``); the
hand-written YAML files and their comments are never touched. After a successful teach or undo
the caller reloads the FAQ (``Faq.reload()``).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz import fuzz, process

from bot.core.knowledge import (
    ID_PATTERN,
    LEARNED_FILE,
    KnowledgeBase,
    KnowledgeError,
    load_knowledge,
)
from bot.core.privacy import describe, redact
from bot.core.text import normalize

MAX_QUESTION_CHARS = 200
MAX_PROBLEMS_SHOWN = 5
USAGE = (
    "用法：/teach 问题 => 条目id\n"
    "例如：/teach 退休认证在手机上怎么弄 => pension-verification\n"
    "撤销上一条：/teach undo"
)
HEADER = (
    '# Phrasings taught by admins with the bot\'s /teach command ("/teach undo" removes the\n'
    "# last one). Written by the bot: edit by hand only while it is stopped; the comments at\n"
    "# the top of this file are kept, others are not. See SCHEMA.md.\n"
)
_ARROW = re.compile(r"\s*(?:=>|＝＞|=＞|＝>|→|⇒|->)\s*")
_QUOTES = "\"'`“”‘’「」『』"
_PAIRS = frozenset({'""', "''", "``", "“”", "‘’", "「」", "『』"})
_UNDO = frozenset({"undo", "撤销", "撤回"})
_LOCK = threading.Lock()


@dataclass(frozen=True)
class TeachResult:
    """What /teach did, with a message for the admin (plain Chinese text)."""

    ok: bool
    message: str
    question: str = ""
    entry_id: str = ""


class TeachUsageError(ValueError):
    """The /teach text is not ``<question> => <entry-id>``; ``str()`` is the usage message."""


def parse_teach(text: str) -> tuple[str, str]:
    """Split ``<question> => <entry-id>`` (also ＝＞ or →); raise ``TeachUsageError``."""
    text = text.strip()
    if text.startswith("/teach"):
        text = text.split(maxsplit=1)[1] if len(text.split(maxsplit=1)) > 1 else ""
    arrows = list(_ARROW.finditer(text))
    if not arrows:
        raise TeachUsageError("缺少 => 。\n" + USAGE)
    arrow = arrows[-1]
    question = _clean_question(text[: arrow.start()])
    entry_id = text[arrow.end() :].strip().strip(_QUOTES).strip()
    entry_id = unicodedata.normalize("NFKC", entry_id).lower()
    if not question:
        raise TeachUsageError("=> 前面要写用户的问法。\n" + USAGE)
    if not entry_id:
        raise TeachUsageError("=> 后面要写条目 id。\n" + USAGE)
    return question, entry_id


def is_undo(text: str) -> bool:
    """Whether the /teach text asks to take the last taught phrasing back."""
    return text.strip().lower() in _UNDO


def teach_command(knowledge_dir: Path | str, text: str) -> TeachResult:
    """The whole /teach command: ``undo``, or ``<question> => <entry-id>``, or usage."""
    if is_undo(text):
        return undo_teach(knowledge_dir)
    try:
        question, entry_id = parse_teach(text)
    except TeachUsageError as error:
        return TeachResult(False, str(error))
    return teach(knowledge_dir, question, entry_id)


def _clean_question(text: str) -> str:
    text = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in text)
    text = " ".join(text.split())
    while len(text) >= 2 and text[0] + text[-1] in _PAIRS:
        text = text[1:-1].strip()
    return text


def teach(
    knowledge_dir: Path | str,
    question: str,
    entry_id: str,
    *,
    now: dt.datetime | None = None,
) -> TeachResult:
    """Append ``{question, id, added}`` to learned.yaml if the knowledge base stays valid."""
    directory = Path(knowledge_dir)
    question = _clean_question(question)
    entry_id = entry_id.strip()
    if not question or not normalize(question):
        return TeachResult(False, "问法里没有文字。\n" + USAGE)
    if len(question) > MAX_QUESTION_CHARS:
        return TeachResult(False, f"问法太长了（最多 {MAX_QUESTION_CHARS} 个字）。")
    private = redact(question)
    if private.found:
        return TeachResult(
            False, f"问法里像有{describe(private.kinds)}，请去掉个人信息后再教。", question
        )
    if not ID_PATTERN.match(entry_id):
        return TeachResult(
            False, f"「{entry_id}」不是条目 id（小写字母、数字和 -）。\n" + USAGE, question
        )
    with _LOCK:
        try:
            kb = load_knowledge(directory)
        except KnowledgeError as error:
            return _broken(error, question, entry_id)
        refusal = _check(kb, question, entry_id)
        if refusal is not None:
            return refusal
        path = directory / LEARNED_FILE
        try:
            old_text, header, items = _read_learned(path)
        except ValueError as error:
            return TeachResult(False, str(error), question, entry_id)
        moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
        items.append({"question": question, "id": entry_id, "added": moment})
        try:
            kb = _write_validated(path, header, items, old_text)
        except KnowledgeError as error:
            return _broken(error, question, entry_id)
        except OSError as error:
            return TeachResult(False, f"写不进 {LEARNED_FILE}：{error}", question, entry_id)
    title = kb.by_id[entry_id].title
    return TeachResult(
        True,
        f"学会了：「{question}」→「{title}」（{entry_id}）。撤销请发 /teach undo。",
        question,
        entry_id,
    )


def undo_teach(knowledge_dir: Path | str) -> TeachResult:
    """Remove the last item of learned.yaml."""
    path = Path(knowledge_dir) / LEARNED_FILE
    with _LOCK:
        try:
            old_text, header, items = _read_learned(path)
        except ValueError as error:
            return TeachResult(False, str(error))
        if not items:
            return TeachResult(False, "还没有教过的问法，没有可撤销的。")
        last = items.pop()
        question, entry_id = str(last.get("question", "")), str(last.get("id", ""))
        try:
            _write_validated(path, header, items, old_text)
        except KnowledgeError as error:
            return _broken(error, question, entry_id)
        except OSError as error:
            return TeachResult(False, f"写不进 {LEARNED_FILE}：{error}", question, entry_id)
    return TeachResult(True, f"已撤销：「{question}」→ {entry_id}。", question, entry_id)


def _check(kb: KnowledgeBase, question: str, entry_id: str) -> TeachResult | None:
    """A refusal when the id is unknown or the phrasing already belongs to an entry."""
    if entry_id not in kb.by_id:
        close = process.extract(entry_id, list(kb.by_id), scorer=fuzz.WRatio, limit=3)
        hint = "、".join(match[0] for match in close if match[1] >= 50)
        known = "、".join(sorted(kb.by_id))
        more = f"相近的有：{hint}。" if hint else f"现有的条目 id：{known}。"
        return TeachResult(False, f"没有 id 为「{entry_id}」的条目。{more}", question, entry_id)
    key = normalize(question)
    for entry in kb.entries:
        if any(normalize(phrasing) == key for phrasing in entry.phrasings):
            if entry.id == entry_id:
                message = (
                    f"「{question}」已经是「{entry.title}」（{entry.id}）的问法了，不用再教。"
                )
            else:
                message = (
                    f"「{question}」已经是「{entry.title}」（{entry.id}）的问法，"
                    f"不能再教给 {entry_id}。"
                )
            return TeachResult(False, message, question, entry_id)
    return None


def _broken(error: KnowledgeError, question: str, entry_id: str) -> TeachResult:
    shown = [str(problem) for problem in error.problems[:MAX_PROBLEMS_SHOWN]]
    more = len(error.problems) - len(shown)
    lines = ["没有教成：知识库校验不通过，learned.yaml 保持原样。", *shown]
    if more > 0:
        lines.append(f"……还有 {more} 个问题。")
    return TeachResult(False, "\n".join(lines), question, entry_id)


def _read_learned(path: Path) -> tuple[str | None, str, list[dict[str, Any]]]:
    """The file's text (None if missing), its leading comment block, and its items."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, HEADER, []
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"读不了 {LEARNED_FILE}：{error}") from error
    header_lines = []
    for line in text.splitlines(keepends=True):
        if not line.startswith("#"):
            break
        header_lines.append(line)
    header = "".join(header_lines) or HEADER
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ValueError(f"{LEARNED_FILE} 不是有效的 YAML，请先手工修好：{error}") from error
    if data is None:
        items: Any = []
    elif isinstance(data, dict) and "learned" in data:
        items = data["learned"] or []
    else:
        items = None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ValueError(f"{LEARNED_FILE} 的格式不对（应为 learned: 列表），请先手工修好。")
    return text, header, items


def _dump(header: str, items: list[dict[str, Any]]) -> str:
    if not items:
        return header + "learned: []\n"
    lines = [header + "learned:"]
    for item in items:
        ordered: dict[str, Any] = {k: item[k] for k in ("question", "id", "added") if k in item}
        ordered.update({key: value for key, value in item.items() if key not in ordered})
        for number, (key, value) in enumerate(ordered.items()):
            if isinstance(value, dt.datetime):
                dumped = [f"{key}: {value.isoformat()}"]
            else:
                dumped = yaml.safe_dump(
                    {key: value}, allow_unicode=True, sort_keys=False, width=10_000
                ).splitlines()
            lines.append(("  - " if number == 0 else "    ") + dumped[0])
            lines.extend("    " + line for line in dumped[1:])
    return "\n".join(lines) + "\n"


def _replace(path: Path, text: str | None) -> None:
    """Write *text* to *path* atomically (remove the file when *text* is None)."""
    if text is None:
        path.unlink(missing_ok=True)
        return
    descriptor, temporary = tempfile.mkstemp(prefix=".learned-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o777)
        else:
            os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _write_validated(
    path: Path, header: str, items: list[dict[str, Any]], old_text: str | None
) -> KnowledgeBase:
    """Write the items, validate the whole knowledge base, and restore the old file if bad."""
    _replace(path, _dump(header, items))
    try:
        return load_knowledge(path.parent)
    except BaseException:
        _replace(path, old_text)
        raise
