from __future__ import annotations

import html.parser
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from bot.core.decision import Kind
from bot.core.faq import Faq
from bot.core.knowledge import load_knowledge
from bot.core.render import (
    MAX_RELATED,
    Action,
    render_category,
    render_decision,
    render_entry,
    render_fallback,
    render_menu,
    render_suggestions,
    source_line,
)
from bot.core.service import Answering, Incoming
from bot.core.strings_zh import GREETING_TEXT, HOTLINE, OTHERS_TEXT, THANKS_TEXT
from tests.conftest import SOURCE, entry_yaml


class TagBalance(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack.pop() == tag


def assert_well_formed(markup: str) -> None:
    parser = TagBalance()
    parser.feed(markup)
    parser.close()
    assert parser.stack == []


def test_answer_has_title_steps_source_and_buttons(faq: Faq) -> None:
    entry = faq.kb.by_id["apply-e-card"]
    reply = render_entry(entry, faq.kb)
    assert reply.html.startswith(f"<b>{entry.title}</b>")
    assert "1. " in reply.text and "2021-11-30" in reply.text
    assert reply.images == entry.images
    actions = [button.action for row in reply.buttons for button in row]
    assert Action.VOTE_UP in actions and Action.VOTE_DOWN in actions
    related = [b.value for row in reply.buttons for b in row if b.action is Action.ENTRY]
    assert related and len(related) <= MAX_RELATED and set(related) <= set(entry.related)
    assert_well_formed(reply.html)


def test_the_source_line_names_the_article_its_outlet_and_date(faq: Faq) -> None:
    reply = render_entry(faq.kb.by_id["apply-e-card"], faq.kb)
    line = "来源：指尖沈阳 / 沈报全媒体《@辽宁人，这个卡你领了吗？事关你的社保》（2021-11-30）。"
    assert line in reply.text and f"<i>{line}" in reply.html


def test_a_source_without_a_title_shows_outlet_and_date(write_kb: Callable[..., Path]) -> None:
    kb = load_knowledge(write_kb({"a.yaml": SOURCE + "entries:\n" + entry_yaml("a-one")}))
    assert source_line(kb.by_id["a-one"]).startswith("来源：测试日报（2021-11-30）。")


def test_every_related_entry_of_the_shipped_kb_gets_its_button(faq: Faq) -> None:
    for entry in faq.kb.entries:
        reply = render_entry(entry, faq.kb)
        shown = [b.value for row in reply.buttons for b in row if b.action is Action.ENTRY]
        assert shown == list(entry.related), entry.id


def test_the_services_overview_offers_every_service_it_names(faq: Faq) -> None:
    entry = faq.kb.by_id["e-card-services"]
    named = {
        "交社保": "query-and-payment",
        "养老待遇资格认证": "pension-verification",
        "工伤": "work-injury",
        "失业金": "unemployment-benefits",
        "找工作": "job-search",
    }
    assert all(words in entry.answer for words in named)
    assert set(named.values()) <= set(entry.related)


def test_compact_answer_has_no_related_buttons(faq: Faq) -> None:
    reply = render_entry(faq.kb.by_id["apply-e-card"], faq.kb, compact=True)
    assert all(b.action is not Action.ENTRY for row in reply.buttons for b in row)


def test_everything_is_escaped(faq: Faq) -> None:
    entry = faq.kb.by_id["apply-e-card"]
    from dataclasses import replace

    hostile = replace(entry, title="<script>&", answer="a < b & c > d", steps=("<i>",))
    reply = render_entry(hostile, faq.kb)
    assert "<script>" not in reply.html and "&lt;script&gt;&amp;" in reply.html
    assert "&lt;i&gt;" in reply.html
    assert_well_formed(reply.html)


def test_fallback_is_honest_and_offers_the_menu() -> None:
    reply = render_fallback()
    assert HOTLINE in reply.text and reply.kind is Kind.FALLBACK
    assert reply.buttons[0][0].action is Action.MENU


def test_suggestions_end_with_none_of_these(faq: Faq) -> None:
    entries = (faq.kb.by_id["apply-e-card"], faq.kb.by_id["what-is-e-card"])
    reply = render_suggestions(entries)
    assert reply.text.startswith("您是不是想问")
    assert [row[0].action for row in reply.buttons] == [
        Action.ENTRY,
        Action.ENTRY,
        Action.NONE_OF_THESE,
    ]
    assert reply.suggestions == ("apply-e-card", "what-is-e-card")


def test_decision_rendering_follows_the_kind(faq: Faq) -> None:
    assert render_decision(faq.ask("公积金怎么提取"), faq.kb).kind is Kind.FALLBACK
    assert render_decision(faq.ask("失业金怎么申领"), faq.kb).entry_id == "unemployment-benefits"


def test_a_close_call_offers_the_runner_up_in_place_of_related_questions(faq: Faq) -> None:
    decision = faq.ask("失业金怎么申领")
    runner = faq.kb.by_id["work-injury"]
    plain = render_decision(decision, faq.kb)
    close = render_decision(replace(decision, alternatives=(runner,)), faq.kb)
    assert close.entry_id == plain.entry_id == "unemployment-benefits"
    assert close.text.startswith(plain.text) and OTHERS_TEXT in close.text
    assert f"• {runner.title}" in close.text
    entries = [b.value for row in close.buttons for b in row if b.action is Action.ENTRY]
    assert entries == [runner.id]
    assert close.buttons[-1] == plain.buttons[-1]  # the votes stay


def test_menu_and_categories(faq: Faq) -> None:
    menu = render_menu(faq.kb)
    assert len(menu.buttons) == len(faq.kb.categories) >= 3
    category = render_category(faq.kb, 0)
    assert category.buttons[-1][0].action is Action.MENU
    assert render_category(faq.kb, 99).text == menu.text


@pytest.mark.parametrize(
    ("question", "expected"),
    [("你好！", GREETING_TEXT), ("謝謝", THANKS_TEXT), ("Thank you", THANKS_TEXT)],
)
def test_a_bare_greeting_or_thanks_gets_a_friendly_reply(
    faq: Faq, question: str, expected: str
) -> None:
    outcome = Answering(faq).ask(Incoming(question))
    assert outcome.decision.kind is Kind.SMALL_TALK  # decided by the use case (issue 13)
    assert outcome.reply.text == expected
    assert render_decision(outcome.decision, faq.kb).text == expected


def test_a_greeting_with_a_question_is_answered(faq: Faq) -> None:
    decision = faq.ask("你好，电子社保卡怎么领")
    assert render_decision(decision, faq.kb).entry_id == "apply-e-card"


def test_an_unanswered_further_question_is_named_after_the_answer(faq: Faq) -> None:
    decision = faq.ask("电子社保卡怎么领？另外<b>公积金</b>怎么取")
    reply = render_decision(decision, faq.kb)
    assert reply.kind is Kind.ANSWER and reply.entry_id == "apply-e-card"
    last = reply.text.splitlines()[-1]
    assert "「<b>公积金</b>怎么取」" in last and HOTLINE in last
    assert "「&lt;b&gt;公积金&lt;/b&gt;怎么取」" in reply.html
    assert_well_formed(reply.html)


def test_a_long_unanswered_question_is_quoted_short(faq: Faq) -> None:
    reply = render_entry(faq.kb.by_id["apply-e-card"], faq.kb, unanswered="公积金" * 40)
    quoted = reply.text.splitlines()[-1].split("「")[1].split("」")[0]
    assert len(quoted) <= 40 and quoted.endswith("…")
