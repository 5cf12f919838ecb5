"""Every figure, date and name the knowledge base shows comes from the source article.

The article is under its publisher's copyright, so the repository keeps an index of it instead
(``tests/fixtures/source-article.json``, built by ``tools/source_index.py``): its title, date,
figures and a digest of every run of up to 15 characters. Answers, steps, titles and captions are
held against it: numbers, dates, frequencies, card generations, quoted labels and names must occur
in it or be on the short reviewed list below; and no answer repeats 15 or more characters of it in
a row (answers are in our own words).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from functools import cache

import jieba
import jieba.posseg
import pytest

from bot.core.faq import Faq
from bot.core.knowledge import Entry
from tests.conftest import ROOT
from tools.source_index import DATE, NUMBER, SourceIndex, build, date_of

INDEX_FILE = ROOT / "tests" / "fixtures" / "source-article.json"
SEED_ARTICLE = ROOT.parent / "shared" / "seed" / "article.md"
"""Where the article lies beside a checkout of this workplace; absent elsewhere."""

ALLOWED = {
    "12333": "the national 人社 hotline; every answer routes what the article lacks to it",
    "人社服务热线": "the name of 12333",
    "社保经办机构": "the local office people are sent to for what the article lacks",
    "人社局": "the same, as people call it",
    "人社部门": "the same, in the source line's notice",
    "公园年卡": "named only to flag 公务员年卡 in the article as a likely typo for it",
    "城市": "a common noun that jieba tags as a place name",
}
"""Reviewed names and figures that are not in the article, and why they may stand."""

MAX_RUN = 14
"""The longest run of characters an answer may share with the article."""

_NAME_TAGS = ("ns", "nt", "nz", "eng", "j")
"""jieba's tags for places, organisations, other proper nouns, Latin words, abbreviations."""
_INSTITUTION = re.compile(
    r"(?=([\u4e00-\u9fff]{2}(?:部门|局|中心|平台|机构|热线|峰会|银行|公司|政府|小程序)))"
)
_QUOTED = re.compile(r"[“「《]([^”」》]+)[”」》]")
_YEAR = re.compile(r"(\d{4})\s*年")
_CHINESE_AMOUNT = re.compile(r"[零〇一二两三四五六七八九十百千]+[万亿代届]")
_FREQUENCY = re.compile(r"每(?:个)?(?:年|月|天|日|周|星期|季度)")


@cache
def article() -> SourceIndex:
    return SourceIndex.load(INDEX_FILE)


@cache
def tagger() -> jieba.posseg.POSTokenizer:
    jieba.setLogLevel(logging.WARNING)
    return jieba.posseg.POSTokenizer(jieba.Tokenizer())


def shown_texts(entry: Entry) -> Iterator[tuple[str, str]]:
    """(where, text) of everything a user reads of an entry."""
    yield f"{entry.id} title", entry.title
    yield f"{entry.id} answer", entry.answer
    for number, step in enumerate(entry.steps, start=1):
        yield f"{entry.id} step {number}", step
    for number, image in enumerate(entry.images, start=1):
        yield f"{entry.id} caption {number}", image.caption


def unsupported(text: str, source: SourceIndex, titles: frozenset[str] = frozenset()) -> list[str]:
    """The figures, dates and names in *text* that *source* does not contain."""
    known = source, titles, ALLOWED
    found = [quoted for quoted in _QUOTED.findall(text) if all(quoted not in k for k in known)]
    for allowed in ALLOWED:
        text = text.replace(allowed, "□")
    for match in DATE.finditer(text):
        if date_of(match) not in source.dates:
            found.append(match[0])
    rest = DATE.sub(" ", text)
    found += [year[0] for year in _YEAR.finditer(rest) if int(year[1]) not in source.years]
    found += [n for n in NUMBER.findall(_YEAR.sub(" ", rest)) if n not in source.numbers]
    found += [
        words
        for pattern in (_CHINESE_AMOUNT, _FREQUENCY)
        for words in pattern.findall(text)
        if words not in source
    ]
    names = {match[1] for match in _INSTITUTION.finditer(text)}
    names |= {
        word
        for word, tag in tagger().cut(text)
        if tag.startswith(_NAME_TAGS) and (len(word) > 1 or tag == "eng")
    }
    found += sorted(name for name in names if name not in source)
    return found


def test_the_index_is_of_the_article_the_kb_names(faq: Faq) -> None:
    source = article()
    assert source.title == "@辽宁人，这个卡你领了吗？事关你的社保"
    for entry in faq.kb.entries:
        assert entry.source.title == source.title, entry.id
        assert entry.source.date == "{:04d}-{:02d}-{:02d}".format(*source.published), entry.id
        assert entry.source.outlet.split(" / ")[0] in source, entry.id


@pytest.mark.skipif(
    not SEED_ARTICLE.exists(), reason="the article itself is not beside this checkout"
)
def test_the_index_is_up_to_date_with_the_article() -> None:
    assert (
        SourceIndex(build(SEED_ARTICLE.read_text(encoding="utf-8"))).__dict__ == article().__dict__
    )


def test_the_index_answers_containment_without_the_text() -> None:
    source = article()
    assert "人社部" in source and "支付宝" in source
    assert "医保局" not in source and "第四代" not in source
    assert "" in source


def test_every_figure_date_and_name_in_the_kb_is_in_the_article(faq: Faq) -> None:
    titles = frozenset(entry.title for entry in faq.kb.entries)
    problems = [
        f"{where}: {', '.join(found)}"
        for entry in faq.kb.entries
        for where, text in shown_texts(entry)
        if (found := unsupported(text, article(), titles))
    ]
    assert not problems, "not in the article and not on the reviewed list:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("invented", "caught"),
    [
        ("到2022年，支付宝已签发电子社保卡2亿张。", "2022年"),
        ("2021年11月1日起可以同步申领。", "2021年11月1日"),
        ("全国已有300个城市支持。", "300"),
        ("每个月可以领5g绿色能量。", "5"),
        ("累计签发了两亿张。", "两亿"),
        ("第四代社保卡也能同步申领。", "四代"),
        ("老人每季度都要认证一次。", "每季度"),
        ("在广东省也能这样领。", "广东省"),
        ("也可以在国家医保局的网站上办。", "医保局"),
        ("在支付宝“城市服务”里找到社保。", "城市服务"),
        ("打开WeChat搜索电子社保卡。", "WeChat"),
        ("或者拨打12345问问。", "12345"),
    ],
)
def test_an_invented_figure_date_or_name_is_caught(invented: str, caught: str) -> None:
    assert caught in unsupported(invented, article())


def test_the_facts_in_the_article_pass() -> None:
    said = (
        "2018年4月22日在福建，人社部签发首张电子社保卡；支付宝已签发2亿张，292城，近10万个岗位。"
    )
    assert unsupported(said, article()) == []


def test_no_answer_repeats_15_characters_of_the_article(faq: Faq) -> None:
    source = article()
    problems = []
    for entry in faq.kb.entries:
        for where, text in shown_texts(entry):
            # A document's exact title must stay as it is, so a reader can find it.
            own = re.sub(
                r"《[^》]+》", lambda title: "□" if title[0] in source else title[0], text
            )
            run = source.longest_shared_run(own)
            if len(run) > MAX_RUN:
                problems.append(f"{where}: {run}")
    assert not problems, "copied from the article, say it in your own words:\n" + "\n".join(
        problems
    )


def test_the_run_finder_finds_a_copied_sentence() -> None:
    copied = "据报道，支付宝作为人社部的电子社保卡发放平台，已经很久了。"
    assert article().longest_shared_run(copied) == "，支付宝作为人社部的电子社保卡"
    assert article().longest_shared_run("支付宝可以领电子社保卡") == "领电子社保卡"
