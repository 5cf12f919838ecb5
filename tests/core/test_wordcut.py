from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core import wordcut
from bot.core.knowledge import load_knowledge
from bot.core.lexicon import Lexicon, load_lexicon
from bot.core.segment import _DICTIONARY, _jieba
from bot.core.text import normalize
from tests.conftest import KNOWLEDGE
from tests.question_sets import every_question


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return load_lexicon(KNOWLEDGE)


def texts() -> list[str]:
    """Every labelled question and every phrasing of the shipped knowledge base."""
    questions = every_question()
    phrasings = [text for entry in load_knowledge(KNOWLEDGE).entries for text in entry.phrasings]
    return questions + phrasings


def assert_same_as_jieba(lexicon: Lexicon, text: str) -> None:
    """Cut with jieba's dictionary as the matcher uses it: the lexicon's words added."""
    with _DICTIONARY.lock:
        _DICTIONARY.activate(lexicon)
        tokenizer = _jieba()
        assert wordcut.cut(tokenizer, text) == tokenizer.lcut(text, HMM=False)


def test_cuts_every_question_and_phrasing_as_jieba_does(lexicon: Lexicon) -> None:
    checked = 0
    for text in texts():
        assert_same_as_jieba(lexicon, text)
        assert_same_as_jieba(lexicon, normalize(text))
        checked += 1
    assert checked > 4_000


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "电子社保卡",
        "我在app里 用 12333 查社保",
        "第3代社保卡v2.0版+支付宝50%",
        "ok啊 a b c 1 2 3",
        "e-card和3g卡\t\n社保卡\r\n怎么办",
        "，。！？……",
        "𠀀𠀁社保卡",  # characters outside jieba's word range
    ],
)
def test_cuts_mixed_text_as_jieba_does(lexicon: Lexicon, text: str) -> None:
    assert_same_as_jieba(lexicon, text)


@given(
    st.text(
        alphabet=st.sampled_from(
            list("社保卡电子第三代申领支付宝失业金工伤认证养老怎么办不了能的是在上")
            + list("abcAZ0129+#&._%- \t\n，。?！")
        ),
        max_size=40,
    )
)
def test_cuts_any_text_as_jieba_does(lexicon: Lexicon, text: str) -> None:
    assert_same_as_jieba(lexicon, text)
