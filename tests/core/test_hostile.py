"""Hostile input: whatever anyone types or writes into the KB, every reply is sendable.

"Sendable" is judged by the fake Bot API's model of Telegram's HTML parser
(``tests/fakebotapi/telegram_html.py``): only tags Telegram accepts, balanced, known entities,
non-empty text, at most 4,096 UTF-16 units a message and 1,024 a caption.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.decision import Kind
from bot.core.faq import Faq
from bot.core.knowledge import Entry, Image, KnowledgeBase, Source
from bot.core.render import (
    Reply,
    render_category,
    render_decision,
    render_entry,
    render_fallback,
    render_help,
    render_menu,
    render_small_talk,
    render_suggestions,
    render_text,
    render_welcome,
)
from bot.core.small_talk import small_talk
from bot.core.text import normalize
from bot.tg.html import CAPTION_LIMIT, MESSAGE_LIMIT, split_html, truncate_caption
from tests.fakebotapi.telegram_html import parse_html, strip_text, utf16_len

SPECIAL = [
    "\u200f",  # right-to-left mark
    "\u200e",
    "\u202e",  # right-to-left override
    "\u2066",
    "\u200b",  # zero-width space
    "\u200d",  # zero-width joiner
    "\ufeff",
    "\x00",
    "\x07",
    "\x1b[31m",
    "\r",
    "\n",
    "\r\n",
    "\t",
    "\u2028",
    "\u3000",
    " ",
    "<",
    ">",
    "&",
    "*",
    "_",
    "`",
    "[",
    "]",
    "**粗体**",
    "__x__",
    "```code```",
    "[链接](https://example.com)",
    "<b>",
    "</b>",
    "<i>斜</i>",
    "<script>alert(1)</script>",
    '<a href="tg://user?id=1">',
    "&amp;",
    "&lt;",
    "&#0;",
    "&#x110000;",
    "&nbsp;",
    "？",
    "。",
    "…",
    "!",
    "😀",
    "👨\u200d👩\u200d👧",
    "🇨🇳",
    "e\u0301",
    "\U0001d54f",
    "𠀀",
    "社保卡怎么领",
    "第3代",
    "@esscard_test_bot",
    "https://example.com/?a=1&b=<2>",
    "/start",
    "你好",
    "谢谢",
]

# Any text without surrogates (which cannot be sent as UTF-8), salted with the hostile pieces.
any_char = st.characters(codec="utf-8")
fragment = st.one_of(st.sampled_from(SPECIAL), st.text(any_char, max_size=12))
hostile = st.lists(fragment, max_size=24).map("".join)
visible = hostile.filter(lambda text: text.strip() != "")
huge = st.builds(
    lambda piece, tail: (piece * (100_000 // len(piece) + 1))[: 100_000 - len(tail)] + tail,
    visible,
    st.sampled_from(["", "&", "<", "😀", "\n"]),
)

_BAD_AMPERSAND = re.compile(r"&(?!(?:lt|gt|amp|quot|#\d{1,7}|#[xX][0-9a-fA-F]{1,6});)")


def message_text(markup: str, limit: int = MESSAGE_LIMIT) -> str:
    """The text Telegram would show for one message; fails where Telegram would refuse it."""
    assert utf16_len(markup) <= limit, f"{utf16_len(markup)} UTF-16 units, over {limit}"
    assert not _BAD_AMPERSAND.search(markup), "an & that starts no entity Telegram knows"
    text, entities = parse_html(markup)  # EntityError: bad or unbalanced tags
    shown, _ = strip_text(text, entities)
    assert shown, "Telegram refuses a message with no text"
    return shown


def squashed(text: str) -> str:
    return "".join(text.split())


def assert_sendable(reply: Reply) -> list[str]:
    """Every message of *reply* is valid Telegram HTML within the limits, and no text is lost."""
    parts = split_html(reply.html)
    texts = [message_text(part) for part in parts]
    whole, _ = parse_html(reply.html)
    assert squashed("".join(texts)) == squashed(whole)
    for image in reply.images:
        assert utf16_len(truncate_caption(image.caption)) <= CAPTION_LIMIT
    for row in reply.buttons:
        assert row and all(button.label for button in row)
    return parts


@given(question=hostile)
def test_any_question_gets_a_sendable_reply(faq: Faq, question: str) -> None:
    decision = faq.ask(question)
    assert decision.kind in set(Kind)
    assert (decision.entry is not None) == (decision.kind is Kind.ANSWER)
    for compact in (False, True):
        assert_sendable(render_decision(decision, faq.kb, compact=compact))
    for said in (question, decision.analysis.normalized):
        talk = small_talk(normalize(said))
        if talk is not None:
            assert_sendable(render_small_talk(talk))


@settings(max_examples=10)
@given(question=huge)
def test_a_100000_character_question_gets_a_sendable_reply(faq: Faq, question: str) -> None:
    assert len(question) == 100_000
    assert_sendable(render_decision(faq.ask(question), faq.kb))


def test_hostile_questions_that_name_a_topic_are_still_answered(faq: Faq) -> None:
    """Controls, bidi marks and markup around a real question do not hide it."""
    expected = faq.ask("电子社保卡怎么领").entry
    assert expected is not None
    for noise in ("\u200f", "\u200b", "\x00", "<>", "**", "`", "😀", "\u202e", "&"):
        decision = faq.ask(f"{noise}电子社保卡{noise}怎么领{noise}")
        assert decision.entry == expected, repr(noise)


def _hostile_kb(faq: Faq, entry: Entry) -> KnowledgeBase:
    entries = tuple(entry if e.id == entry.id else e for e in faq.kb.entries)
    return KnowledgeBase(entries, faq.kb.directory)


@given(
    title=visible,
    answer=visible,
    steps=st.lists(hostile, max_size=4),
    outlet=hostile,
    date=hostile,
    caption=hostile,
    category=visible,
)
def test_an_entry_with_hostile_fields_renders_sendable(
    faq: Faq,
    title: str,
    answer: str,
    steps: list[str],
    outlet: str,
    date: str,
    caption: str,
    category: str,
) -> None:
    base = faq.kb.by_id["apply-e-card"]
    entry = replace(
        base,
        title=title,
        answer=answer,
        steps=tuple(steps),
        category=category,
        source=Source(outlet, date),
        images=(Image(caption, url="https://example.com/a.png"),),
    )
    kb = _hostile_kb(faq, entry)
    for compact in (False, True):
        reply = render_entry(entry, kb, compact=compact)
        # Everything is escaped: Telegram shows exactly the plain text, character for character.
        assert parse_html(reply.html)[0] == reply.text
        assert_sendable(reply)
    assert_sendable(render_suggestions((entry, faq.kb.by_id["what-is-e-card"])))
    assert_sendable(render_menu(kb))
    assert_sendable(render_welcome(kb))
    for position in range(-1, len(kb.categories) + 1):
        assert_sendable(render_category(kb, position))


@settings(max_examples=5)
@given(answer=huge, title=visible)
def test_an_entry_with_a_100000_character_answer_is_split(
    faq: Faq, answer: str, title: str
) -> None:
    entry = replace(faq.kb.by_id["apply-e-card"], answer=answer, title=title)
    reply = render_entry(entry, _hostile_kb(faq, entry))
    parts = assert_sendable(reply)
    assert len(parts) >= 2


@given(text=visible)
def test_any_notice_is_sendable_and_shown_as_written(text: str) -> None:
    reply = render_text(text)
    assert parse_html(reply.html)[0] == text
    assert_sendable(reply)


@settings(max_examples=10)
@given(text=huge)
def test_a_100000_character_notice_is_split_into_sendable_messages(text: str) -> None:
    parts = assert_sendable(render_text(text))
    assert len(parts) >= 100_000 // MESSAGE_LIMIT


def test_fixed_replies_are_sendable(faq: Faq) -> None:
    for reply in (render_fallback(), render_help(), render_menu(faq.kb), render_welcome(faq.kb)):
        assert_sendable(reply)
    for entry in faq.kb.entries:
        assert_sendable(render_entry(entry, faq.kb))


@given(text=hostile, limit=st.sampled_from([CAPTION_LIMIT, 1, 2, 3, 10]))
def test_captions_fit_the_limit(text: str, limit: int) -> None:
    caption = truncate_caption(text, limit)
    assert utf16_len(caption) <= limit
    if utf16_len(text) <= limit:
        assert caption == text
    else:
        assert caption.endswith("…") and text.startswith(caption[:-1])
        # Nothing more would have fitted.
        assert utf16_len(text[: len(caption)]) + 1 > limit


# -- split_html on arbitrary well-formed markup ---------------------------------------------

TAGS = [
    ("<b>", "</b>"),
    ("<strong>", "</strong>"),
    ("<i>", "</i>"),
    ("<em>", "</em>"),
    ("<u>", "</u>"),
    ("<s>", "</s>"),
    ("<del>", "</del>"),
    ("<tg-spoiler>", "</tg-spoiler>"),
    ('<span class="tg-spoiler">', "</span>"),
    ("<code>", "</code>"),
    ("<pre>", "</pre>"),
    ("<blockquote>", "</blockquote>"),
    ("<blockquote expandable>", "</blockquote>"),
    ('<a href="https://example.com/?q=a&amp;b">', "</a>"),
    ('<a href="tg://user?id=42">', "</a>"),
]

escaped_text = st.lists(st.one_of(fragment, st.just("\n")), min_size=1, max_size=10).map(
    lambda pieces: "".join(pieces).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
)


def _element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda tag, inner: tag[0] + "".join(inner) + tag[1],
        st.sampled_from(TAGS),
        st.lists(children, min_size=1, max_size=4),
    )


# Well-formed markup with some visible text; repeated below to reach the size that needs cutting.
markup = st.lists(st.recursive(escaped_text, _element, max_leaves=8), min_size=1, max_size=4).map(
    lambda pieces: "".join(pieces) + "字"
)


def styled(markup_text: str) -> list[tuple[str, frozenset[str]]]:
    """Each visible character with the formatting Telegram gives it (links with their URL)."""
    text, entities = parse_html(markup_text)
    spans = [
        (e["offset"], e["offset"] + e["length"], e["type"] + str(e.get("url", e.get("user", ""))))
        for e in entities
    ]
    units: list[set[str]] = [set() for _ in range(utf16_len(text))]
    for start, end, kind in spans:
        for unit in range(start, end):
            units[unit].add(kind)
    out = []
    unit = 0
    for char in text:
        if not char.isspace():
            out.append((char, frozenset(units[unit])))
        unit += utf16_len(char)
    return out


@given(
    source=markup,
    repeat=st.integers(min_value=1, max_value=30),
    limit=st.integers(min_value=256, max_value=1200),
)
def test_split_html_keeps_tags_balanced_and_loses_nothing(
    source: str, repeat: int, limit: int
) -> None:
    source *= repeat
    parts = split_html(source, limit)
    if utf16_len(source) <= limit:
        assert parts == [source]
        return
    texts = [message_text(part, limit) for part in parts]
    assert squashed("".join(texts)) == squashed(parse_html(source)[0])
    # Formatting survives the cuts: a tag open at a cut is opened again in the next part.
    assert [s for part in parts for s in styled(part)] == styled(source)


@settings(max_examples=20)
@given(source=markup.map(lambda m: m * (9_000 // len(m) + 1)))
def test_split_html_of_long_markup_fits_telegram(source: str) -> None:
    parts = split_html(source)
    assert len(parts) >= 2
    texts = [message_text(part) for part in parts]
    assert squashed("".join(texts)) == squashed(parse_html(source)[0])
    assert [s for part in parts for s in styled(part)] == styled(source)


@pytest.mark.parametrize(
    ("char", "units"), [("😀", 2), ("字", 1), ("a", 1), ("&amp;", 5), ("\U0001d54f", 2)]
)
def test_split_html_counts_utf16_units_like_telegram(char: str, units: int) -> None:
    line = char * 5000
    parts = split_html(line)
    assert all(utf16_len(part) <= MESSAGE_LIMIT for part in parts)
    assert "".join(parts) == line
    assert len(parts) == -(-5000 * units // MESSAGE_LIMIT)


def test_split_html_reopens_a_tag_cut_across_lines() -> None:
    source = "<b>" + "\n".join(["粗体的一行"] * 1000) + "</b>\n结尾"
    parts = split_html(source)
    assert len(parts) > 1
    for part in parts:
        message_text(part)
    assert parts[0].startswith("<b>") and parts[0].endswith("</b>")
    assert parts[1].startswith("<b>")
    assert parts[-1].endswith("结尾")


def test_split_html_never_sends_a_part_without_text() -> None:
    source = "<b>" + " " * 5000 + "</b>\n有字"
    assert [message_text(part) for part in split_html(source)] == ["有字"]


def test_hypothesis_profile_is_modest() -> None:
    """Keep the property tests fast: no deadline flakiness, bounded examples."""
    current = settings()
    assert current.deadline is None
    assert current.max_examples <= 200
