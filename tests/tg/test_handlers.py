"""Every behaviour of the bot, through a real Application and Telegram-shaped updates."""

from __future__ import annotations

import time

import pytest

from bot.core import strings_zh as zh
from bot.core.decision import Thresholds
from bot.core.strings_zh import HOTLINE, NONE_OF_THESE_TEXT, PRIVACY_NOTICE, WELCOME_TEXT
from tests.conftest import KNOWLEDGE
from tests.tg.conftest import (
    BOT_ID,
    BOT_USER,
    BOT_USERNAME,
    GROUP_ID,
    USER_ID,
    Harness,
    MakeHarness,
    buttons,
    mention,
)

APPLY_TITLE_HTML = "<b>怎样领取电子社保卡 &lt;新&gt; &amp; 快</b>"


# -- private chats ---------------------------------------------------------------------------


async def test_private_question_gets_the_escaped_answer_with_buttons(harness: Harness) -> None:
    await harness.say("电子社保卡怎么领")
    [answer] = harness.request.of("sendMessage")
    text = answer.params["text"]
    assert answer.params["parse_mode"] == "HTML"
    assert text.startswith(APPLY_TITLE_HTML)
    assert "&lt;b&gt;不是粗体&lt;/b&gt; &amp; 3 &gt; 2" in text
    assert "1. 打开支付宝。\n2. 搜索“电子社保卡”并领取。" in text
    assert "<i>来源：测试日报 &lt;晚报&gt; &amp; 周刊（2021-11-30）" in text
    [question_id] = harness.storage.questions
    assert buttons(answer) == [
        ("电子社保卡能做什么", "e:e-card-uses"),
        ("养老资格认证怎么做", "e:pension-check"),
        ("👍 有用", f"v:+:{question_id}:apply-e-card"),
        ("👎 没用", f"v:-:{question_id}:apply-e-card"),
    ]
    assert "reply_parameters" not in answer.params  # private answers do not quote


async def test_every_question_is_logged(harness: Harness) -> None:
    await harness.say("电子社保卡怎么领")
    await harness.say("护照怎么办")
    records = list(harness.storage.questions.values())
    assert [(r.chat_type, r.user_id, r.decision, r.entry_id) for r in records] == [
        ("private", USER_ID, "answer", "apply-e-card"),
        ("private", USER_ID, "fallback", None),
    ]
    assert records[0].normalized == "电子社保卡怎么领"
    assert records[0].score == pytest.approx(1.0)


async def test_suggest_offers_candidates_and_none_of_these(make_harness: MakeHarness) -> None:
    harness = await make_harness(thresholds=Thresholds(answer=1.01))
    await harness.say("电子社保卡")
    [reply] = harness.request.of("sendMessage")
    assert reply.params["text"] == "您是不是想问："
    [question_id] = harness.storage.questions
    assert buttons(reply) == [
        ("怎样领取电子社保卡 <新> & 快", f"s:{question_id}:apply-e-card"),
        ("电子社保卡能做什么", f"s:{question_id}:e-card-uses"),
        ("都不是", f"n:{question_id}"),
    ]
    assert harness.storage.questions[question_id].decision == "suggest"


async def test_choosing_a_suggestion_records_it_and_answers(make_harness: MakeHarness) -> None:
    harness = await make_harness(thresholds=Thresholds(answer=1.01))
    await harness.press("s:42:apply-e-card")
    assert [(c.question_id, c.entry_id) for c in harness.storage.choices] == [(42, "apply-e-card")]
    assert harness.request.of("answerCallbackQuery")
    [answer] = harness.request.of("sendMessage")
    assert answer.params["text"].startswith(APPLY_TITLE_HTML)
    assert ("👍 有用", "v:+:42:apply-e-card") in buttons(answer)


async def test_none_of_these_records_it_and_edits_the_question(harness: Harness) -> None:
    await harness.press("n:42", message_id=91)
    assert [(c.question_id, c.entry_id) for c in harness.storage.choices] == [(42, None)]
    [edit] = harness.request.of("editMessageText")
    assert edit.params["message_id"] == 91
    assert edit.params["text"] == NONE_OF_THESE_TEXT.replace("&", "&amp;")
    assert not buttons(edit)


async def test_fallback_is_honest_and_gives_the_hotline(harness: Harness) -> None:
    await harness.say("护照怎么办理")
    [reply] = harness.request.of("sendMessage")
    assert HOTLINE in reply.params["text"]
    assert buttons(reply) == [("📋 菜单", "m")]


async def test_votes_are_recorded_and_thanked(harness: Harness) -> None:
    await harness.press("v:+:42:apply-e-card", message_id=77)
    await harness.press("v:-:43:e-card-uses", message_id=78)
    assert [(v.question_id, v.entry_id, v.vote) for v in harness.storage.votes] == [
        (42, "apply-e-card", 1),
        (43, "e-card-uses", -1),
    ]
    answers = harness.request.of("answerCallbackQuery")
    assert answers[0].params["text"] == zh.THANKS_UP
    assert HOTLINE in answers[1].params["text"]
    assert not harness.request.of("sendMessage")


async def test_related_button_opens_the_entry_without_recording_a_choice(
    harness: Harness,
) -> None:
    await harness.press("e:e-card-uses")
    [answer] = harness.request.of("sendMessage")
    assert answer.params["text"].startswith("<b>电子社保卡能做什么</b>")
    assert harness.storage.choices == []


@pytest.mark.parametrize(
    "data", ["e:removed-entry", "s:42:removed-entry", "v:+:42:#0123456789abcdef"]
)
async def test_stale_buttons_are_answered_politely(harness: Harness, data: str) -> None:
    await harness.press(data)
    [answer] = harness.request.of("answerCallbackQuery")
    assert answer.params["text"] == zh.STALE_BUTTON
    assert not harness.request.of("sendMessage")
    assert harness.storage.votes == [] and harness.storage.choices == []


@pytest.mark.parametrize("data", ["zzz", "v:+:x1:apply-e-card", "", "c:x", "e:Not An Id"])
async def test_buttons_this_bot_never_made_are_answered_quietly(
    harness: Harness, data: str
) -> None:
    await harness.press(data)
    [answer] = harness.request.of("answerCallbackQuery")
    assert not answer.params.get("text")
    assert not harness.request.sent()
    assert harness.storage.votes == [] and harness.storage.choices == []


async def test_personal_data_is_redacted_and_the_user_told_once(harness: Harness) -> None:
    await harness.say("我手机号13812345678，电子社保卡怎么领")
    await harness.say("身份证110101199003071234电子社保卡怎么领")
    texts = harness.request.texts()
    assert texts.count(PRIVACY_NOTICE) == 1
    assert texts[0].startswith(APPLY_TITLE_HTML) and texts[1] == PRIVACY_NOTICE
    first = next(iter(harness.storage.questions.values()))
    assert "13812345678" not in first.text and "[手机号]" in first.text
    assert "13812345678" not in first.normalized


async def test_private_chat_without_personal_data_gets_no_notice(harness: Harness) -> None:
    await harness.say("电子社保卡怎么领")
    assert PRIVACY_NOTICE not in harness.request.texts()


@pytest.mark.parametrize(
    "content",
    [
        {
            "sticker": {
                "file_id": "s",
                "file_unique_id": "s",
                "width": 1,
                "height": 1,
                "is_animated": False,
                "is_video": False,
                "type": "regular",
            }
        },
        {"photo": [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}]},
        {"voice": {"file_id": "v", "file_unique_id": "v", "duration": 2}},
    ],
    ids=["sticker", "photo", "voice"],
)
async def test_non_text_gets_a_hint_in_private_and_silence_in_groups(
    harness: Harness, content: dict[str, object]
) -> None:
    await harness.say(None, **content)
    assert harness.request.texts() == [zh.NON_TEXT_HINT]
    harness.request.clear()
    await harness.say(None, chat_id=GROUP_ID, **content)
    assert harness.request.sent() == []


# -- commands --------------------------------------------------------------------------------


async def test_start_welcomes_with_the_category_menu(harness: Harness) -> None:
    await harness.say("/start")
    [reply] = harness.request.of("sendMessage")
    assert reply.params["text"] == WELCOME_TEXT
    assert buttons(reply) == [("电子社保卡", "c:0"), ("线上办事", "c:1")]


async def test_start_deep_link_opens_the_entry(harness: Harness) -> None:
    await harness.say("/start pension-check")
    [reply] = harness.request.of("sendMessage")
    assert reply.params["text"].startswith("<b>养老资格认证怎么做</b>")
    assert ("👍 有用", "v:+::pension-check") in buttons(reply)
    assert harness.storage.questions == {}


async def test_start_with_an_unknown_deep_link_welcomes(harness: Harness) -> None:
    await harness.say("/start no-such-entry")
    assert harness.request.texts() == [WELCOME_TEXT]


async def test_help(harness: Harness) -> None:
    await harness.say("/help")
    [text] = harness.request.texts()
    assert "/menu" in text and HOTLINE in text


async def test_menu_navigates_by_editing_the_same_message(harness: Harness) -> None:
    await harness.say("/menu")
    [menu] = harness.request.of("sendMessage")
    assert buttons(menu) == [("电子社保卡", "c:0"), ("线上办事", "c:1")]

    await harness.press("c:0", message_id=55)
    [opened] = harness.request.of("editMessageText")
    assert opened.params["message_id"] == 55
    assert "电子社保卡" in opened.params["text"]
    assert buttons(opened) == [
        ("怎样领取电子社保卡 <新> & 快", "e:apply-e-card"),
        ("电子社保卡能做什么", "e:e-card-uses"),
        ("⬅️ 返回", "m"),
    ]

    await harness.press("m", message_id=55)
    back = harness.request.of("editMessageText")[-1]
    assert back.params["message_id"] == 55
    assert buttons(back) == buttons(menu)
    assert len(harness.request.of("sendMessage")) == 1  # navigation never sent a new message

    await harness.press("e:apply-e-card", message_id=55)
    [_, entry] = harness.request.of("sendMessage")
    assert entry.params["text"].startswith(APPLY_TITLE_HTML)


async def test_menu_of_a_category_that_no_longer_exists_shows_the_menu(harness: Harness) -> None:
    await harness.press("c:9")
    [edit] = harness.request.of("editMessageText")
    assert buttons(edit) == [("电子社保卡", "c:0"), ("线上办事", "c:1")]


async def test_pressing_the_same_menu_twice_is_harmless(harness: Harness) -> None:
    harness.request.fail(
        "editMessageText",
        description="Bad Request: message is not modified: specified new "
        "message content and reply markup are exactly the same",
    )
    await harness.press("m")
    assert harness.request.of("answerCallbackQuery")
    assert harness.request.of("sendMessage") == []


async def test_ask_answers_its_argument(harness: Harness) -> None:
    await harness.say("/ask 电子社保卡怎么领")
    [reply] = harness.request.of("sendMessage")
    assert reply.params["text"].startswith(APPLY_TITLE_HTML)
    [record] = harness.storage.questions.values()
    assert record.text == "电子社保卡怎么领"


async def test_ask_without_a_question_shows_an_example(harness: Harness) -> None:
    await harness.say("/ask")
    assert harness.request.texts() == [zh.ASK_EXAMPLE]
    assert harness.storage.questions == {}


async def test_a_bare_ask_repeated_in_a_group_gets_one_example_a_minute(
    harness: Harness,
) -> None:
    for _ in range(5):
        await harness.say(f"/ask@{BOT_USERNAME}", chat_id=GROUP_ID)
    assert harness.request.texts() == [zh.ASK_EXAMPLE]
    for _ in range(2):
        await harness.say("/ask")  # privately, every time
    assert harness.request.texts() == [zh.ASK_EXAMPLE] * 3


async def test_unknown_command_in_private_gets_a_hint(harness: Harness) -> None:
    await harness.say("/weather")
    assert harness.request.texts() == [zh.UNKNOWN_COMMAND]


# -- groups ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "今天天气不错",
        "电子社保卡怎么领",
        "@someone_else 电子社保卡怎么领",
        "/ask@other_bot 电子社保卡怎么领",
        "/weather",
        "/menu@other_bot",
    ],
)
async def test_group_chatter_is_ignored(harness: Harness, text: str) -> None:
    entities = [mention(text, "@someone_else")] if "@someone_else" in text else None
    await harness.say(text, chat_id=GROUP_ID, entities=entities)
    assert harness.request.sent() == []
    assert harness.storage.questions == {}


async def test_group_reply_to_another_user_is_ignored(harness: Harness) -> None:
    other = harness.message("电子社保卡怎么领", chat_id=GROUP_ID, user_id=555)
    await harness.say("我也想知道电子社保卡怎么领", chat_id=GROUP_ID, reply_to=other)
    assert harness.request.sent() == []


@pytest.mark.parametrize("name", [f"@{BOT_USERNAME}", "@EssCard_Test_Bot"])
async def test_group_mention_is_answered_compactly_as_a_reply(harness: Harness, name: str) -> None:
    text = f"😀{name} 电子社保卡怎么领"
    question = await harness.say(text, chat_id=GROUP_ID, entities=[mention(text, name)])
    [answer] = harness.request.of("sendMessage")
    assert answer.params["chat_id"] == GROUP_ID
    assert answer.params["reply_parameters"]["message_id"] == question["message_id"]
    assert answer.params["text"].startswith(APPLY_TITLE_HTML)
    assert [data for _, data in buttons(answer) if data.startswith("e:")] == []  # compact
    assert any(data.startswith("v:+:") for _, data in buttons(answer))
    [record] = harness.storage.questions.values()
    assert record.text == "😀 电子社保卡怎么领" and record.chat_type == "supergroup"
    [photo] = harness.request.of("sendPhoto")
    assert photo.params["reply_parameters"]["message_id"] == question["message_id"]


async def test_group_text_mention_is_answered(harness: Harness) -> None:
    text = "社保卡小助手 养老认证怎么弄"
    entity = {"type": "text_mention", "offset": 0, "length": 6, "user": BOT_USER}
    await harness.say(text, chat_id=GROUP_ID, entities=[entity])
    [answer] = harness.request.of("sendMessage")
    assert answer.params["text"].startswith("<b>养老资格认证怎么做</b>")
    [record] = harness.storage.questions.values()
    assert record.text == "养老认证怎么弄"


async def test_group_text_mention_of_someone_else_is_ignored(harness: Harness) -> None:
    entity = {"type": "text_mention", "offset": 0, "length": 2, "user": harness.user(555)}
    await harness.say("老王 养老认证怎么弄", chat_id=GROUP_ID, entities=[entity])
    assert harness.request.sent() == []


async def test_group_reply_to_the_bot_is_answered(harness: Harness) -> None:
    question = await harness.say(
        "那养老认证怎么弄", chat_id=GROUP_ID, reply_to=harness.bot_message()
    )
    [answer] = harness.request.of("sendMessage")
    assert answer.params["reply_parameters"]["message_id"] == question["message_id"]
    assert answer.params["text"].startswith("<b>养老资格认证怎么做</b>")


async def test_group_ask_addressed_to_the_bot(harness: Harness) -> None:
    await harness.say(f"/ask@{BOT_USERNAME} 养老认证怎么弄", chat_id=GROUP_ID)
    [answer] = harness.request.of("sendMessage")
    assert answer.params["text"].startswith("<b>养老资格认证怎么做</b>")
    [record] = harness.storage.questions.values()
    assert record.text == "养老认证怎么弄"


async def test_group_other_commands_addressed_to_the_bot(harness: Harness) -> None:
    await harness.say(f"/help@{BOT_USERNAME}", chat_id=GROUP_ID)
    await harness.say(f"/weather@{BOT_USERNAME}", chat_id=GROUP_ID)
    help_text, unknown = harness.request.of("sendMessage")
    assert "/menu" in help_text.params["text"]
    assert unknown.params["text"] == zh.UNKNOWN_COMMAND
    assert help_text.params["reply_parameters"]["message_id"]


async def test_group_mention_without_a_question_gets_an_example(harness: Harness) -> None:
    text = f"@{BOT_USERNAME}"
    await harness.say(text, chat_id=GROUP_ID, entities=[mention(text, text)])
    [reply] = harness.request.texts()
    assert f"/ask@{BOT_USERNAME}" in reply
    assert harness.storage.questions == {}


async def test_group_flood_control_answers_a_repeated_question_once(harness: Harness) -> None:
    clock = [1000.0]
    harness.app.bot_data["runtime"].flood.clock = lambda: clock[0]
    ask = f"/ask@{BOT_USERNAME} "
    await harness.say(ask + "电子社保卡怎么领", chat_id=GROUP_ID)
    await harness.say(ask + "电子社保卡 怎么领！", chat_id=GROUP_ID, user_id=2002)
    await harness.say(ask + "养老认证怎么弄", chat_id=GROUP_ID)
    assert len(harness.request.of("sendMessage")) == 2
    assert len(harness.storage.questions) == 2

    await harness.say("电子社保卡怎么领")  # private chats have no cooldown
    await harness.say("电子社保卡怎么领")
    assert len(harness.request.of("sendMessage")) == 4

    clock[0] += 61
    await harness.say(ask + "电子社保卡怎么领", chat_id=GROUP_ID)
    assert len(harness.request.of("sendMessage")) == 5


ADMIN_RIGHTS = dict.fromkeys(
    [
        "can_be_edited",
        "is_anonymous",
        "can_manage_chat",
        "can_delete_messages",
        "can_manage_video_chats",
        "can_restrict_members",
        "can_promote_members",
        "can_change_info",
        "can_invite_users",
        "can_post_stories",
        "can_edit_stories",
        "can_delete_stories",
    ],
    False,
)


def _member(status: str) -> dict[str, object]:
    rights = ADMIN_RIGHTS if status == "administrator" else {}
    return {"user": BOT_USER, "status": status, **rights}


async def _added(harness: Harness, old: str = "left", new: str = "member") -> None:
    await harness.feed(
        "my_chat_member",
        {
            "chat": harness.chat(GROUP_ID),
            "from": harness.user(),
            "date": int(time.time()),
            "old_chat_member": _member(old),
            "new_chat_member": _member(new),
        },
    )


async def test_added_to_a_group_posts_one_usage_note(harness: Harness) -> None:
    await _added(harness)
    await harness.say(None, chat_id=GROUP_ID, new_chat_members=[BOT_USER])
    [note] = harness.request.of("sendMessage")
    assert note.params["chat_id"] == GROUP_ID
    assert f"/ask@{BOT_USERNAME}" in note.params["text"]
    assert "回复我的消息" in note.params["text"]
    assert f"直接 @{BOT_USERNAME}" not in note.params["text"]  # privacy mode is on


async def test_service_message_alone_posts_the_note(make_harness: MakeHarness) -> None:
    harness = await make_harness(privacy_mode=False)
    await harness.say(None, chat_id=GROUP_ID, new_chat_members=[harness.user(555), BOT_USER])
    [note] = harness.request.texts()
    assert f"直接 @{BOT_USERNAME} 加问题" in note  # it can read every message


async def test_other_membership_changes_post_nothing(harness: Harness) -> None:
    await _added(harness, old="member", new="administrator")
    await _added(harness, old="member", new="left")
    await harness.say(None, chat_id=GROUP_ID, new_chat_members=[harness.user(555)])
    assert harness.request.sent() == []


async def test_group_button_answers_as_a_compact_reply(harness: Harness) -> None:
    await harness.press("e:apply-e-card", chat_id=GROUP_ID, message_id=66)
    [answer] = harness.request.of("sendMessage")
    assert answer.params["chat_id"] == GROUP_ID
    assert answer.params["reply_parameters"]["message_id"] == 66
    assert [data for _, data in buttons(answer) if data.startswith("e:")] == []


# -- inline mode -----------------------------------------------------------------------------


async def test_inline_query_returns_articles_with_the_full_answer(harness: Harness) -> None:
    await harness.inline("电子社保卡怎么领")
    [call] = harness.request.of("answerInlineQuery")
    results = call.params["results"]
    assert 1 <= len(results) <= 5
    first = results[0]
    assert first["type"] == "article" and first["id"] == "apply-e-card"
    assert first["title"] == "怎样领取电子社保卡 <新> & 快"
    assert first["description"].startswith("用支付宝搜索")
    content = first["input_message_content"]
    assert content["message_text"].startswith(APPLY_TITLE_HTML)
    assert "来源：" in content["message_text"] and content["parse_mode"] == "HTML"
    [[link]] = first["reply_markup"]["inline_keyboard"]
    assert link["url"] == f"https://t.me/{BOT_USERNAME}?start=apply-e-card"
    assert len({r["id"] for r in results}) == len(results)


async def test_empty_inline_query_lists_the_most_asked(harness: Harness) -> None:
    await harness.inline("")
    [first] = harness.request.of("answerInlineQuery")
    ids = [r["id"] for r in first.params["results"]]
    assert ids == ["apply-e-card", "e-card-uses", "pension-check"]  # nothing asked yet

    await harness.say("养老认证怎么弄")
    await harness.say("退休人员资格认证")
    await harness.say("电子社保卡有什么用")
    await harness.inline("  ")
    ids = [r["id"] for r in harness.request.of("answerInlineQuery")[-1].params["results"]]
    assert ids == ["pension-check", "e-card-uses", "apply-e-card"]


async def test_inline_query_without_an_answer_offers_the_bot(harness: Harness) -> None:
    await harness.inline("护照怎么办理")
    [call] = harness.request.of("answerInlineQuery")
    assert call.params["results"] == []
    assert call.params["button"]["start_parameter"] == "inline"


# -- the bot's own id is not a user ---------------------------------------------------------


async def test_bot_identity_comes_from_get_me(harness: Harness) -> None:
    assert harness.app.bot.id == BOT_ID and harness.app.bot.username == BOT_USERNAME


async def test_an_expired_button_press_still_does_its_action(harness: Harness) -> None:
    harness.request.fail(
        "answerCallbackQuery", 400, "Bad Request: query is too old and response timeout expired"
    )
    await harness.press("e:pension-check")
    [answer] = harness.request.of("sendMessage")
    assert answer.params["text"].startswith("<b>养老资格认证怎么做</b>")


async def test_two_questions_get_the_first_answered_and_the_rest_named(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(KNOWLEDGE)
    await harness.say("电子社保卡怎么领？另外公积金怎么取")
    [answer] = harness.request.of("sendMessage")
    assert answer.params["text"].startswith("<b>怎样领取电子社保卡</b>")
    assert "您还问到「公积金怎么取」" in answer.params["text"]
    records = list(harness.storage.questions.values())
    assert [(r.text, r.decision, r.entry_id) for r in records] == [
        ("电子社保卡怎么领？另外公积金怎么取", "answer", "apply-e-card"),
        ("公积金怎么取", "fallback", None),
    ]
