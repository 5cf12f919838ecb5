"""Telegram's HTML subset (parse_mode=HTML): plain text plus entities, or the error it gives."""

from __future__ import annotations

import re
from typing import Any

_TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)"
    r"((?:\s+[a-zA-Z][a-zA-Z0-9_-]*(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?)*)\s*>"
)
_ATTR = re.compile(r"([a-zA-Z][a-zA-Z0-9_-]*)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?")
_CHAR_REF = re.compile(r"&(?:(lt|gt|amp|quot)|#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}


class EntityError(ValueError):
    """The markup is not valid Telegram HTML; the message is Telegram-like."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def _attrs(raw: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in _ATTR.findall(raw):
        if value[:1] in ("'", '"'):
            value = value[1:-1]
        out[name.lower()] = _unescape(value)
    return out


def _unescape(text: str) -> str:
    return _CHAR_REF.sub(lambda m: _char(m) or m.group(0), text)


def _char(m: re.Match[str]) -> str | None:
    if m.group(1):
        return _NAMED[m.group(1)]
    code = int(m.group(2)) if m.group(2) else int(m.group(3), 16)
    return chr(code) if 0 < code <= 0x10FFFF else None


def _byte_offset(src: str, i: int) -> int:
    return len(src[:i].encode())


def _entity(tag: str, attrs: dict[str, str], stack: list[Any], where: int) -> dict[str, Any]:
    if tag in _SIMPLE:
        ent: dict[str, Any] = {"type": _SIMPLE[tag]}
        if tag == "code" and stack and stack[-1][0] == "pre":
            language = attrs.get("class", "")
            if language.startswith("language-"):
                stack[-1][1]["language"] = language[len("language-") :]
        return ent
    if tag == "span" and attrs.get("class") == "tg-spoiler":
        return {"type": "spoiler"}
    if tag == "a":
        href = attrs.get("href", "")
        m = re.fullmatch(r"tg://user\?id=(\d+)", href)
        if m:
            return {"type": "text_mention", "user": {"id": int(m.group(1)), "is_bot": False}}
        return {"type": "text_link", "url": href}
    if tag == "blockquote":
        return {"type": "expandable_blockquote" if "expandable" in attrs else "blockquote"}
    if tag == "tg-emoji" and "emoji-id" in attrs:
        return {"type": "custom_emoji", "custom_emoji_id": attrs["emoji-id"]}
    raise EntityError(f'Unsupported start tag "{tag}" at byte offset {where}')


def parse_html(src: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse HTML like Telegram: (text without tags, entities sorted by offset)."""
    out: list[str] = []
    pos = 0
    stack: list[tuple[str, dict[str, Any], int]] = []
    entities: list[dict[str, Any]] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "<":
            m = _TAG.match(src, i)
            where = _byte_offset(src, i)
            if m is None:
                raise EntityError(f'Unexpected "<" (not a tag) at byte offset {where}')
            tag = m.group(2).lower()
            if m.group(1):
                if not stack:
                    raise EntityError(f'Unexpected end tag "{tag}" at byte offset {where}')
                if stack[-1][0] != tag:
                    raise EntityError(
                        f'Unmatched end tag at byte offset {where}, expected "</{stack[-1][0]}>", '
                        f'found "</{tag}>"'
                    )
                _, ent, start = stack.pop()
                if pos > start and not ent.get("_skip"):
                    ent["offset"], ent["length"] = start, pos - start
                    entities.append(ent)
            else:
                ent = _entity(tag, _attrs(m.group(3)), stack, where)
                if tag == "code" and stack and stack[-1][0] == "pre":
                    ent["_skip"] = True
                stack.append((tag, ent, pos))
            i = m.end()
            continue
        if c == "&":
            m = _CHAR_REF.match(src, i)
            ch = _char(m) if m else None
            if m and ch is not None:
                out.append(ch)
                pos += utf16_len(ch)
                i = m.end()
                continue
        j = i + 1
        while j < n and src[j] not in "<&":
            j += 1
        chunk = src[i:j]
        out.append(chunk)
        pos += utf16_len(chunk)
        i = j
    if stack:
        raise EntityError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def strip_text(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Trim surrounding whitespace as Telegram does, moving and clipping the entities."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    head = utf16_len(text[: len(text) - len(text.lstrip())])
    size = utf16_len(stripped)
    kept = []
    for ent in entities:
        start = max(ent["offset"] - head, 0)
        end = min(ent["offset"] + ent["length"] - head, size)
        if end > start:
            kept.append({**ent, "offset": start, "length": end - start})
    return stripped, kept
