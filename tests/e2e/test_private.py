"""A private chat with the real bot process: welcome, answers with pictures, buttons, fallback."""

from __future__ import annotations

from bot.core.knowledge import load_knowledge
from tests.conftest import KNOWLEDGE
from tests.e2e.conftest import WAIT, BotProcess, entity_text, labels

SOURCE = "来源：指尖沈阳 / 沈报全媒体《@辽宁人，这个卡你领了吗？事关你的社保》（2021-11-30）"


def test_start_greets_and_offers_every_category(bot: BotProcess) -> None:
    (welcome,) = bot.ask(2001, "/start")
    assert welcome["text"].startswith("您好！我是社保卡小助手")
    assert labels(welcome) == list(load_knowledge(KNOWLEDGE).categories)


def test_a_question_is_answered_with_title_steps_source_and_picture(bot: BotProcess) -> None:
    user = 2002
    answer, picture = bot.ask(user, "电子社保卡怎么领", count=2)

    assert entity_text(answer, "bold") == ["怎样领取电子社保卡"]
    assert answer["text"].startswith("怎样领取电子社保卡\n")
    assert "\n1. 打开手机上的支付宝。\n" in answer["text"]
    assert "\n4. 按页面上的操作提示，领取电子社保卡。" in answer["text"]
    (source,) = entity_text(answer, "italic")
    assert source.startswith(SOURCE)
    assert labels(answer)[-2:] == ["👍 有用", "👎 没用"]
    assert "电子社保卡是什么" in labels(answer)  # a related question

    # The picture of the steps follows the text: the image file of the knowledge folder.
    assert picture["caption"] == "在支付宝首页搜“电子社保卡”，进页面后按提示领取"
    stored = bot.server.telegram.files[picture["photo"][-1]["file_id"]]
    assert stored == (KNOWLEDGE / "images" / "apply-e-card.png").read_bytes()

    # Asked again, the picture goes by the file_id Telegram gave it; nothing is re-uploaded.
    again = bot.ask(user, "怎么领电子社保卡", count=2)
    assert [message.get("photo") is not None for message in again] == [False, True]
    resent = bot.api.sent(user, method="sendPhoto")[-1]
    assert resent["params"]["photo"] == picture["photo"][-1]["file_id"]


def test_thumbs_up_is_acknowledged(bot: BotProcess) -> None:
    user = 2003
    answer = bot.ask(user, "失业金怎么申领")[0]
    assert entity_text(answer, "bold") == ["网上申领失业金"]
    pressed = bot.api.press(answer, text="👍 有用")
    (acknowledged,) = bot.api.wait_calls(
        "answerCallbackQuery", timeout=WAIT, chat_id=user, since=pressed.seq
    )
    assert acknowledged["ok"]
    assert acknowledged["params"]["callback_query_id"] == pressed.query_id
    assert acknowledged["params"]["text"] == "谢谢您的反馈！"


def test_a_related_question_button_opens_that_answer(bot: BotProcess) -> None:
    user = 2004
    answer = bot.ask(user, "电子社保卡怎么领", count=2)[0]
    pressed = bot.api.press(answer, text="电子社保卡是什么")
    (opened,) = bot.api.wait_for(user, 1, WAIT, since=pressed.seq)
    assert entity_text(opened, "bold") == ["电子社保卡是什么"]


def test_an_out_of_scope_question_gets_the_hotline(bot: BotProcess) -> None:
    (reply,) = bot.ask(2005, "公积金怎么提取")
    assert "12333" in reply["text"]
    assert "没有确切的答案" in reply["text"]
    assert "bold" not in {entity["type"] for entity in reply.get("entities", [])}
    assert labels(reply) == ["📋 菜单"]
