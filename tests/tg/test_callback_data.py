"""Callback data: compact, within Telegram's 64 bytes, and decoded back to the same press."""

from __future__ import annotations

import pytest

from bot.core.decision import Kind
from bot.core.faq import Faq
from bot.core.render import Action, Button
from bot.tg.callback_data import MAX_BYTES, Pressed, decode, encode, resolve, short_ref
from tests.tg.conftest import FIXTURE_KB

QUESTION = 1_732_800_000_123_456  # storage ids are microsecond timestamps


@pytest.mark.parametrize(
    ("button", "kind", "data", "pressed"),
    [
        (
            Button("t", Action.ENTRY, "apply-e-card"),
            Kind.ANSWER,
            "e:apply-e-card",
            Pressed(Action.ENTRY, "apply-e-card"),
        ),
        (
            Button("t", Action.ENTRY, "apply-e-card"),
            Kind.SUGGEST,
            f"s:{QUESTION}:apply-e-card",
            Pressed(Action.ENTRY, "apply-e-card", QUESTION, choice=True),
        ),
        (
            Button("👍", Action.VOTE_UP, "x"),
            Kind.ANSWER,
            f"v:+:{QUESTION}:x",
            Pressed(Action.VOTE_UP, "x", QUESTION),
        ),
        (
            Button("👎", Action.VOTE_DOWN, "x"),
            Kind.ANSWER,
            f"v:-:{QUESTION}:x",
            Pressed(Action.VOTE_DOWN, "x", QUESTION),
        ),
        (
            Button("都不是", Action.NONE_OF_THESE),
            Kind.SUGGEST,
            f"n:{QUESTION}",
            Pressed(Action.NONE_OF_THESE, question_id=QUESTION),
        ),
        (Button("菜单", Action.MENU), Kind.FALLBACK, "m", Pressed(Action.MENU)),
        (Button("分类", Action.CATEGORY, "3"), None, "c:3", Pressed(Action.CATEGORY, "3")),
    ],
)
def test_round_trip(button: Button, kind: Kind | None, data: str, pressed: Pressed) -> None:
    assert encode(button, kind, QUESTION) == data
    assert decode(data) == pressed


def test_an_unlogged_question_leaves_the_id_empty() -> None:
    data = encode(Button("👍", Action.VOTE_UP, "x"), Kind.ANSWER, None)
    assert data == "v:+::x"
    assert decode(data) == Pressed(Action.VOTE_UP, "x", None)
    assert decode("n:") == Pressed(Action.NONE_OF_THESE)


def test_long_entry_ids_are_hashed_to_fit_and_still_resolve() -> None:
    faq = Faq(FIXTURE_KB)
    entry = faq.kb.by_id["apply-e-card"]
    long_id = "a-very-long-entry-identifier-" + "x" * 60
    long_entry = entry.__class__(**{**entry.__dict__, "id": long_id})
    kb = faq.kb.__class__((*faq.kb.entries, long_entry), faq.kb.directory)
    for action, kind in [
        (Action.ENTRY, Kind.ANSWER),
        (Action.ENTRY, Kind.SUGGEST),
        (Action.VOTE_DOWN, Kind.ANSWER),
    ]:
        data = encode(Button("t", action, long_id), kind, QUESTION)
        assert len(data.encode()) <= MAX_BYTES
        pressed = decode(data)
        assert pressed is not None and pressed.question_id in (None, QUESTION)
        assert resolve(pressed.value, kb) is long_entry
    assert short_ref(long_id).startswith("#") and len(short_ref(long_id)) <= MAX_BYTES
    assert short_ref("apply-e-card") == "apply-e-card"
    assert resolve("#0000000000000000", kb) is None
    assert resolve("gone", kb) is None


@pytest.mark.parametrize(
    "data",
    [
        "",
        "x",
        "e:",
        "c:",
        "c:-1",
        "s:12",
        "s:abc:x",
        "v:*:1:x",
        "v:+:1:",
        "v:+:q:x",
        "n:abc",
        "menu",
    ],
)
def test_anything_else_is_not_ours(data: str) -> None:
    assert decode(data) is None
