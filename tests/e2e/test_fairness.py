"""One chat cannot stall the others (issue 12 §1).

Telegram lets a bot post about 20 messages a minute in a group. A group that asks faster than
that used to fill every update slot with handlers waiting for the group's limit, and a private
question waited minutes behind them. Now each chat has its own lane: a flood is shed beyond a
short backlog (with one "slow down" a minute), and waiting for a limit frees the slot.
"""

from __future__ import annotations

from tests.e2e.conftest import USERNAME, BotProcess, entity_text
from tests.fakebotapi import group

SLOW_DOWN_START = "消息太多太快"


def test_a_flooding_group_does_not_stall_a_private_question(bot: BotProcess) -> None:
    flood = group(-1001200000001, "刷屏群")
    questions = ["电子社保卡怎么领", "社保卡丢了怎么办", "失业金怎么申领", "工伤怎么认定"]
    messages = [
        {
            "user_id": 6001,
            "chat": flood,
            # A bare /ask@bot gets the usage example; the others are different questions.
            "text": f"/ask@{USERNAME}" if n % 2 else f"/ask@{USERNAME} {questions[n % 4]}{n}",
        }
        for n in range(200)
    ]
    pushed = bot.api.send_many(messages)
    assert all(push.delivered for push in pushed)
    (answer,) = bot.ask(6002, "工伤怎么认定")  # fails after WAIT (10 s) if stalled
    assert entity_text(answer, "bold") == ["网上办工伤业务"]

    # The group got a bounded share: no more than Telegram's 20 a minute, one notice last
    # (one a minute: tests/tg/test_lanes.py).
    chat = int(flood["id"])
    bot.wait_until(
        lambda: any(
            m.get("text", "").startswith(SLOW_DOWN_START)
            for m in bot.api.messages(chat, since=pushed[0].seq)
        ),
        "the slow-down notice",
    )
    sent = bot.api.messages(chat, since=pushed[0].seq)
    assert len(sent) <= 20
    notices = [m.get("text", "").startswith(SLOW_DOWN_START) for m in sent]
    assert notices.count(True) == 1 and notices[-1]
    assert "Traceback" not in bot.log(since_mark=True)
