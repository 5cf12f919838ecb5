"""Forged button presses against the real process (issue 12, item 5): callback data comes from
the user's client, so a press counts only for its own message and its own user."""

from __future__ import annotations

import contextlib
import sqlite3
from typing import Any

from tests.e2e.conftest import ADMIN_ID, JSON, USERNAME, BotProcess, buttons
from tests.fakebotapi import group

ENTRY = "unemployment-benefits"


def data_of(message: JSON, label: str) -> str:
    return next(str(b["callback_data"]) for b in buttons(message) if b["text"] == label)


def stored(bot: BotProcess, sql: str, *parameters: Any) -> list[tuple[Any, ...]]:
    """Rows of the bot's database once it has saved what it was asked (/stats flushes)."""
    bot.ask(ADMIN_ID, "/stats")
    with contextlib.closing(sqlite3.connect(bot.database)) as db:
        return list(db.execute(sql, parameters))


def answered(bot: BotProcess, query_ids: list[str]) -> dict[str, JSON]:
    """Wait until every press was answered; the answers by query id."""
    bot.wait_until(
        lambda: all(bot.api.state()["callback_answers"].get(q) for q in query_ids),
        f"answers to {len(query_ids)} presses",
    )
    answers: dict[str, JSON] = bot.api.state()["callback_answers"]
    return {query_id: answers[query_id] for query_id in query_ids}


def test_forged_presses_change_no_one_elses_vote_nor_the_lists(bot: BotProcess) -> None:
    asker, forger = 7101, 7102
    (theirs,) = bot.ask(asker, "失业金怎么申领")
    question_id = data_of(theirs, "👍 有用").split(":")[2]
    bot.api.press(theirs, text="👍 有用")
    (mine,) = bot.ask(forger, "失业金怎么申领")
    forged = [f"v:-:{question_id}:{ENTRY}", f"n:{question_id}", f"s:{question_id}:{ENTRY}"]
    forged += [f"v:-:{number}:{ENTRY}" for number in range(1, 102)]  # a stuffed ballot
    forged += ["c:²", f"v:+:{'9' * 40}:{ENTRY}", "s:¹²:x", "\x00", "v:-::" + ENTRY]
    # In batches: a chat with more updates in hand than its lane admits is shed (issue 12,
    # item 1), and a flood of presses is no exception.
    pushed: list[Any] = []
    answers: dict[str, JSON] = {}
    for start in range(0, len(forged), 30):
        batch = [bot.api.press(mine, data, check=False) for data in forged[start : start + 30]]
        answers |= answered(bot, [str(push.query_id) for push in batch])
        pushed += batch
    assert all(not answer.get("text") for answer in answers.values())  # quietly

    assert stored(bot, "SELECT vote FROM votes WHERE question_id = ?", question_id) == [(1,)]
    assert stored(bot, "SELECT count(*) FROM votes WHERE question_id <= 101") == [(0,)]
    assert stored(bot, "SELECT count(*) FROM choices WHERE question_id = ?", question_id) == [(0,)]
    (listed,) = bot.ask(ADMIN_ID, "/unanswered")
    assert "失业金怎么申领" not in listed["text"]
    log = bot.log(since_mark=True)
    assert "Traceback" not in log and "Error while handling" not in log
    assert not bot.api.messages(forger, since=pushed[0].seq)  # no apology, no edit


def test_each_group_member_votes_once_on_an_answer(bot: BotProcess) -> None:
    chat = group(-1007101, "居民群")
    (answer,) = bot.ask(7103, f"/ask@{USERNAME} 失业金怎么申领", chat=chat)
    question_id = data_of(answer, "👎 没用").split(":")[2]
    pushed = [
        bot.api.press(answer, text="👎 没用", user_id=user)
        for user in (7103, 7104, 7105)
        for _ in range(3)
    ]
    answered(bot, [str(push.query_id) for push in pushed])
    assert stored(bot, "SELECT vote FROM votes WHERE question_id = ?", question_id) == [
        (-1,),
        (-1,),
        (-1,),
    ]
