from __future__ import annotations

from dataclasses import replace

import pytest

from bot.core.decision import Kind, Thresholds, decide
from bot.core.faq import Faq

CANONICAL = {
    "电子社保卡怎么领": "apply-e-card",
    "电子社保卡是什么": "what-is-e-card",
    "第一张电子社保卡是什么时候发的": "e-card-history",
    "第三代社保卡有什么新功能": "third-gen-features",
    "怎么用支付宝交社保": "query-and-payment",
    "养老金资格认证怎么在手机上做": "pension-verification",
    "失业金怎么申领": "unemployment-benefits",
    "在电子社保卡上怎么找工作": "job-search",
    "忘带社保卡了怎么办": "forgot-card",
    "工伤待遇网上怎么申请": "work-injury",
    "电子社保卡能领多少绿色能量": "green-energy",
}

OUT_OF_SCOPE = [
    "社保卡挂失怎么办",
    "社保卡密码忘了",
    "公积金怎么提取",
    "花呗怎么还款",
    "医保报销比例是多少",
    "护照怎么办理",
    "今天天气怎么样",
    "你好",
    "失业金一个月能领多少钱",
]


@pytest.mark.parametrize(("question", "entry_id"), CANONICAL.items())
def test_clear_questions_are_answered(faq: Faq, question: str, entry_id: str) -> None:
    decision = faq.ask(question)
    assert decision.kind is Kind.ANSWER
    assert decision.entry is not None and decision.entry.id == entry_id
    assert 0.0 <= decision.score <= 1.0


@pytest.mark.parametrize("question", OUT_OF_SCOPE)
def test_uncovered_questions_are_never_answered(faq: Faq, question: str) -> None:
    assert faq.ask(question).kind is not Kind.ANSWER


@pytest.mark.parametrize(
    "question", ["電子社保卡怎麼領取", "失業金怎麼申領", "第３代社保卡有什么新功能"]
)
def test_traditional_and_full_width_questions(faq: Faq, question: str) -> None:
    assert faq.ask(question).kind is Kind.ANSWER


def test_suggestions_when_unsure() -> None:
    from tests.conftest import KNOWLEDGE

    strict = Faq(KNOWLEDGE, Thresholds(answer=1.01, suggest=0.2))
    decision = strict.ask("电子社保卡")
    assert decision.kind is Kind.SUGGEST
    assert 1 <= len(decision.suggestions) <= 3
    assert decision.entry is None


@pytest.mark.parametrize("question", ["电子社保卡", "三代卡？", "社保卡 支付宝"])
def test_a_bare_common_topic_asks_which_one_is_meant(faq: Faq, question: str) -> None:
    decision = faq.ask(question)
    assert decision.kind is Kind.SUGGEST and len(decision.suggestions) >= 2
    assert decision.analysis.breadth >= faq.thresholds.vague


@pytest.mark.parametrize(
    ("question", "entry_id"), [("失业金", "unemployment-benefits"), ("工伤", "work-injury")]
)
def test_a_bare_specific_topic_is_answered(faq: Faq, question: str, entry_id: str) -> None:
    decision = faq.ask(question)
    assert decision.entry is not None and decision.entry.id == entry_id


def test_vague_questions_can_be_answered_when_told_to() -> None:
    from tests.conftest import KNOWLEDGE

    lenient = Faq(KNOWLEDGE, Thresholds(vague=0))
    decision = lenient.ask("电子社保卡")
    assert decision.kind is Kind.ANSWER


@pytest.mark.parametrize(
    "question",
    [
        "",
        "   ",
        "😀😀😀",
        "\u200b\u202e",
        "<b>&amp;</b>",
        "**_`[x](y)`_**",
        "社保卡" * 33_334,
        "\x00\x1b",
    ],
)
def test_hostile_input_never_raises(faq: Faq, question: str) -> None:
    decision = faq.ask(question)
    assert decision.kind in (Kind.ANSWER, Kind.SUGGEST, Kind.FALLBACK)


def test_a_tie_between_two_entries_is_never_answered(faq: Faq) -> None:
    question = "电子社保卡怎么领"
    analysis, candidates = faq.matcher.rank(question)
    top, second = candidates[0], candidates[1]
    tied = [top, replace(second, score=top.score, matched=top.matched), *candidates[2:]]
    assert decide(question, analysis, candidates, faq.thresholds).kind is Kind.ANSWER
    decision = decide(question, analysis, tied, faq.thresholds)
    assert decision.kind is Kind.SUGGEST
    assert decision.suggestions[:2] == (top.entry, second.entry)


@pytest.mark.parametrize(
    ("question", "entry_id"),
    [
        ("不是问公积金，是问电子社保卡怎么领", "apply-e-card"),
        ("第三代社保卡还能当身份凭证用吗，不是问电子身份证", "card-functions"),
    ],
)
def test_a_topic_set_aside_does_not_veto_the_answer(
    faq: Faq, question: str, entry_id: str
) -> None:
    decision = faq.ask(question)
    assert decision.kind is Kind.ANSWER
    assert decision.entry is not None and decision.entry.id == entry_id


@pytest.mark.parametrize("question", ["社保卡里的钱不是公积金吗", "公积金怎么取，不是问社保"])
def test_an_out_of_scope_topic_that_is_asked_about_still_vetoes(faq: Faq, question: str) -> None:
    assert faq.ask(question).kind is not Kind.ANSWER


STORY = (
    "我是从农村来沈阳打工的，今年四十八了，以前一直在饭店后厨帮忙，饭店上个月关门了，现在天天在家"
    "闲着。老乡说不用再去劳务市场站着等活了，说电子社保卡里就能找工作，上面有好多招聘信息。想问问"
    "用电子社保卡怎么找工作？"
)
OUT_OF_SCOPE_STORY = (
    "我今年七十了，老伴走得早，孩子们都在外地，平时家里就我一个人。前些天楼下的老邻居跟我说，"
    "今年养老金又涨了，还说涨了不少，我看了看卡里好像没多多少钱，想问问今年养老金到底涨了多少，"
    "什么时候能补发到卡上？"
)


def test_a_long_story_is_read_from_a_lower_confidence(faq: Faq) -> None:
    # Issue 11's weights put this story's right entry at 0.43, 0.049 ahead of the next: the
    # story rule (0.42 with a lead of 0.05) now offers it first instead of answering it.
    decision = faq.ask(STORY)
    assert len(decision.analysis.tokens) >= faq.thresholds.long_question
    assert decision.kind in (Kind.ANSWER, Kind.SUGGEST)
    assert decision.candidates[0].entry.id == "job-search"
    assert decision.score < faq.thresholds.answer  # only the story rule could answer it
    without = decide(
        STORY,
        decision.analysis,
        list(decision.candidates),
        replace(faq.thresholds, long_question=0),
    )
    assert without.kind is Kind.SUGGEST


def test_an_out_of_scope_story_is_still_not_answered(faq: Faq) -> None:
    decision = faq.ask(OUT_OF_SCOPE_STORY)
    assert len(decision.analysis.tokens) >= faq.thresholds.long_question
    assert decision.kind is not Kind.ANSWER


def test_a_question_to_decline_nearer_by_meaning_wins_only_over_a_word_no_entry_uses(
    faq: Faq,
) -> None:
    question = "电子社保卡怎么领"
    analysis, candidates = faq.matcher.rank(question, meaning=False)
    assert not analysis.unknown  # every word of it is the knowledge base's own
    top = replace(candidates[0], cosine=0.93)
    ranked = [top, *candidates[1:]]
    nearer = replace(analysis, declined_cosine=0.93 + faq.thresholds.closer)
    assert decide(question, nearer, ranked, faq.thresholds).kind is Kind.ANSWER
    strange = replace(nearer, unknown=frozenset({"打折扣"}))
    assert decide(question, strange, ranked, faq.thresholds).kind is Kind.FALLBACK
    farther = replace(strange, declined_cosine=0.93)
    assert decide(question, farther, ranked, faq.thresholds).kind is Kind.ANSWER


@pytest.mark.parametrize(
    ("question", "word"), [("电子社保卡能打折扣吗", "打折扣"), ("电子社保卡怎么办理护照", "护照")]
)
def test_a_telling_word_no_entry_uses_is_noted(faq: Faq, question: str, word: str) -> None:
    analysis = faq.matcher.analyse(question)
    assert word in analysis.unknown
    assert "电子社保卡" not in analysis.unknown and "吗" not in analysis.unknown


def test_a_question_to_decline_nearly_matching_declines_one_holding_a_word_no_entry_uses(
    faq: Faq,
) -> None:
    question = "电子社保卡怎么领"
    analysis, candidates = faq.matcher.rank(question, meaning=False)
    top = candidates[0]
    near = replace(
        analysis,
        declined=top.score - faq.thresholds.declined_within,
        declined_example="电子社保卡怎么打折",
        unknown=frozenset({"打折扣"}),
    )
    assert decide(question, near, candidates, faq.thresholds).kind is Kind.FALLBACK
    known = replace(near, unknown=frozenset())
    assert decide(question, known, candidates, faq.thresholds).kind is Kind.ANSWER
    far = replace(near, declined=top.score - 2 * faq.thresholds.declined_within)
    assert decide(question, far, candidates, faq.thresholds).kind is Kind.ANSWER


def test_a_question_to_decline_nearly_matching_declines_one_holding_a_word_the_entry_lacks(
    faq: Faq,
) -> None:
    question = "车辆年检在哪弄"  # 年检 is the pension check's word; 车辆 no entry's, but known
    analysis, candidates = faq.matcher.rank(question, meaning=False)
    top = next(c for c in candidates if c.matched & analysis.topics)
    assert top.entry.id == "pension-verification" and "车辆" not in top.matched
    assert not analysis.unknown and "车辆" in analysis.declined_words
    assert decide(question, analysis, candidates, faq.thresholds).kind is Kind.FALLBACK
    explained = replace(analysis, declined_words=analysis.declined_words - {"车辆"})
    assert decide(question, explained, candidates, faq.thresholds).kind is Kind.ANSWER
    assert faq.ask("年检在哪弄").entry == top.entry


def test_a_close_best_entry_is_answered_when_it_explains_more_than_the_runner_up(
    faq: Faq,
) -> None:
    question = "电子社保卡怎么领"
    analysis, candidates = faq.matcher.rank(question, meaning=False)
    top = replace(candidates[0], score=faq.thresholds.answer + 0.05)  # below `sure`
    telling = sorted(top.matched & analysis.telling)
    assert len(telling) >= 2
    close = top.score - faq.thresholds.lead / 2
    narrower = replace(candidates[1], score=close, matched=top.matched - {telling[0]})
    closed = decide(question, analysis, [top, narrower], faq.thresholds)
    assert closed.kind is Kind.ANSWER
    assert closed.alternatives == (narrower.entry,)  # a close call: the runner-up offered
    assert decide(question, analysis, candidates, faq.thresholds).alternatives == ()
    alike = replace(narrower, matched=top.matched)
    assert decide(question, analysis, [top, alike], faq.thresholds).kind is Kind.SUGGEST
    wider = replace(narrower, matched=top.matched | {"支付宝"})
    assert (
        decide(
            question,
            replace(analysis, telling=analysis.telling | {"支付宝"}),
            [top, wider],
            faq.thresholds,
        ).kind
        is Kind.SUGGEST
    )


def test_a_bare_topic_shared_by_many_entries_is_answered_by_the_one_naming_all_of_it(
    faq: Faq,
) -> None:
    question = "电子社保卡 支付宝"
    analysis, candidates = faq.matcher.rank(question, meaning=False)
    assert analysis.breadth >= faq.thresholds.vague
    assert faq.ask(question).kind is Kind.SUGGEST  # the runner-up names both words too
    top, runner = candidates[0], candidates[1]
    assert top.score - runner.score < faq.thresholds.vague_lead
    behind = top.score - faq.thresholds.vague_lead
    far = [top, *(replace(c, score=min(c.score, behind)) for c in candidates[1:])]
    assert decide(question, analysis, far, faq.thresholds).kind is Kind.ANSWER  # far ahead
    assert {"电子社保卡", "支付宝"} <= top.matched
    narrower = replace(runner, matched=frozenset({"电子社保卡"}))
    assert decide(question, analysis, [top, narrower], faq.thresholds).kind is Kind.ANSWER
    unnamed = replace(runner, matched=frozenset())  # no comparison: still too vague
    assert decide(question, analysis, [top, unnamed], faq.thresholds).kind is Kind.SUGGEST
