from __future__ import annotations

import pytest

from bot.core.text import MAX_QUESTION_CHARS, first_question, normalize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("電子社保卡怎麼領取", "电子社保卡怎么领取"),
        ("失業金", "失业金"),
        ("第３代社保卡", "第三代社保卡"),
        ("第3代社保卡", "第三代社保卡"),
        ("3代卡", "第三代卡"),
        ("三代卡", "第三代卡"),
        ("新一代社保卡", "新一代社保卡"),  # a new generation, not the first
        ("dian4 zi3 she4bao3ka3", "dian zi shebaoka"),  # tones typed after pinyin
        ("5g手机 win10 mp3", "5g手机 win10 mp3"),
        ("最新那一代社保卡", "最新那一代社保卡"),
        ("ＡＰＰ上怎么找工作", "app上怎么找工作"),
        ("电子社保卡！！？？。。", "电子社保卡"),
        ("👴🙏 养老金认证", "养老金认证"),
        ("社保\u200b卡", "社保 卡"),
        ("\u202e社保卡\u202c", "社保卡"),
        ("@esscard_bot 电子社保卡怎么领", "电子社保卡怎么领"),
        ("<b>社保卡</b>", "b 社保卡 b"),
        ("看 https://example.org/x?y=1 这个", "看 这个"),
        ("  社保\t\n卡  ", "社保 卡"),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "😀😀", "！？。", "\u200b\u200d", "\x00\x07"])
def test_normalize_of_nothing_is_empty(raw: str) -> None:
    assert normalize(raw) == ""


def test_long_input_is_bounded() -> None:
    assert len(normalize("社保卡" * 100_000)) <= MAX_QUESTION_CHARS


def test_taiwan_terms_are_not_rewritten() -> None:
    # t2s, not tw2sp: 查詢 stays 查询 rather than becoming 查找.
    assert normalize("社保查詢") == "社保查询"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("/ask 电子社保卡怎么领", "电子社保卡怎么领"), ("/ask@esscard_bot 失业金", "失业金")],
)
def test_a_leading_bot_command_is_dropped(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("电子社保卡怎么领？另外公积金怎么取", ("电子社保卡怎么领？", "公积金怎么取")),
        ("怎么领?? 顺便问下，公积金", ("怎么领??", "公积金")),
        ("电子社保卡怎么领？", None),
        ("电子社保卡怎么领？？ 😊", None),
        ("？公积金怎么取", None),
        ("电子社保卡怎么领 公积金怎么取", None),
    ],
)
def test_first_question_of_a_message(text: str, parts: tuple[str, str] | None) -> None:
    assert first_question(text) == parts


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("怎 么 领 电 子 社 保 卡", "怎么领电子社保卡"),
        ("老功能 还 能 用 吗 第三代卡", "老功能 还能用吗 第三代卡"),
        ("电子社保卡 怎么 领", "电子社保卡 怎么 领"),
        ("社保卡 领 取", "社保卡 领 取"),
    ],
)
def test_characters_typed_one_by_one_are_joined(raw: str, expected: str) -> None:
    assert normalize(raw) == expected
