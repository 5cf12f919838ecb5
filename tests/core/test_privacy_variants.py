"""Redaction against what people really type: numbers split, dotted, spaced and prefixed any
way they like (generated, not listed), and ordinary questions whose numbers must stay."""

from __future__ import annotations

import datetime as dt
import logging
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from bot.core.privacy import (
    _MAYBE_DIGIT,
    BANK_CARD,
    ID_CARD,
    MOBILE,
    PLACEHOLDERS,
    RedactingFilter,
    is_id_number,
    luhn_valid,
    redact,
)
from tests.core.test_privacy import FULL_WIDTH, REGIONS, make_card, make_id

SEPARATORS = [
    " ",
    "  ",
    "\u3000",  # ideographic space
    "\u00a0",  # no-break space
    "\u200b",  # zero-width space
    "-",
    "－",  # full-width hyphen
    "—",  # em dash
    "——",
    " — ",
    "–",  # en dash
    ".",
    "．",
    "·",
    "_",
    "\n",
    "\r\n",
    "\t",
]
CONTEXT = ["我的", "请问", "号码是", "这个", "帮我查一下", "，谢谢", "怎么办", "能用吗", "。", ""]

separator = st.sampled_from(SEPARATORS)
context = st.lists(st.sampled_from(CONTEXT), max_size=3).map("".join)


@st.composite
def partitions(
    draw: st.DrawFn, length: int, *, short_last: bool, singles: bool = True
) -> list[int]:
    """Group sizes people use: none, one digit at a time (if *singles*), fixed chunks, or free
    cuts of three or more digits (the last group may be shorter when *short_last*)."""
    style = draw(st.sampled_from(["whole", "chunks", "cuts"] + (["digits"] if singles else [])))
    if style == "whole":
        return [length]
    if style == "digits":
        return [1] * length
    if style == "chunks":
        width = draw(st.integers(3, 8))
        sizes = [width] * (length // width)
        rest = length - sum(sizes)
        if rest and (short_last or rest >= 3):
            return [*sizes, rest]
        if rest:
            sizes[-1] += rest
        return sizes
    sizes = []
    left = length
    while left:
        if left <= 5:
            sizes.append(left)
            break
        size = draw(st.integers(3, left))
        if left - size < 3 and not (short_last and left - size >= 1):
            size = left
        sizes.append(size)
        left -= size
    return sizes


def digits(written: str) -> str:
    """The digits of a written number."""
    return "".join(char for char in written if char.isdigit())


def write(digits: str, sizes: list[int], gaps: list[str]) -> str:
    """*digits* cut into groups of *sizes*, joined by *gaps* (reused in turn)."""
    groups, start = [], 0
    for size in sizes:
        groups.append(digits[start : start + size])
        start += size
    written = groups[0]
    for number, group in enumerate(groups[1:]):
        written += gaps[number % len(gaps)] + group
    return written


@st.composite
def ids(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(REGIONS))
    birth = draw(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date.today()))
    identity = make_id(region, birth.strftime("%Y%m%d"), f"{draw(st.integers(0, 999)):03d}")
    if draw(st.booleans()):  # a mistyped check character is still someone's ID
        identity = identity[:17] + draw(st.sampled_from("0123456789X"))
    return identity


@st.composite
def written_ids(draw: st.DrawFn) -> str:
    identity = draw(ids())
    sizes = draw(
        st.one_of(
            partitions(18, short_last=True),
            st.sampled_from([[6, 8, 4], [4, 4, 4, 4, 2], [6, 4, 4, 4], [3, 3, 4, 4, 4]]),
        )
    )
    gaps = draw(st.lists(separator, min_size=1, max_size=3))
    written = write(identity, sizes, gaps)
    if identity[-1] == "X" and draw(st.booleans()):
        written = written.lower()
    return written.translate(FULL_WIDTH) if draw(st.booleans()) else written


@st.composite
def written_mobiles(draw: st.DrawFn) -> str:
    number = (
        "1"
        + draw(st.sampled_from("3456789"))
        + draw(st.text("0123456789", min_size=9, max_size=9))
    )
    head = draw(st.sampled_from([3, 4]))  # 138 0013 8000, 1380 013 8000
    sizes = draw(
        st.one_of(
            st.just([11]),
            st.just([1] * 11),
            partitions(11 - head, short_last=False, singles=False).map(lambda rest: [head, *rest]),
        )
    )
    gaps = draw(st.lists(separator, min_size=1, max_size=2))
    written = write(number, sizes, gaps)
    if draw(st.booleans()) and sizes[0] == 3:
        written = f"({number[:3]})" + written[3:].lstrip("".join(SEPARATORS))
    prefixes = ["", "+86 ", "0086-", "86 ", "(+86)", "+86-", "+86\u3000"]
    if sizes[0] >= 3:
        prefixes += ["+86", "0086"]  # glued on: +8613800138000, 0086138 0013 8000
    written = draw(st.sampled_from(prefixes)) + written
    return written.translate(FULL_WIDTH) if draw(st.booleans()) else written


@st.composite
def written_cards(draw: st.DrawFn) -> str:
    length = draw(st.integers(16, 19))
    prefix = draw(st.sampled_from(["62", "62", "4", "5"]))  # UnionPay, Visa, Mastercard
    body = prefix + draw(st.text("0123456789", min_size=length, max_size=length))
    if prefix == "62":  # a mistyped UnionPay number (Luhn fails) is still a card number
        card = body[: length - 1] + draw(st.sampled_from("0123456789"))
    else:
        card = make_card(body, length)
    sizes = draw(
        st.sampled_from(
            [[length], [1] * length, [6, length - 6], [*([4] * (length // 4)), length % 4]]
        )
    )
    sizes = [size for size in sizes if size]
    gaps = draw(st.lists(separator, min_size=1, max_size=2))
    return write(card, sizes, gaps)


@given(written_ids(), context, context)
def test_id_numbers_are_redacted_however_written(written: str, before: str, after: str) -> None:
    result = redact(f"{before}身份证{written}{after}")
    assert result.text == f"{before}身份证{PLACEHOLDERS[ID_CARD]}{after}"
    assert result.kinds == {ID_CARD}


@given(written_mobiles(), context, context)
def test_mobiles_are_redacted_however_written(written: str, before: str, after: str) -> None:
    result = redact(f"{before}电话{written}{after}")
    assert result.text == f"{before}电话{PLACEHOLDERS[MOBILE]}{after}"
    assert result.kinds == {MOBILE}


@given(written_cards(), context, context)
def test_bank_cards_are_redacted_however_written(written: str, before: str, after: str) -> None:
    result = redact(f"{before}{written}{after}")
    kind = ID_CARD if is_id_number(digits(written)) else BANK_CARD  # 62...: Gansu's IDs too
    assert result.text == f"{before}{PLACEHOLDERS[kind]}{after}", written
    assert result.kinds == {kind}


def test_the_generators_make_what_the_issue_names() -> None:
    """The shapes reported to leak, each one caught (examples of the generators above)."""
    identity = make_id("110105", "19491231", "002")
    assert identity.endswith("X") and not luhn_valid("6222021234567890")
    for text in [
        f"身份证{identity[:4]} {identity[4:8]} {identity[8:12]} {identity[12:16]} {identity[16:]}",
        "身份证" + ".".join([identity[:6], identity[6:14], identity[14:]]),
        "身份证" + "\n".join([identity[:6], identity[6:14], identity[14:]]),
        "身份证" + " ".join(identity),
        "身份证" + "\u3000".join([identity[:6], identity[6:14], identity[14:]]),
        "电话138.0013.8000",
        "电话(138)0013-8000",
        "电话138—0013—8000",
        "电话+86 138 0013 8000",
        "电话0086 13800138000",
        "卡号622202 1234567890",
        "卡号6222.0212.3456.7890",
        "卡号6222_0212_3456_7890",
        "卡号6222021234567890",
    ]:
        result = redact(text)
        assert not any(char.isdigit() for char in result.text), (text, result.text)


# -- ordinary numbers stay ----------------------------------------------------------------

years = st.integers(1990, 2030)
months = st.integers(1, 12)
days = st.integers(1, 31)
small = st.integers(0, 999)


@st.composite
def ordinary_numbers(draw: st.DrawFn) -> str:
    """One everyday number as people write it in a question."""
    year, month, day = draw(years), draw(months), draw(days)
    hour, minute = draw(st.integers(0, 23)), draw(st.integers(0, 59))
    return draw(
        st.sampled_from(
            [
                f"{year}年{month}月{day}日",
                f"{year}年{month}月{day}号",
                f"{year}-{month:02d}-{day:02d}",
                f"{year}.{month}.{day}",
                f"{year}/{month}/{day}",
                f"{month}月{day}日",
                f"{month}月",
                f"{year}年",
                f"{draw(small)}个城市",
                f"{draw(st.integers(1, 20))}亿张",
                "12333",
                f"{draw(st.integers(1, 500))}克",
                f"{draw(st.integers(1, 99))}岁",
                f"交了{draw(st.integers(1, 40))}年",
                f"{draw(st.integers(1, 99_999))}.{draw(st.integers(0, 99)):02d}元",
                f"{draw(st.integers(1, 999))},{draw(st.integers(0, 999)):03d}元",
                f"{hour}:{minute:02d}",
                f"{hour}点{minute}分",
                f"{draw(st.integers(0, 100))}%",
                f"第{draw(st.integers(1, 3))}代",
                f"{draw(st.integers(100000, 999999))}",  # a postcode
                f"024-{draw(st.integers(20000000, 89999999))}",  # a Shenyang landline
                f"{draw(st.integers(1, 9))}个工作日",
            ]
        )
    )


QUESTION_WORDS = [
    "电子社保卡",
    "怎么领",
    "办理",
    "之前",
    "能用吗",
    "是真的吗",
    "，",
    "。",
    " ",
    "？",
]


@given(
    st.lists(st.tuples(ordinary_numbers(), st.sampled_from(QUESTION_WORDS)), max_size=6),
    st.sampled_from(QUESTION_WORDS),
)
def test_ordinary_numbers_are_kept(parts: list[tuple[str, str]], first: str) -> None:
    text = first + "".join(number + word for number, word in parts)
    result = redact(text)
    assert result.text == text
    assert not result.found


@given(st.lists(ordinary_numbers(), min_size=2, max_size=4), st.sampled_from([" ", "，", "、"]))
def test_several_ordinary_numbers_side_by_side_are_kept(parts: list[str], gap: str) -> None:
    text = "请问" + gap.join(parts) + "的事"
    assert redact(text).text == text


# -- the log at DEBUG level ---------------------------------------------------------------


def logged(message: str, *args: object) -> str:
    """What the log shows for a record, after the bot's redacting filter."""
    record = logging.LogRecord(
        "telegram.ext.Application", logging.DEBUG, "", 0, message, args, None
    )
    RedactingFilter().filter(record)
    return record.getMessage()


written_numbers = st.one_of(
    written_ids().map(lambda written: (ID_CARD, written)),
    written_mobiles().map(lambda written: (MOBILE, written)),
    written_cards().map(
        lambda written: (ID_CARD if is_id_number(digits(written)) else BANK_CARD, written)
    ),
)


@given(written_numbers, context)
def test_debug_logs_of_whole_updates_are_redacted(number: tuple[str, str], before: str) -> None:
    """python-telegram-bot logs updates and requests as Python reprs, where a newline or an
    ideographic space inside the number is an escape sequence."""
    kind, written = number
    update = {"message": {"text": f"{before}号码{written}", "chat": {"id": 1}}}
    hidden = {"message": {"text": f"{before}号码{PLACEHOLDERS[kind]}", "chat": {"id": 1}}}
    assert logged("Processing update %s", update) == f"Processing update {hidden}"
    assert logged("Calling `sendMessage` with `%r`", update["message"]["text"]) == (
        f"Calling `sendMessage` with `{hidden['message']['text']!r}`"
    )


def test_the_quick_digit_check_knows_every_character_that_folds_to_a_digit() -> None:
    """A text is searched only if it holds a character whose NFKC form has a digit."""
    folds_to_digit = [
        chr(point)
        for point in range(0x80, 0x110000)
        if any("0" <= char <= "9" for char in unicodedata.normalize("NFKC", chr(point)))
    ]
    assert all(_MAYBE_DIGIT.match(char) for char in folds_to_digit)
    assert redact("手机１３８ ００１３ ８０００").text == "手机[手机号]"
