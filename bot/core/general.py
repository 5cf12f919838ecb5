"""How informative a word is in general Chinese: jieba's own IDF table, trimmed and cached."""

from __future__ import annotations

import logging
import os
import tempfile
from functools import cache
from pathlib import Path

import jieba

COMMON_IDF = 10.0
"""Words with an IDF below this are kept; every other word counts as rare (the table's
median is 11.95): the trimmed table holds about 40,000 words of 270,000."""
RARE_IDF = 11.95
"""The IDF of a word the table does not hold."""


@cache
def _table() -> dict[str, float]:
    source = Path(jieba.__file__).parent / "analyse" / "idf.txt"
    try:
        text = _trimmed(source).read_text(encoding="utf-8")
    except (OSError, UnicodeError) as error:
        logging.getLogger(__name__).warning("No general word weights: %s", error)
        return {}
    table = {}
    for line in text.splitlines():
        word, _, value = line.partition(" ")
        table[word] = float(value)
    return table


def _trimmed(source: Path) -> Path:
    """jieba's IDF table without its rare words, written once to the temporary folder."""
    size = source.stat().st_size
    target = Path(tempfile.gettempdir()) / f"esscard-bot-idf-{size}-{COMMON_IDF:g}.txt"
    if target.is_file():
        return target
    kept = []
    for line in source.read_text(encoding="utf-8").splitlines():
        word, _, value = line.partition(" ")
        try:
            if float(value) < COMMON_IDF:
                kept.append(f"{word} {value}\n")
        except ValueError:
            continue
    partial = target.with_name(f"{target.name}.{os.getpid()}.part")
    partial.write_text("".join(kept), encoding="utf-8")
    os.replace(partial, target)
    return target


def idf(word: str) -> float:
    """The word's IDF in general Chinese text (high: rare and telling; 的 0.9, 怎么 4.4,
    天气 6.5, 公积金 8.4; a word the table lacks counts as rare)."""
    return _table().get(word, RARE_IDF)
