"""Finding personal data in what users type, and hiding it before it is stored or logged.

Detected: mainland ID numbers (a region code and a plausible birth date; the GB 11643 check
character is not required, since a mistyped ID is still someone's ID), mobile numbers, bank
card numbers (Luhn-valid) and codes after 验证码. Digits are read after NFKC, so full-width ones
count too, but everything that is not redacted is kept exactly as written.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

ID_CARD = "id_card"
MOBILE = "mobile"
BANK_CARD = "bank_card"
CODE = "code"

PLACEHOLDERS = {
    ID_CARD: "[身份证号]",
    MOBILE: "[手机号]",
    BANK_CARD: "[银行卡号]",
    CODE: "[验证码]",
}
LABELS = {ID_CARD: "身份证号", MOBILE: "手机号", BANK_CARD: "银行卡号", CODE: "验证码"}

_PROVINCES = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37"}
    | {"41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63"}
    | {"64", "65", "71", "81", "82", "83"}
)
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_SEPARATORS = " \\-\u200b\u200c\u200d\ufeff"
_RUN = re.compile(rf"(?<![0-9])\+?[0-9]+(?:[{_SEPARATORS}]{{1,2}}[0-9]+)*(?![0-9])")
_GROUP = re.compile(r"[0-9]+")
_CODE = re.compile(
    r"(?:验证码|校验码|动态码|动态密码|短信码)(?:[\s:=,是为]|号码?)*"
    r"(?<![0-9A-Za-z])([0-9A-Za-z]{4,8})(?![0-9A-Za-z])"
)
_MAX_DIGITS = 19 + 4  # the longest card, or a mobile with a 0086 prefix


@dataclass(frozen=True)
class Redaction:
    """A text with its personal data replaced by placeholders, and what kinds were found."""

    text: str
    kinds: frozenset[str]

    @property
    def found(self) -> bool:
        """Whether anything was redacted."""
        return bool(self.kinds)


def is_id_number(value: str, today: dt.date | None = None) -> bool:
    """Whether *value* is shaped like an 18-character mainland ID number: a region code, a
    birth date between 1900 and today, three digits and a digit or X."""
    if len(value) != 18 or not value[:17].isascii() or not value[:17].isdigit():
        return False
    if value[:2] not in _PROVINCES and value[0] != "9":
        return False
    if not (value[17].isdigit() or value[17] in "Xx"):
        return False
    try:
        birth = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return dt.date(1900, 1, 1) <= birth <= (today or dt.date.today())


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check used by bank cards."""
    if not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def is_mobile(digits: str) -> bool:
    """Whether *digits* is a mainland mobile number, optionally with 86 / 0086 before it."""
    if len(digits) == 15 and digits.startswith("0086"):
        digits = digits[4:]
    elif len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return _MOBILE.fullmatch(digits) is not None


def is_bank_card(digits: str) -> bool:
    """Whether *digits* could be a bank card number: 13-19 digits passing the Luhn check."""
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


def _fold(text: str) -> tuple[str, list[int]]:
    """*text* in NFKC, and for each folded character the index of the one it came from."""
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        folded = char if char.isascii() else unicodedata.normalize("NFKC", char)
        chars.append(folded)
        origin.extend([index] * len(folded))
    return "".join(chars), origin


def _classify(groups: list[str], x_follows: bool) -> tuple[str, bool] | None:
    """The kind of a number written as *groups*, and whether a following X belongs to it."""
    digits = "".join(groups)
    sizes = [len(group) for group in groups]
    tidy = len(groups) == 1 or min(sizes) >= 3
    if x_follows and len(digits) == 17 and tidy and is_id_number(digits + "X"):
        return ID_CARD, True
    if len(digits) == 18 and tidy and is_id_number(digits):
        return ID_CARD, False
    prefixed = groups[0] in ("86", "0086") and len(groups) > 1
    if (tidy or (prefixed and min(sizes[1:]) >= 3)) and is_mobile(digits):
        return MOBILE, False
    carded = len(groups) == 1 or (all(s == 4 for s in sizes[:-1]) and sizes[-1] <= 4)
    if carded and is_bank_card(digits):
        return BANK_CARD, False
    return None


def _numbers(folded: str, taken: list[tuple[int, int]]) -> Iterable[tuple[int, int, str]]:
    """Spans of ID, mobile and card numbers in *folded*, leftmost-longest per digit run."""
    for run in _RUN.finditer(folded):
        if any(start < run.end() and run.start() < end for start, end in taken):
            continue
        groups = [(m.start(), m.end()) for m in _GROUP.finditer(folded, run.start(), run.end())]
        x_follows = folded[run.end() : run.end() + 1] in ("X", "x")
        first = 0
        while first < len(groups):
            found = None
            length = 0
            candidates = []
            for last in range(first, len(groups)):
                length += groups[last][1] - groups[last][0]
                if length > _MAX_DIGITS:
                    break
                candidates.append(last)
            for last in reversed(candidates):
                texts = [folded[s:e] for s, e in groups[first : last + 1]]
                kind = _classify(texts, x_follows and last == len(groups) - 1)
                if kind is not None:
                    found = last, kind
                    break
            if found is None:
                first += 1
                continue
            last, (name, with_x) = found
            start = run.start() if first == 0 else groups[first][0]
            end = groups[last][1] + (1 if with_x else 0)
            if name != MOBILE and folded[start] == "+":
                start += 1
            yield start, end, name
            first = last + 1


def redact(text: str) -> Redaction:
    """Replace ID, mobile and bank card numbers and 验证码 codes with placeholders."""
    folded, origin = _fold(text)
    if not any("0" <= char <= "9" for char in folded):
        return Redaction(text, frozenset())
    spans: list[tuple[int, int, str]] = []
    for match in _CODE.finditer(folded):
        if any(char.isdigit() for char in match[1]):
            spans.append((match.start(1), match.end(1), CODE))
    spans.extend(_numbers(folded, [(start, end) for start, end, _ in spans]))
    if not spans:
        return Redaction(text, frozenset())
    result = text
    for start, end, kind in sorted(spans, reverse=True):
        begin, finish = origin[start], origin[end - 1] + 1
        result = result[:begin] + PLACEHOLDERS[kind] + result[finish:]
    return Redaction(result, frozenset(kind for _, _, kind in spans))


_NAMED_PLACEHOLDER = re.compile(
    r"(?:身份证号码?|身份证|手机号码?|手机|电话号码?|电话|银行卡号|卡号|验证码)?"
    r"\s*(?:是|为|:|：)?\s*(?:" + "|".join(map(re.escape, PLACEHOLDERS.values())) + ")"
)


def without_personal_data(text: str) -> str:
    """*text* with the personal data it holds left out, and the words naming it (身份证号是…):
    a number says nothing about what is asked, and 手机号 next to one is no topic."""
    redaction = redact(text)
    return _NAMED_PLACEHOLDER.sub(" ", redaction.text) if redaction.found else text


def describe(kinds: Iterable[str]) -> str:
    """The kinds found, in Chinese: "身份证号、手机号"."""
    return "、".join(LABELS[kind] for kind in PLACEHOLDERS if kind in set(kinds))


class RedactingFilter(logging.Filter):
    """A logging filter that redacts personal data from every record's message."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message with personal data replaced; never drops a record."""
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler to report
            return True
        redacted = redact(message)
        if redacted.found:
            record.msg = redacted.text
            record.args = None
        return True
