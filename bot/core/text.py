"""Text normalisation: one canonical form for whatever a user types."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc

MAX_QUESTION_CHARS = 500
"""Longer input is cut: no real question is longer, and matching cost stays bounded."""

_T2S = opencc.OpenCC("t2s")
_MENTION = re.compile(r"@[A-Za-z0-9_]{3,64}")
_COMMAND = re.compile(r"^\s*/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,64})?(?=\s|$)")
_GENERATION = re.compile(r"(?<![新那这上下哪同老每])第?([1-9一二三四])\s*代")
"""第3代 / 3代 / 三代; not 新一代, 那一代 (a generation, not the first)."""
_DIGIT_NAMES = dict(zip("1234", "一二三四", strict=True))
_SPACES = re.compile(r"\s+")
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_HAN_RANGE = "\u3400-\u9fff"
"""CJK unified ideographs with extension A: every Chinese character people type."""
HAN = re.compile(f"[{_HAN_RANGE}]")
"""One Chinese character."""
_SPACED_OUT = re.compile(
    f"(?<![{_HAN_RANGE}])(?:[{_HAN_RANGE}] ){{2,}}[{_HAN_RANGE}](?![{_HAN_RANGE}])"
)
_TONE_NUMBER = re.compile(r"(?<=[a-z][aeiouvngr])[1-5](?![0-9])")
"""A tone typed after a pinyin syllable: she4 bao3 ka3."""
_QUESTION_MARK = re.compile(r"[?？﹖]+")
_WORD = re.compile(r"\w\w")
_CONNECTIVE = re.compile(
    r"^(?:另外|还有|再有|对了|顺便|再)?(?:个事|个问题)?(?:问|请问|想问)?(?:一下|下)?[\s,，、:：]*"
)


def _is_kept(char: str) -> bool:
    """Keep letters, digits and marks; everything else becomes a separator."""
    category = unicodedata.category(char)
    return category[0] in "LN" or category in ("Mn", "Mc")


@lru_cache(maxsize=4096)
def normalize(text: str) -> str:
    """Return *text* in canonical form: simplified, half-width, lower case, words only.

    Full-width characters become half-width (NFKC), traditional characters simplified; a
    leading bot command (/ask@bot), @mentions, links, emoji, punctuation, control and
    zero-width characters removed; characters typed one by one with spaces between (电 子 社
    保 卡) joined; tones typed after pinyin dropped (she4 -> she); "第3代" / "3代" written
    "第三代".
    """
    text = unicodedata.normalize("NFKC", text[: MAX_QUESTION_CHARS * 2])
    text = _URL.sub(" ", _MENTION.sub(" ", _COMMAND.sub(" ", text)))
    text = "".join(ch if _is_kept(ch) else " " for ch in text)
    text = _SPACES.sub(" ", text).strip()[:MAX_QUESTION_CHARS]
    text = _SPACED_OUT.sub(lambda m: m[0].replace(" ", ""), text)
    text = _TONE_NUMBER.sub("", _T2S.convert(text).lower())
    return _GENERATION.sub(lambda m: "第" + _DIGIT_NAMES.get(m[1], m[1]) + "代", text)


def first_question(text: str) -> tuple[str, str] | None:
    """A message asking more than one thing, split after its first question mark: (the first
    question, the rest); None when there is nothing more to it."""
    mark = _QUESTION_MARK.search(text)
    if mark is None:
        return None
    head, rest = text[: mark.end()], _CONNECTIVE.sub("", text[mark.end() :].strip())
    return (head, rest) if _WORD.search(head) and _WORD.search(rest) else None
