"""Follow-up questions through a real Application: private chats, groups per user, /ask."""

from __future__ import annotations

import html

from bot.core.strings_zh import ASSUMED_TEXT, HOTLINE
from tests.tg.conftest import BOT_USERNAME, GROUP_ID, USER_ID, Harness, MakeHarness, buttons

APPLY_TITLE = "怎样领取电子社保卡 <新> & 快"
NOTE_AFTER_APPLY = html.escape(ASSUMED_TEXT.format(title=APPLY_TITLE), quote=False)


async def test_a_private_follow_up_answers_with_the_assumed_topic_and_the_others(
    harness: Harness,
) -> None:
    await harness.say("电子社保卡怎么领")
    harness.request.clear()
    await harness.say("那有什么用呢")
    [answer] = harness.request.of("sendMessage")
    text = answer.params["text"]
    assert text.startswith(NOTE_AFTER_APPLY + "\n<b>电子社保卡能做什么</b>")
    question_id = max(harness.storage.questions)
    assert buttons(answer) == [
        (APPLY_TITLE, "e:apply-e-card"),
        ("👍 有用", f"v:+:{question_id}:e-card-uses"),
        ("👎 没用", f"v:-:{question_id}:e-card-uses"),
    ]
    record = harness.storage.questions[question_id]
    assert (record.text, record.decision, record.entry_id) == (
        "那有什么用呢",
        "answer",
        "e-card-uses",
    )


async def test_without_a_topic_the_same_message_falls_back(harness: Harness) -> None:
    await harness.say("那有什么用呢")
    [reply] = harness.request.of("sendMessage")
    assert HOTLINE in reply.params["text"] and "接着" not in reply.params["text"]


async def test_a_restart_forgets_the_topic_without_harm(make_harness: MakeHarness) -> None:
    before = await make_harness()
    await before.say("养老资格认证怎么做")
    after = await make_harness()
    await after.say("在哪做")
    [reply] = after.request.of("sendMessage")
    assert HOTLINE in reply.params["text"]


async def test_in_a_group_each_user_has_a_topic_of_their_own(harness: Harness) -> None:
    ask = f"/ask@{BOT_USERNAME}"
    await harness.say(f"{ask} 养老资格认证怎么做", chat_id=GROUP_ID, user_id=USER_ID)
    harness.request.clear()
    await harness.say(f"{ask} 在哪做", chat_id=GROUP_ID, user_id=555)
    [other] = harness.request.of("sendMessage")
    assert HOTLINE in other.params["text"]  # another member's question is not a follow-up
    harness.request.clear()
    await harness.say(f"{ask} 在哪里做", chat_id=GROUP_ID, user_id=USER_ID)
    [answer] = harness.request.of("sendMessage")
    note = ASSUMED_TEXT.format(title="养老资格认证怎么做")
    assert answer.params["text"].startswith(note + "\n<b>养老资格认证怎么做</b>")
    assert answer.params["reply_parameters"]["message_id"]
    # Groups are compact (no related questions), but the other candidates are still offered.
    assert ("怎样领取电子社保卡 <新> & 快", "e:apply-e-card") in buttons(answer)


async def test_a_topic_from_a_group_does_not_follow_the_user_into_private(
    harness: Harness,
) -> None:
    await harness.say(f"/ask@{BOT_USERNAME} 养老资格认证怎么做", chat_id=GROUP_ID)
    harness.request.clear()
    await harness.say("在哪做")
    [reply] = harness.request.of("sendMessage")
    assert HOTLINE in reply.params["text"]


async def test_an_entry_opened_with_a_button_becomes_the_topic(harness: Harness) -> None:
    await harness.press("e:pension-check")
    harness.request.clear()
    await harness.say("在哪做")
    [answer] = harness.request.of("sendMessage")
    assert answer.params["text"].startswith(ASSUMED_TEXT.format(title="养老资格认证怎么做"))


async def test_ask_in_private_follows_up_too(harness: Harness) -> None:
    await harness.say("/ask 电子社保卡怎么领")
    harness.request.clear()
    await harness.say("/ask 在哪办")
    [answer] = harness.request.of("sendMessage")
    assert answer.params["text"].startswith(NOTE_AFTER_APPLY + "\n<b>")  # read in context
