"""jieba's accurate mode without its HMM, in one pass: the words a question is cut into."""

from __future__ import annotations

import math

import jieba

_WORDS = jieba.re_han_default
"""Runs of CJK, Latin letters, digits and ``+#&._%-``: what jieba cuts with its dictionary."""
_SPACE = jieba.re_skip_default
_LATIN = jieba.re_eng


def cut(tokenizer: jieba.Tokenizer, text: str) -> list[str]:
    """What ``tokenizer.lcut(text, HMM=False)`` returns, in half the time.

    The same dictionary and the same choice: of all ways to cut a run into dictionary words
    (or single characters), the one whose words' log frequencies sum highest, a tie going to
    the longer first word; single Latin letters and digits left over are joined again. jieba
    builds a graph of every word and a generator per run and per candidate word first.
    """
    words: list[str] = []
    frequency = tokenizer.FREQ
    log_total = math.log(tokenizer.total)
    for block in _WORDS.split(text):
        if not block:
            continue
        if _WORDS.match(block):
            words += _cut_run(frequency, log_total, block)
        else:
            for part in _SPACE.split(block):
                if _SPACE.match(part):
                    words.append(part)
                else:
                    words.extend(part)
    return words


def _cut_run(frequency: dict[str, int], log_total: float, run: str) -> list[str]:
    size = len(run)
    log = math.log
    score = [0.0] * (size + 1)
    """The best sum of log frequencies for the rest of *run* from each position."""
    end = [0] * size
    """Where the first word of that best cut ends (inclusive)."""
    for start in range(size - 1, -1, -1):
        best, last = -math.inf, start
        found = False
        stop, piece = start, run[start]
        while stop < size and piece in frequency:  # jieba's dictionary holds every prefix
            count = frequency[piece]
            if count:
                found = True
                value = log(count) - log_total + score[stop + 1]
                if value >= best:
                    best, last = value, stop
            stop += 1
            piece = run[start : stop + 1]
        if not found:
            best = -log_total + score[start + 1]
        score[start], end[start] = best, last
    words: list[str] = []
    latin = ""
    position = 0
    while position < size:
        after = end[position] + 1
        word = run[position:after]
        if after - position == 1 and _LATIN.match(word):
            latin += word
        else:
            if latin:
                words.append(latin)
                latin = ""
            words.append(word)
        position = after
    if latin:
        words.append(latin)
    return words
