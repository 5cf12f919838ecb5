"""Finding personal data in what users type, and hiding it before it is stored or logged.

Detected: mainland ID numbers (a region code and a plausible birth date; the GB 11643 check
character is not required, since a mistyped ID is still someone's ID), mobile numbers (with or
without +86 / 0086), bank card numbers (Luhn-valid; a UnionPay 62 number, or one after 卡号 or
银行卡, even when it fails the check) and codes after 验证码. Numbers are found however they are
written: whole, in groups (4-4-4-4-2, 6+10, 3-4-4), one digit at a time, with spaces
(ideographic too), dashes, dots, underscores, newlines or parentheses between the groups, in
full-width digits, and in the escaped form a log shows them in (``\\n``, ``\\u3000``). Everything
that is not redacted is kept exactly as written.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from collections.abc import Iterable, Iterator
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
# What people put between the groups of one number (after NFKC: full-width forms and most
# spaces are folded already): spaces, zero-width characters, dots, dashes, underscores, line
# breaks and parentheses.
_SEPARATOR = (
    "[ \t\r\n\v\f\u00a0\u1680\u2000-\u200d\u2028\u2029\u202f\u205f\u3000\ufeff"
    ".\u00b7\u2024\u30fb\\-_\u2010-\u2015\u2212\ufe58\ufe63()]"
)
_RUN = re.compile(rf"(?<![0-9])(?:\(?\+{_SEPARATOR}?)?\(?[0-9]+(?:{_SEPARATOR}{{1,3}}[0-9]+)*")
_GROUP = re.compile(r"[0-9]+")
_X_AFTER = re.compile(rf"{_SEPARATOR}{{0,3}}[Xx](?![A-Za-z])")
_CODE = re.compile(
    r"(?:验证码|校验码|动态码|动态密码|短信码)(?:[\s:=,是为]|号码?)*"
    r"(?<![0-9A-Za-z])([0-9A-Za-z]{4,8})(?![0-9A-Za-z])"
)
_DIGIT = re.compile(r"[0-9]")
_MAYBE_DIGIT = re.compile(
    "[0-9\u00b2\u00b3\u00b9\u00bc-\u00be\u2070\u2074-\u2079\u2080-\u2089\u2150-\u215f"
    "\u2189\u2460-\u249b\u24ea\u3251-\u325f\u32b1-\u32cb\u3358-\u3370\u3378\u3379"
    "\u339f-\u33a6\u33a8\u33af\u33e0-\u33fe\uff10-\uff19\U0001d7ce-\U0001d7ff"
    "\U0001f100-\U0001f10a\U0001fbf0-\U0001fbf9]"
)
"""Every character that is a digit or holds one after NFKC (１, ², ①, ㉑...): a text without any
is returned at once."""
_ESCAPE = re.compile(r"\\(?:[nrtvf]|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})")
_ESCAPED = {"n": "\n", "r": "\r", "t": "\t", "v": "\v", "f": "\f"}
_CARD_WORDS = ("卡号", "银行卡", "储蓄卡", "借记卡", "信用卡", "工资卡", "card", "Card", "CARD")
_LENGTHS = frozenset({11, 13, 14, 15, 16, 17, 18, 19})
"""Digit counts worth classifying: mobiles (11, 13 and 15 with 86 / 0086), cards (13-19) and
ID numbers (17 before an X, 18)."""
_MAX_DIGITS = max(_LENGTHS)


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


class _Folded:
    """A text as searched (NFKC, escapes decoded) and where each character came from."""

    __slots__ = ("ends", "starts", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts: list[int] | None = None
        self.ends: list[int] | None = None
        if "\\" not in text and (text.isascii() or unicodedata.is_normalized("NFKC", text)):
            return  # the common case: searched as written
        chars: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        index = 0
        while index < len(text):
            char, end = text[index], index + 1
            if char == "\\" and (escape := _ESCAPE.match(text, index)):
                code = escape[0][1:]
                char = _ESCAPED.get(code) or chr(int(code[1:], 16))
                end = escape.end()
            folded = char if char.isascii() else unicodedata.normalize("NFKC", char)
            chars.append(folded)
            starts.extend([index] * len(folded))
            ends.extend([end] * len(folded))
            index = end
        self.text, self.starts, self.ends = "".join(chars), starts, ends

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Where folded characters ``start:end`` were in the original text."""
        if self.starts is None or self.ends is None:
            return start, end
        return self.starts[start], self.ends[end - 1]


def _plausible(sizes: list[int], kind: str) -> bool:
    """Whether digits grouped in *sizes* are how people write one number of *kind*: whole,
    one digit at a time, or in groups of three or more (an ID's last group may be shorter:
    4-4-4-4-2); a mobile starting with three or four digits (3-4-4, 4-7); a card in fours or
    as 6+rest."""
    if len(sizes) == 1 or max(sizes) == 1:
        return True
    if kind == BANK_CARD:
        return (min(sizes[:-1]) == max(sizes[:-1]) == 4 and sizes[-1] <= 4) or (
            len(sizes) == 2 and sizes[0] == 6
        )
    if kind == MOBILE:
        return sizes[0] in (3, 4) and min(sizes) >= 3
    return min(sizes[:-1]) >= 3


def _classify(groups: list[str], x_follows: bool, card_word: bool) -> tuple[str, bool] | None:
    """The kind of a number written as *groups*, and whether a following X belongs to it."""
    digits = "".join(groups)
    sizes = [len(group) for group in groups]
    count = len(digits)
    if count == 17 and x_follows and is_id_number(digits + "X") and _plausible(sizes, ID_CARD):
        return ID_CARD, True
    if count == 18 and is_id_number(digits) and _plausible(sizes, ID_CARD):
        return ID_CARD, False
    if count in (11, 13, 15) and is_mobile(digits):
        prefix = count - 11  # 86 or 0086, in a group of its own or glued on: +86138...
        if prefix and sizes[0] == prefix:
            sizes = sizes[1:]
        elif prefix:
            sizes = [sizes[0] - prefix, *sizes[1:]]
        if _plausible(sizes, MOBILE):
            return MOBILE, False
    if not 13 <= count <= 19 or not _plausible([len(group) for group in groups], BANK_CARD):
        return None
    if luhn_valid(digits) or (count >= 16 and digits.startswith("62")) or card_word:
        return BANK_CARD, False
    return None


def _numbers(folded: str, taken: list[tuple[int, int]]) -> Iterator[tuple[int, int, str]]:
    """Spans of ID, mobile and card numbers in *folded*, leftmost-longest per digit run."""
    for run in _RUN.finditer(folded):
        groups = [(m.start(), m.end()) for m in _GROUP.finditer(folded, run.start(), run.end())]
        if sum(end - start for start, end in groups) < min(_LENGTHS):
            continue
        if any(start < run.end() and run.start() < end for start, end in taken):
            continue
        after = _X_AFTER.match(folded, run.end())
        first = 0
        while first < len(groups):
            found = None
            total = 0
            ends = []
            for last in range(first, len(groups)):
                total += groups[last][1] - groups[last][0]
                if total > _MAX_DIGITS:
                    break
                if total in _LENGTHS:
                    ends.append(last)
            start = groups[first][0]
            card_word = any(word in folded[max(0, start - 12) : start] for word in _CARD_WORDS)
            for last in reversed(ends):
                texts = [folded[s:e] for s, e in groups[first : last + 1]]
                x_follows = after is not None and last == len(groups) - 1
                kind = _classify(texts, x_follows, card_word)
                if kind is not None:
                    found = last, kind
                    break
            if found is None:
                first += 1
                continue
            last, (name, with_x) = found
            if name == MOBILE and first == 0:
                start = run.start()
            end = after.end() if with_x and after is not None else groups[last][1]
            yield start, end, name
            first = last + 1


def redact(text: str) -> Redaction:
    """Replace ID, mobile and bank card numbers and 验证码 codes with placeholders."""
    if not _MAYBE_DIGIT.search(text):
        return Redaction(text, frozenset())
    folded = _Folded(text)
    if not _DIGIT.search(folded.text):
        return Redaction(text, frozenset())
    spans: list[tuple[int, int, str]] = []
    for match in _CODE.finditer(folded.text):
        if any(char.isdigit() for char in match[1]):
            spans.append((match.start(1), match.end(1), CODE))
    spans.extend(_numbers(folded.text, [(start, end) for start, end, _ in spans]))
    if not spans:
        return Redaction(text, frozenset())
    result = text
    for start, end, kind in sorted(spans, reverse=True):
        begin, finish = folded.span(start, end)
        result = result[:begin] + PLACEHOLDERS[kind] + result[finish:]
    return Redaction(result, frozenset(kind for _, _, kind in spans))


_NAMED_PLACEHOLDER = re.compile(
    r"(?:身份证号码?|身份证|手机号码?|手机|电话号码?|电话|银行卡号|卡号|验证码)?"
    r"\s*(?:是|为|:|：)?\s*(?:" + "|".join(map(re.escape, PLACEHOLDERS.values())) + ")"
)


def without_placeholders(redaction: Redaction) -> str:
    """The redacted text with its placeholders left out, and the words naming them (身份证号是…):
    a number says nothing about what is asked, and 手机号 next to one is no topic."""
    return _NAMED_PLACEHOLDER.sub(" ", redaction.text) if redaction.found else redaction.text


def without_personal_data(text: str) -> str:
    """*text* with the personal data it holds left out, and the words naming it."""
    return without_placeholders(redact(text))


def describe(kinds: Iterable[str]) -> str:
    """The kinds found, in Chinese: "身份证号、手机号"."""
    return "、".join(LABELS[kind] for kind in PLACEHOLDERS if kind in set(kinds))


class RedactingFilter(logging.Filter):
    """A logging filter that redacts personal data from every record's message and traceback
    (at DEBUG level python-telegram-bot logs whole updates)."""

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
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text).text
        return True
