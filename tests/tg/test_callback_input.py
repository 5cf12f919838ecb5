"""Callback data is input, not truth: whatever a client sends as a button press, the bot acts
only on the message the button is on and for the user who pressed it, counts a vote once per
user and answer message, and answers anything malformed quietly, without a traceback."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.decision import Thresholds
from bot.core.strings_zh import APOLOGY
from bot.tg.callback_data import decode
from tests.tg.conftest import (
    GROUP_ID,
    USER_ID,
    Harness,
    MakeHarness,
    SqliteBot,
    buttons,
    sqlite_bot,
)

ASKER, OTHER = USER_ID, USER_ID + 1


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db)) as connection:
        return list(connection.execute(sql))


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[SqliteBot]:
    async with sqlite_bot(tmp_path / "bot.sqlite3") as made:
        yield made


async def answer_keyboard(harness: Harness, question: str = "电子社保卡怎么领") -> list[str]:
    """Ask in a private chat; the callback data of the answer's buttons."""
    harness.request.clear()
    await harness.say(question)
    reply = next(call for call in harness.request.of("sendMessage") if buttons(call))
    return [data for _, data in buttons(reply)]


def vote_buttons(keyboard: list[str]) -> tuple[str, str]:
    up = next(data for data in keyboard if data.startswith("v:+:"))
    down = next(data for data in keyboard if data.startswith("v:-:"))
    return up, down


async def test_a_vote_counts_once_per_user_and_answer_message(bot: SqliteBot) -> None:
    harness = bot.harness
    keyboard = await answer_keyboard(harness)
    up, down = vote_buttons(keyboard)
    for _ in range(101):
        await harness.press(down, keyboard=keyboard, message_id=501)
    await harness.press(up, keyboard=keyboard, message_id=501)  # a change of mind replaces it
    stats = await bot.db.stats(1)
    assert [(f.entry_id, f.up, f.down) for f in stats.entries if f.up or f.down] == [
        ("apply-e-card", 1, 0)
    ]
    assert len(harness.request.of("answerCallbackQuery")) == 102


async def test_in_a_group_each_member_votes_once(bot: SqliteBot) -> None:
    harness = bot.harness
    keyboard = await answer_keyboard(harness)
    _, down = vote_buttons(keyboard)
    for user in range(3000, 3005):
        for _ in range(3):
            await harness.press(down, chat_id=GROUP_ID, user_id=user, keyboard=keyboard)
    stats = await bot.db.stats(1)
    assert [(f.up, f.down) for f in stats.entries if f.up or f.down] == [(0, 5)]


async def test_forged_data_not_on_the_message_changes_nothing(bot: SqliteBot) -> None:
    """Another user's question id, a ballot of invented ids, someone else's question pushed
    into /unanswered: none of it is on the pressed message, so none of it is recorded."""
    harness = bot.harness
    theirs = await answer_keyboard(harness)
    up, _ = vote_buttons(theirs)
    await harness.press(up, keyboard=theirs, message_id=601)
    question_id = up.split(":")[2]
    mine = await answer_keyboard(harness, "电子社保卡能做什么")
    forged = [f"v:-:{question_id}:apply-e-card", f"n:{question_id}"]
    forged += [f"v:-:{number}:apply-e-card" for number in range(1, 102)]
    forged += [f"s:{question_id}:apply-e-card", "v:-::apply-e-card"]
    for data in forged:
        await harness.press(data, user_id=OTHER, chat_id=OTHER, keyboard=mine, message_id=602)
    stats = await bot.db.stats(1)
    assert [(f.entry_id, f.up, f.down) for f in stats.entries if f.up or f.down] == [
        ("apply-e-card", 1, 0)
    ]
    assert stats.none_of_these == 0 and await bot.db.unanswered(10) == []
    assert rows(bot.db.file or Path(), "SELECT count(*) FROM choices") == [(0,)]
    answers = harness.request.of("answerCallbackQuery")[-len(forged) :]
    assert all(not answer.params.get("text") for answer in answers)  # quietly


async def test_in_a_group_only_the_asker_picks_for_their_question(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(thresholds=Thresholds(answer=1.01))
    asked = harness.message("/ask@esscard_test_bot 电子社保卡", chat_id=GROUP_ID, user_id=ASKER)
    await harness.feed("message", asked)
    reply = harness.request.of("sendMessage")[-1]
    keyboard = [data for _, data in buttons(reply)]
    none = next(data for data in keyboard if data.startswith("n:"))
    pick = next(data for data in keyboard if data.startswith("s:"))
    for user in (OTHER, ASKER):
        for data in (pick, none):
            await harness.press(
                data, chat_id=GROUP_ID, user_id=user, keyboard=keyboard, reply_to=asked
            )
    assert [(c.entry_id is None) for c in harness.storage.choices] == [False, True]
    edits = harness.request.of("editMessageText")
    assert len(edits) == 1  # only the asker's "none of these" closed the list


@pytest.mark.parametrize(
    "data",
    [
        "c:²",
        "c:" + "9" * 40,
        "c:٣",
        "v:+:" + "9" * 40 + ":apply-e-card",
        "v:+:¹²³:apply-e-card",
        "s:" + "9" * 25 + ":apply-e-card",
        "n:" + "1" * 20,
        "n:-5",
        "\x00",
        "e:" + "\u202e" * 30,
        "",
    ],
)
async def test_malformed_values_get_a_quiet_answer_and_no_traceback(
    harness: Harness, data: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        await harness.press(data)
    [answer] = harness.request.of("answerCallbackQuery")
    assert not answer.params.get("text")
    assert not harness.request.sent()  # no apology, no edit
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert harness.storage.votes == [] and harness.storage.choices == []


# -- any string at all ------------------------------------------------------------------

ours = st.sampled_from(["e:", "s:", "n:", "v:+:", "v:-:", "c:", "m", "v:*:", ""])
numbers = st.one_of(
    st.integers(-(10**40), 10**40).map(str),
    st.text(alphabet="0123456789²³¹٠١٢٣٤٥٦٧٨٩０１２３", max_size=45),
)
callback_data = st.one_of(
    st.text(max_size=64),
    st.tuples(ours, numbers, st.sampled_from(["", ":", ":apply-e-card", ":#0123", ":x" * 40])).map(
        "".join
    ),
)


@pytest.fixture
def loop() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as runner:
        yield runner


def test_arbitrary_callback_data_never_raises(
    tmp_path: Path, loop: asyncio.Runner, caplog: pytest.LogCaptureFixture
) -> None:
    """Every press is answered once, quietly when not ours; nothing raises, nothing reaches
    the error handler, and only a button that is really on the message records anything."""
    assert decode("v:+:" + "9" * 40 + ":x") is None
    context = sqlite_bot(tmp_path / "fuzz.sqlite3")
    bot = loop.run(context.__aenter__())
    harness = bot.harness
    keyboard = loop.run(answer_keyboard(harness))

    database = bot.db.file or Path()

    def recorded() -> int:
        loop.run(bot.db.flush())
        votes = rows(database, "SELECT count(*) FROM votes")[0][0]
        return int(votes) + int(rows(database, "SELECT count(*) FROM choices")[0][0])

    @settings(suppress_health_check=[HealthCheck.too_slow])
    @given(data=callback_data, attached=st.booleans())
    def press(data: str, attached: bool) -> None:
        harness.request.clear()
        caplog.clear()
        before = recorded()
        with caplog.at_level(logging.INFO):
            loop.run(
                harness.press(
                    data, user_id=OTHER, chat_id=OTHER, keyboard=[data] if attached else keyboard
                )
            )
        [answer] = harness.request.of("answerCallbackQuery")
        assert answer.params.get("text") != APOLOGY
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
        assert errors == [], [r.getMessage() for r in errors]
        assert not any(text.startswith(APOLOGY[:6]) for text in harness.request.texts())
        if not attached:
            assert recorded() == before

    try:
        press()
    finally:
        loop.run(context.__aexit__(None, None, None))
