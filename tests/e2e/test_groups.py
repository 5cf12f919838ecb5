"""Groups with Telegram's privacy mode on: the bot speaks only when addressed, as a reply."""

from __future__ import annotations

from tests.e2e.conftest import USERNAME, WAIT, BotProcess, entity_text
from tests.fakebotapi import group


def test_joining_a_group_posts_a_short_usage_note(bot: BotProcess) -> None:
    chat = group(-1003001, "社区互助群")
    pushed = bot.api.member(chat, 3001, "member")
    (note,) = bot.api.wait_for(chat["id"], 1, WAIT, since=pushed.seq)
    assert f"/ask@{USERNAME}" in note["text"]
    assert "回复我的消息" in note["text"]
    # Privacy mode is on, so a plain @mention would never reach the bot: not offered.
    assert f"直接 @{USERNAME}" not in note["text"]
    assert len(note["text"]) < 200


def test_ask_command_and_replies_to_the_bot_are_answered_as_replies(bot: BotProcess) -> None:
    chat = group(-1003002, "家长群")
    chatter = bot.api.send_text(3002, "今天天气真好，大家吃了吗", chat=chat)
    assert not chatter.delivered  # privacy mode: Telegram keeps it from the bot

    question = bot.api.send_text(3002, f"/ask@{USERNAME} 失业金怎么申领", chat=chat)
    assert question.message is not None
    (answer,) = bot.api.wait_for(chat["id"], 1, WAIT, since=question.seq)
    assert entity_text(answer, "bold") == ["网上申领失业金"]
    assert answer["reply_to_message"]["message_id"] == question.message["message_id"]

    follow_up = bot.api.send_text(3003, "那工伤怎么认定呢", chat=chat, reply_to=answer)
    assert follow_up.delivered and follow_up.message is not None
    (second,) = bot.api.wait_for(chat["id"], 1, WAIT, since=follow_up.seq)
    assert entity_text(second, "bold") == ["网上办工伤业务"]
    assert second["reply_to_message"]["message_id"] == follow_up.message["message_id"]
    # Nothing else was said in the group, the chatter included.
    assert len(bot.api.messages(chat["id"], since=chatter.seq)) == 2


def test_chatter_the_bot_can_read_is_still_ignored(bot: BotProcess) -> None:
    """As a group admin the bot receives every message; it still answers only when addressed."""
    chat = group(-1003003, "老年大学群")
    joined = bot.api.member(chat, 3004, "administrator")
    bot.api.wait_for(chat["id"], 1, WAIT, since=joined.seq)  # the usage note

    chatter = bot.api.send_text(3004, "社保卡的事明天再说吧", chat=chat)
    assert chatter.delivered
    mention = bot.api.send_text(3005, f"@{USERNAME} 第三代社保卡有什么新功能", chat=chat)
    assert mention.delivered and mention.message is not None
    replies = bot.api.wait_for(chat["id"], 1, WAIT, since=chatter.seq)
    assert [entity_text(reply, "bold") for reply in replies[:1]] == [["第三代社保卡有什么新功能"]]
    assert replies[0]["reply_to_message"]["message_id"] == mention.message["message_id"]
    # The mentioned question is answered (text, then the picture); the chatter never is.
    bot.api.wait_for(chat["id"], 2, WAIT, since=chatter.seq)
    quoted = {m["reply_to_message"]["message_id"] for m in bot.api.messages(chat["id"])[1:]}
    assert quoted == {mention.message["message_id"]}
