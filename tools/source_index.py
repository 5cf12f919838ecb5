"""An index of the source article that the facts test reads instead of the article itself.

The article is a news piece under its publisher's copyright, so the repository does not carry its
text. What the tests need of it is kept instead in ``tests/fixtures/source-article.json``: its
title and date, the numbers and dates it gives, and a short digest of every run of up to
``MAX_SUBSTRING`` characters of its text, so a test can ask "does the article contain this?"
without the text being recoverable as prose. Rebuild it when the article changes:

    python tools/source_index.py ../shared/seed/article.md tests/fixtures/source-article.json
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import sys
from pathlib import Path
from typing import Any

MAX_SUBSTRING = 15
"""The longest run the index can confirm; longer strings are confirmed window by window."""

DIGEST_BYTES = 5
"""40 bits a run: about one false match in 50 million questions for an article of ~20,000 runs."""

DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月(?:\s*(\d{1,2})\s*日)?|(\d{4})-(\d{2})-(\d{2})")
NUMBER = re.compile(r"\d+(?:\.\d+)?[万亿]?")
_MONTHS = {"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6}
_MONTHS |= {"Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12}


def date_of(match: re.Match[str]) -> tuple[int, ...]:
    """(year, month[, day]) of a ``DATE`` match."""
    return tuple(int(part) for part in match.groups() if part)


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=DIGEST_BYTES).digest()


def build(markdown: str) -> dict[str, Any]:
    """The index of an article in the seed's format (front matter, then HTML body)."""
    _, front, body = markdown.split("---", 2)
    meta = {
        key.strip(): value.strip().strip("'")
        for key, _, value in (line.partition(":") for line in front.splitlines())
        if value.strip()
    }
    text = html.unescape(re.sub(r"<[^>]+>", "", body))
    published = re.search(r"(\d{1,2}) (\w{3}) (\d{4})", meta["date"])
    if published is None:
        raise ValueError(f"no publication date in {meta['date']!r}")
    day, month, year = published.groups()
    runs = {
        text[start:end]
        for start in range(len(text))
        for end in range(start + 1, min(len(text), start + MAX_SUBSTRING) + 1)
    }
    digests = b"".join(sorted(_digest(run) for run in runs))
    return {
        "title": meta["title"],
        "published": [int(year), _MONTHS[month], int(day)],
        "dates": sorted({date_of(match) for match in DATE.finditer(text)}),
        "numbers": sorted(set(NUMBER.findall(DATE.sub(" ", text)))),
        "runs": base64.b64encode(digests).decode("ascii"),
    }


class SourceIndex:
    """What the tests may ask of the article: its title, date, figures, and containment."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.title: str = data["title"]
        self.published = tuple(data["published"])
        raw = base64.b64decode(data["runs"])
        self._runs = {raw[i : i + DIGEST_BYTES] for i in range(0, len(raw), DIGEST_BYTES)}
        self.dates = {self.published, self.published[:2]}
        self.dates |= {tuple(date) for date in data["dates"]}
        self.dates |= {date[:2] for date in self.dates}
        self.years = {date[0] for date in self.dates}
        self.numbers = set(data["numbers"])

    @classmethod
    def load(cls, path: Path) -> SourceIndex:
        """The index written by this module at *path*."""
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def __contains__(self, text: object) -> bool:
        if not isinstance(text, str):
            return False
        if len(text) <= MAX_SUBSTRING:
            return not text or _digest(text) in self._runs
        windows = range(len(text) - MAX_SUBSTRING + 1)
        return all(_digest(text[i : i + MAX_SUBSTRING]) in self._runs for i in windows)

    def longest_shared_run(self, text: str) -> str:
        """The longest run of *text* (up to ``MAX_SUBSTRING`` characters) the article holds."""
        best = ""
        for start in range(len(text)):
            end = start + len(best) + 1
            while end <= min(len(text), start + MAX_SUBSTRING) and text[start:end] in self:
                best = text[start:end]
                end += 1
        return best


def main(argv: list[str]) -> int:
    """Write the index of the article at argv[0] to argv[1]."""
    if len(argv) != 2:
        print("usage: python tools/source_index.py ARTICLE.md OUT.json", file=sys.stderr)
        return 2
    source, out = map(Path, argv)
    index = build(source.read_text(encoding="utf-8"))
    out.write_text(json.dumps(index, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{out}: {len(index['runs']) * 3 // 4 // DIGEST_BYTES} runs of the article indexed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
