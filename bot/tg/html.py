"""Telegram's HTML limits: splitting markup into messages and cutting captions, counted in UTF-16
code units as Telegram counts them."""

from __future__ import annotations

import html
import re

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^<>]*>")
_ATOM = re.compile(r"&[#a-zA-Z0-9]+;|.", re.DOTALL)
_MAX_ENTITY = len("&#x10ffff;")


def _units(text: str) -> int:
    """Length in UTF-16 code units, the unit in which Telegram counts its limits."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


def _fit_chars(text: str, budget: int) -> int:
    """How many characters of *text* fit in *budget* UTF-16 units."""
    cut = min(len(text), max(budget, 0))
    while cut and (excess := _units(text[:cut]) - budget) > 0:
        cut -= max(1, excess // 2)
    return cut


def _fit(text: str, budget: int) -> int:
    """The longest prefix of *text* within *budget* units that ends outside an ``&entity;``."""
    cut = _fit_chars(text, budget)
    amp = text.rfind("&", max(0, cut - _MAX_ENTITY), cut)
    if amp != -1 and ";" not in text[amp:cut]:
        cut = amp
    return cut


def _visible(markup: str) -> str:
    """The text Telegram shows for *markup*: tags removed, entities decoded."""
    return html.unescape(_TAG.sub("", markup))


class _Splitter:
    """Packs markup into parts; tags open at a cut are closed and opened again after it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.open: list[tuple[str, str]] = []
        """(name, opening tag) of every tag open at the current position, outermost first."""
        self.closing = 0
        """Units of the closing tags the current part needs."""
        self.pieces: list[str] = []
        self.size = 0
        self.bare = True
        """Nothing but re-opened tags in the current part yet."""

    def flush(self) -> None:
        """End the current part and start the next with the tags still open."""
        if not self.bare:
            closing = "".join(f"</{name}>" for name, _ in reversed(self.open))
            self.parts.append("".join(self.pieces) + closing)
        self.pieces = [tag for _, tag in self.open]
        self.size = sum(_units(tag) for tag in self.pieces)
        self.bare = True

    def _track(self, tag: re.Match[str]) -> None:
        name = tag[2].lower()
        if not tag[1]:
            self.open.append((name, tag[0]))
            self.closing += len(name) + 3
        elif self.open:
            self.closing -= len(self.open.pop()[0]) + 3

    def _add(self, piece: str, units: int) -> None:
        self.pieces.append(piece)
        self.size += units
        self.bare = False

    def line(self, line: str) -> None:
        """Add one line, after a line break unless it starts a part."""
        tags = list(_TAG.finditer(line))
        units = _units(line)
        for attempt in range(2):
            separator = "" if self.bare else "\n"
            closing = self.closing + sum(
                -(len(tag[2]) + 3) if tag[1] else len(tag[2]) + 3 for tag in tags
            )
            if self.size + len(separator) + units + max(closing, 0) <= self.limit:
                self._add(separator + line, units + len(separator))
                for tag in tags:
                    self._track(tag)
                return
            if attempt == 0 and not self.bare:
                self.flush()
        # The line alone is too long for a part: cut it, tags whole, text between characters.
        position = 0
        for tag in tags:
            self.text(line[position : tag.start()])
            self.tag(tag)
            position = tag.end()
        self.text(line[position:])

    def text(self, text: str) -> None:
        while text:
            cut = _fit(text, self.limit - self.size - self.closing)
            if cut == 0:
                if not self.bare:
                    self.flush()
                    continue
                atom = _ATOM.match(text)  # not even one character fits: force progress
                cut = len(atom[0]) if atom else 1
            self._add(text[:cut], _units(text[:cut]))
            text = text[cut:]

    def tag(self, tag: re.Match[str]) -> None:
        cost = 0 if tag[1] else _units(tag[0]) + len(tag[2]) + 3
        if not self.bare and self.size + self.closing + cost > self.limit:
            self.flush()
        self._add(tag[0], _units(tag[0]))
        self._track(tag)


def split_html(markup: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split *markup* into messages of at most *limit* UTF-16 units, at line breaks if possible.

    Each part is well-formed on its own: a tag open where the markup is cut is closed at the
    end of the part and opened again at the start of the next. A line longer than *limit* is
    cut between characters, never inside a tag or an ``&entity;``. Parts that would show no
    text are left out.
    """
    if _units(markup) <= limit:
        return [markup]
    splitter = _Splitter(limit)
    for line in markup.split("\n"):
        splitter.line(line)
    splitter.flush()
    parts = splitter.parts
    return [part for part in parts if _visible(part).strip()] or parts[:1] or [""]


def truncate_caption(text: str, limit: int = CAPTION_LIMIT) -> str:
    """*text* cut to Telegram's caption limit (in UTF-16 units), with an ellipsis when cut."""
    return text if _units(text) <= limit else text[: _fit_chars(text, limit - 1)] + "…"
