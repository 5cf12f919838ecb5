from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.core.lexicon import load_lexicon
from bot.core.segment import Segmenter
from bot.core.text import normalize
from tests.conftest import KNOWLEDGE


@pytest.fixture(scope="module")
def segmenter() -> Segmenter:
    return Segmenter(load_lexicon(KNOWLEDGE))


def tokens(segmenter: Segmenter, text: str) -> list[str]:
    return segmenter.tokens(normalize(text))


@pytest.mark.parametrize(
    ("typo", "word"),
    [
        ("设保卡", "社保卡"),
        ("社报卡", "社保卡"),
        ("失叶金", "失业金"),
        ("店子社保卡", "电子社保卡"),
        ("公伤", "工伤"),
        ("认正", "认证"),
    ],
)
def test_homophone_typos_are_repaired(segmenter: Segmenter, typo: str, word: str) -> None:
    assert segmenter.repair(typo) == word


@pytest.mark.parametrize(
    "text", ["事业单位", "工商局", "有什么新功能", "认真", "工作", "手机上能亮社保卡", "不太会用"]
)
def test_real_words_are_not_repaired(segmenter: Segmenter, text: str) -> None:
    assert segmenter.repair(text) == text


def test_repair_never_breaks_a_correct_domain_word(segmenter: Segmenter) -> None:
    assert "找工作" in tokens(segmenter, "怎么在电子社保卡上找工作")


def test_synonyms_are_canonical(segmenter: Segmenter) -> None:
    assert tokens(segmenter, "退休金") == tokens(segmenter, "养老金")
    assert tokens(segmenter, "失业保险金") == tokens(segmenter, "失业金")
    assert tokens(segmenter, "社会保障卡") == tokens(segmenter, "社保卡")


def test_split_compounds_are_merged_back(segmenter: Segmenter) -> None:
    assert "电子社保卡" in tokens(segmenter, "电子的社保卡")


def test_stopwords_are_dropped(segmenter: Segmenter) -> None:
    assert "吗" not in tokens(segmenter, "支付宝能交社保吗")
    assert tokens(segmenter, "的了吗呢") == []


def test_a_lexicon_segments_the_same_whatever_was_loaded_before(
    segmenter: Segmenter, write_kb: Callable[..., Path]
) -> None:
    text = normalize("我想领电子社保卡，社保待遇资格认证怎么做")
    shipped = segmenter.tokens(text)
    # Another lexicon: 电子社保卡 is not one of its words, and 资格认证 must always be split.
    folder = write_kb({"lexicon/userdict.txt": "资格认证 0\n领卡\n"})
    other = Segmenter(load_lexicon(folder))
    alone = other.tokens(text)
    assert "电子社保卡" not in alone and "资格认证" not in alone
    assert segmenter.tokens(text) == shipped  # switching back restores the shipped words
    assert other.tokens(text) == alone


@pytest.mark.parametrize(
    ("typed", "word"),
    [("dzsbk", "电子社保卡"), ("shebaoka", "社保卡"), ("syj", "失业金"), ("jiaofei", "缴费")],
)
def test_domain_words_typed_in_pinyin_are_read(
    segmenter: Segmenter, typed: str, word: str
) -> None:
    assert tokens(segmenter, f"{typed}怎么弄")[0] == word


@pytest.mark.parametrize(
    ("typed", "word"),
    [
        ("wang dai", "忘带"),
        ("disandai shebaoka", "第三代社保卡"),
        ("dian zi she bao ka", "电子社保卡"),
    ],
)
def test_domain_words_typed_in_pinyin_pieces_are_read(
    segmenter: Segmenter, typed: str, word: str
) -> None:
    assert tokens(segmenter, f"{typed} zenme ban")[0] == word


def test_short_initials_and_plain_english_are_not_read_as_pinyin(segmenter: Segmenter) -> None:
    assert tokens(segmenter, "sb") == ["sb"]
    assert tokens(segmenter, "pension") == ["养老金"]  # the English synonym, not pinyin


@pytest.mark.parametrize(
    "text",
    [
        "我妈的设保卡丢了 在哪补办 要带身份证吗",
        "听说能领失叶金 我在沈阳 上个月刚被裁 要去哪登记",
        "老人 店子社保卡 怎么弄 认正在哪",
        "设保卡",
        # voice input: one long clause, the typos in its middle
        "嗯就是那个我大侄儿去年厂子黄了在家待着呢你说他那个失业斤申请了老长时间没动静了",
        "我闺女说手机上能领社宝卡电子的那种就在只付宝里头领你说咋领啊",
    ],
)
def test_a_repair_cuts_again_only_what_it_changed(segmenter: Segmenter, text: str) -> None:
    # Only the tokens around a repair are cut again: they must be those of the whole
    # repaired text cut afresh.
    repaired = segmenter.repair(text)
    assert repaired != text
    assert segmenter.tokens(text) == segmenter.tokens(repaired, repair=False)


def test_sentence_particles_are_no_trace_of_a_typo(segmenter: Segmenter) -> None:
    # 呗 once sent 笑话呗 to 花呗 (an out-of-scope word).
    assert segmenter.repair("讲个笑话呗") == "讲个笑话呗"


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("dian子社保卡怎么领", "电子社保卡"),
        ("shi业金网上申请", "失业金"),
        ("支付bao里咋领", "支付宝"),
        ("gong伤待遇认证咋弄", "工伤"),
        ("tong步申领是啥", "同步申领"),
    ],
)
def test_domain_words_typed_part_in_pinyin_are_read(
    segmenter: Segmenter, text: str, word: str
) -> None:
    assert word in tokens(segmenter, text)


@pytest.mark.parametrize("text", ["app里能领吗", "我用dian脑能查吗", "ok 谢谢", "can i use it"])
def test_letters_that_spell_no_domain_word_stay(segmenter: Segmenter, text: str) -> None:
    assert segmenter.tokens(normalize(text)) == segmenter.tokens(normalize(text), repair=False)


@pytest.mark.parametrize(
    ("text", "aside"),
    [
        ("不是问公积金 是问电子社保卡怎么领", {"公积金"}),
        ("工伤认定能在电子社保卡上办吗 不是问医保报销", {"医保", "报销"}),
        ("不用个税app 支付宝里能查社保吗", {"税", "app"}),
        ("社保卡里的钱不是公积金吗", set()),  # 不是 inside the clause asks about it
        ("不是说二代卡要停用了吗", set()),  # a rumour to check, not an aside
    ],
)
def test_a_clause_starting_with_a_negation_sets_its_words_aside(
    segmenter: Segmenter, text: str, aside: set[str]
) -> None:
    words, set_aside = segmenter.read(normalize(text))
    assert words == tokens(segmenter, text)
    assert set_aside == aside
