"""Redaction of ID, mobile and bank card numbers and 验证码 codes."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.privacy import (
    BANK_CARD,
    CODE,
    ID_CARD,
    MOBILE,
    RedactingFilter,
    describe,
    is_id_number,
    luhn_valid,
    redact,
    without_personal_data,
)

FULL_WIDTH = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")


def check_char(first17: str) -> str:
    """The GB 11643 check character: real ID numbers end with it."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


def make_id(region: str = "110105", birth: str = "19491231", sequence: str = "002") -> str:
    first17 = region + birth + sequence
    return first17 + check_char(first17)


def make_card(prefix: str = "6222021234567890", length: int = 19) -> str:
    body = (prefix + "0" * length)[: length - 1]
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


ID = make_id()  # 11010519491231002X
ID_X = next(
    make_id("440301", "19900307", f"{n:03d}")
    for n in range(1000)
    if make_id("440301", "19900307", f"{n:03d}").endswith("X")
)
ID_DIGIT = make_id("320102", "19851120", "123")
CARD = make_card()


def test_helpers() -> None:
    assert ID == "11010519491231002X"
    assert is_id_number(ID) and is_id_number(ID.lower())
    assert luhn_valid("4539578763621486") and not luhn_valid("4539578763621487")
    assert describe({MOBILE, ID_CARD}) == "身份证号、手机号"


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        (f"我的身份证号是{ID}，怎么办", "我的身份证号是[身份证号]，怎么办", ID_CARD),
        (f"身份证{ID_DIGIT}", "身份证[身份证号]", ID_CARD),
        (f"身份证 {ID_X.lower()} 丢了", "身份证 [身份证号] 丢了", ID_CARD),
        (f"号码 {ID[:6]} {ID[6:14]} {ID[14:]} 对吗", "号码 [身份证号] 对吗", ID_CARD),
        ("手机13812345678收不到短信", "手机[手机号]收不到短信", MOBILE),
        ("电话 138 1234 5678", "电话 [手机号]", MOBILE),
        ("打 199-0000-1111 找我", "打 [手机号] 找我", MOBILE),
        ("+86 138-1234-5678 打不通", "[手机号] 打不通", MOBILE),
        ("+8615912345678", "[手机号]", MOBILE),
        ("2021-11-30 13812345678 办的", "2021-11-30 [手机号] 办的", MOBILE),
        (f"卡号{CARD}能用吗", "卡号[银行卡号]能用吗", BANK_CARD),
        (
            f"卡号 {CARD[:4]} {CARD[4:8]} {CARD[8:12]} {CARD[12:16]} {CARD[16:]}",
            "卡号 [银行卡号]",
            BANK_CARD,
        ),
        ("信用卡4539578763621486", "信用卡[银行卡号]", BANK_CARD),
        ("验证码是123456", "验证码是[验证码]", CODE),
        ("验证码：4821", "验证码：[验证码]", CODE),
        ("我的验证码为 58ab21 收到了", "我的验证码为 [验证码] 收到了", CODE),
        ("短信验证码 903311，麻烦看下", "短信验证码 [验证码]，麻烦看下", CODE),
    ],
)
def test_redacts(text: str, expected: str, kind: str) -> None:
    result = redact(text)
    assert result.text == expected
    assert result.kinds == {kind}
    assert result.found


def test_several_kinds_in_one_text() -> None:
    result = redact(f"身份证{ID}，手机13812345678，验证码是8899")
    assert result.text == "身份证[身份证号]，手机[手机号]，验证码是[验证码]"
    assert result.kinds == {ID_CARD, MOBILE, CODE}


def test_full_width_digits_are_found_and_the_rest_kept_as_written() -> None:
    text = f"身份证：{ID.translate(FULL_WIDTH)}，手机：１３８ １２３４ ５６７８！ＡＢＣ"
    result = redact(text)
    assert result.text == "身份证：[身份证号]，手机：[手机号]！ＡＢＣ"
    assert result.kinds == {ID_CARD, MOBILE}
    assert redact("验证码：４８２１").text == "验证码：[验证码]"


def _bad_check(identity: str) -> str:
    """*identity* with a wrong check character that is not Luhn-valid either."""
    for char in "0123456789":
        candidate = identity[:17] + char
        if char != identity[17] and not luhn_valid(candidate):
            return candidate
    raise AssertionError("no candidate")


ORDER = next(str(n) for n in range(123456789012345, 123456789012400) if not luhn_valid(str(n)))


@pytest.mark.parametrize(
    "text",
    [
        f"编号{make_id('110105', '19491331', '002')}",  # no 13th month
        f"编号{make_id('110105', '29990101', '002')}",  # born in the future
        f"编号{make_id('000000', '19900101', '002')}",  # no such region
        "2021年办的卡",
        "打12333问问",
        "全国292城都能用",
        "缴了3600.50元，一共 12,345 元",
        f"订单号 {ORDER}",
        "2021-11-30 办的",
        "12345678901",  # 11 digits, not a mobile prefix
        "010-12345678",
        "400-123-4567",
        "卡号后四位1234",
        "验证码收不到怎么办",
        "验证码是多少位",
        "第三代社保卡 1 2 3",
        "",
    ],
)
def test_look_alikes_stay(text: str) -> None:
    result = redact(text)
    assert result.text == text
    assert not result.kinds


def test_order_number_fails_luhn() -> None:
    assert len(ORDER) == 15 and not luhn_valid(ORDER)


def test_logging_filter_redacts_messages(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.privacy")
    logger.addFilter(RedactingFilter())
    try:
        with caplog.at_level(logging.INFO, logger="test.privacy"):
            logger.info("question %r from chat %d", "手机13812345678", 42)
    finally:
        logger.filters.clear()
    assert caplog.records[0].getMessage() == "question '手机[手机号]' from chat 42"


# -- properties ----------------------------------------------------------------------------

REGIONS = ["110105", "310104", "440301", "510107", "650102", "820000"]
chinese = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), max_size=8)
separator = st.sampled_from(["", " ", "，", "：", "\n"])


@st.composite
def valid_ids(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(REGIONS))
    birth = draw(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date.today()))
    sequence = draw(st.integers(0, 999))
    identity = make_id(region, birth.strftime("%Y%m%d"), f"{sequence:03d}")
    return identity.lower() if draw(st.booleans()) else identity


@given(valid_ids(), chinese, chinese, separator, st.booleans())
def test_valid_ids_are_always_redacted(
    identity: str, before: str, after: str, sep: str, full_width: bool
) -> None:
    written = identity.translate(FULL_WIDTH) if full_width else identity
    result = redact(before + sep + written + sep + after)
    assert result.text == before + sep + "[身份证号]" + sep + after
    assert result.kinds == {ID_CARD}


@given(st.sampled_from("3456789"), st.text("0123456789", min_size=9, max_size=9), chinese)
def test_mobiles_are_always_redacted(second: str, rest: str, after: str) -> None:
    number = "1" + second + rest
    result = redact(f"手机{number}{after}")
    assert result.text == f"手机[手机号]{after}"


@given(st.sampled_from(["62", "4", "5", "35"]), st.integers(13, 19), st.text("0123456789"))
def test_luhn_valid_cards_are_always_redacted(prefix: str, length: int, digits: str) -> None:
    card = make_card(prefix + digits, length)
    result = redact(f"卡号：{card}。")
    assert result.text in ("卡号：[银行卡号]。", "卡号：[手机号]。", "卡号：[身份证号]。")
    assert result.found


@given(st.text(max_size=60))
def test_redaction_is_idempotent(text: str) -> None:
    once = redact(text).text
    assert redact(once).text == once


@given(st.text(alphabet=st.characters(blacklist_categories=("Nd", "No")), max_size=60))
def test_text_without_digits_is_unchanged(text: str) -> None:
    assert redact(text).text == text


def test_personal_data_and_the_words_naming_it_are_left_out_of_matching() -> None:
    first17 = "21010219800101123"
    id_number = first17 + check_char(first17)
    assert without_personal_data(f"我身份证号是{id_number}，电子社保卡怎么领").endswith(
        "，电子社保卡怎么领"
    )
    assert "手机" not in without_personal_data("手机号13912345678 养老认证咋弄")
    assert without_personal_data("手机号换了怎么办") == "手机号换了怎么办"  # nothing found


def test_a_mistyped_id_number_is_still_redacted() -> None:
    # One digit off breaks the check character; the number is still someone's ID.
    mistyped = _bad_check(ID_DIGIT)
    assert redact(f"身份证{mistyped}，电子社保卡咋领").text == "身份证[身份证号]，电子社保卡咋领"
    assert without_personal_data(f"我叫王秀英，身份证{mistyped}，电子社保卡咋领") == (
        "我叫王秀英， ，电子社保卡咋领"
    )
