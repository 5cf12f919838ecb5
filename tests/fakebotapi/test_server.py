"""The fake Bot API, driven by a real python-telegram-bot Bot over HTTP."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.request import HTTPXRequest

from .client import FakeBotApi, FakeBotApiError, WaitTimeout, entity, group
from .server import FakeBotApiServer

TOKEN = "123456789:AAFakeTokenForTests_abcdefghijklmnop"
ROOT = Path(__file__).resolve().parents[2]
PICTURE = (ROOT / "knowledge" / "images" / "apply-e-card.png").read_bytes()


@pytest.fixture
def server() -> Iterator[FakeBotApiServer]:
    with FakeBotApiServer(TOKEN) as srv:
        yield srv


@pytest.fixture
def api(server: FakeBotApiServer) -> FakeBotApi:
    return server.client(timeout=5)


def make_bot(server: FakeBotApiServer, read_timeout: float = 5.0) -> Bot:
    request = HTTPXRequest(read_timeout=read_timeout, connect_timeout=2)
    return Bot(TOKEN, base_url=server.bot_api_url, request=request)


@pytest.fixture
async def bot(server: FakeBotApiServer) -> AsyncIterator[Bot]:
    async with make_bot(server) as made:
        yield made


def post(url: str, payload: dict[str, Any]) -> Any:
    data = json.dumps(payload).encode()
    try:
        with urllib.request.urlopen(url, data, timeout=5) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        return json.loads(error.read())


async def test_get_me_a_wrong_token_and_an_unknown_method(server: FakeBotApiServer) -> None:
    async with make_bot(server) as bot:
        me = await bot.get_me()
    assert (me.id, me.username, me.can_read_all_group_messages) == (123456789, me.username, False)
    with pytest.raises(InvalidToken):
        async with Bot(
            "123456789:AAOtherToken_abcdefghijklmnopqrstu", base_url=server.bot_api_url
        ):
            pass
    answer = post(f"{server.bot_api_url}{TOKEN}/sendDice", {"chat_id": 1})
    assert answer == {"ok": False, "error_code": 404, "description": "Not Found: method not found"}


async def test_html_becomes_entities_and_a_keyboard_and_reply_are_kept(
    bot: Bot, api: FakeBotApi
) -> None:
    pushed = api.send_text(100, "问一下")
    assert pushed.message is not None
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("好", callback_data="ok")]])
    sent = await bot.send_message(
        100,
        "  <b>标题</b>\n正文 &amp; <i>来源😀</i>\n",
        parse_mode="HTML",
        reply_markup=keyboard,
        reply_parameters=ReplyParameters(pushed.message["message_id"]),
    )
    assert sent.text == "标题\n正文 & 来源😀"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        ("bold", 0, 2),
        ("italic", 8, 4),
    ]
    assert sent.reply_to_message is not None and sent.reply_to_message.text == "问一下"
    [message] = api.messages(100, since=pushed.seq)
    assert message["reply_markup"] == {
        "inline_keyboard": [[{"text": "好", "callback_data": "ok"}]]
    }
    [call] = api.sent(100, method="sendMessage")
    assert call["ok"] and call["params"]["parse_mode"] == "HTML" and call["chat_id"] == 100


@pytest.mark.parametrize(
    ("kwargs", "said"),
    [
        ({"text": "<b>没有闭合", "parse_mode": "HTML"}, "can't parse entities"),
        ({"text": "a < b", "parse_mode": "HTML"}, "can't parse entities"),
        ({"text": "<div>x</div>", "parse_mode": "HTML"}, "Unsupported start tag"),
        ({"text": " \n "}, "message text is empty"),
        ({"text": "字" * 4097}, "message is too long"),
        ({"text": "x", "chat_id": 999}, "chat not found"),
        ({"text": "x", "reply_parameters": ReplyParameters(77)}, "message to be replied"),
        (
            {
                "text": "x",
                "reply_markup": InlineKeyboardMarkup(
                    [[InlineKeyboardButton("长", callback_data="d" * 65)]]
                ),
            },
            "BUTTON_DATA_INVALID",
        ),
    ],
)
async def test_what_telegram_refuses_is_refused(
    bot: Bot, api: FakeBotApi, kwargs: dict[str, Any], said: str
) -> None:
    api.send_text(100, "hi")
    with pytest.raises(BadRequest, match=f"(?i){said}"):
        await bot.send_message(**{"chat_id": 100, **kwargs})
    [call] = api.sent(method="sendMessage")
    assert call["ok"] is False and call["error_code"] == 400
    assert api.messages() == []


async def test_edit_message_text(bot: Bot, api: FakeBotApi) -> None:
    pushed = api.send_text(100, "hi")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("菜单", callback_data="m")]])
    sent = await bot.send_message(100, "旧", reply_markup=keyboard)
    edited = await bot.edit_message_text("<b>新</b>", 100, sent.message_id, parse_mode="HTML")
    assert isinstance(edited, type(sent)) and edited.text == "新"
    [now] = api.messages(100, since=pushed.seq)
    assert now["text"] == "新" and "reply_markup" not in now and "edit_date" in now
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("<b>新</b>", 100, sent.message_id, parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", 100, pushed.message["message_id"])  # type: ignore[index]


async def test_a_photo_is_uploaded_then_sent_by_its_file_id(bot: Bot, api: FakeBotApi) -> None:
    api.send_text(100, "hi")
    first = await bot.send_photo(100, PICTURE, caption="说明", filename="a.png")
    file_id = first.photo[-1].file_id
    assert first.caption == "说明" and api.server.telegram.files[file_id] == PICTURE
    again = await bot.send_photo(100, file_id)
    assert again.photo[-1].file_id == file_id
    uploaded, resent = api.sent(100, method="sendPhoto")
    assert uploaded["params"]["photo"] == {"upload": "a.png", "size": len(PICTURE)}
    assert resent["params"]["photo"] == file_id
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_photo(100, "AgACunknown")
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await bot.send_photo(100, file_id, caption="字" * 1025)


async def test_commands_are_checked(bot: Bot) -> None:
    assert await bot.set_my_commands([BotCommand("ask", "提问")])
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Ask", "提问")])


async def test_long_polling_confirms_by_offset(bot: Bot, api: FakeBotApi) -> None:
    started = time.monotonic()
    polling = asyncio.create_task(bot.get_updates(timeout=3))
    await asyncio.sleep(0.2)
    pushed = api.send_text(100, "/start")
    (update,) = await polling
    assert time.monotonic() - started < 2  # woken by the push
    assert update.update_id == pushed.update_id and update.message is not None
    assert update.message.text == "/start" and update.message.entities[0].type == "bot_command"
    assert api.state()["pending_updates"] == 1
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()
    assert api.state()["pending_updates"] == 0
    await bot.get_updates(timeout=0, allowed_updates=["message"])
    hidden = api.press((await bot.send_message(100, "x", reply_markup=_button("b"))).to_dict())
    assert not hidden.delivered and "allowed_updates" in hidden.reason


def _button(data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(f"按{data}", callback_data=data)]])


async def test_button_presses_and_their_answers(bot: Bot, api: FakeBotApi) -> None:
    api.send_text(100, "hi")
    sent = (await bot.send_message(100, "选", reply_markup=_button("x"))).to_dict()
    pressed = api.press(sent, text="按x")
    query = pressed.update["callback_query"]
    assert query["data"] == "x" and query["from"]["id"] == 100
    with pytest.raises(FakeBotApiError, match="no button"):
        api.press(sent, "y")
    assert api.press(sent, "forged", check=False).update["callback_query"]["data"] == "forged"
    assert await bot.answer_callback_query(str(pressed.query_id), "收到")
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(str(pressed.query_id))
    answer, refused = api.wait_calls("answerCallbackQuery", 2, chat_id=100, since=pressed.seq)
    assert answer["params"]["text"] == "收到" and refused["error_code"] == 400
    assert api.state()["callback_answers"][pressed.query_id]["text"] == "收到"


async def test_privacy_mode_in_groups(bot: Bot, api: FakeBotApi) -> None:
    chat = group(-1001, "群")
    assert not api.send_text(1, "闲聊", chat=chat).delivered
    assert api.send_text(1, "/ask@esscard_test_bot 问", chat=chat).delivered
    assert not api.send_text(1, "/ask@other_bot 问", chat=chat).delivered
    said = await bot.send_message(-1001, "答", reply_markup=_button("g"))
    reply = api.send_text(2, "追问", chat=chat, reply_to=said.message_id)
    assert reply.delivered and reply.message is not None
    assert reply.message["reply_to_message"]["text"] == "答"
    with pytest.raises(FakeBotApiError, match="say which user"):
        api.press(said.to_dict())
    joined = api.member(chat, 1, "administrator")
    assert joined.update["my_chat_member"]["new_chat_member"]["can_manage_chat"] is True
    text = "@esscard_test_bot 问"
    mention = api.send_text(1, text, chat=chat, entities=[entity(text, "@esscard_test_bot")])
    assert mention.delivered
    assert mention.update["message"]["entities"] == [
        {"type": "mention", "offset": 0, "length": 17}
    ]
    api.member(chat, 1, "left")
    assert not api.send_text(1, "闲聊", chat=chat).delivered


async def test_waits_and_since(bot: Bot, api: FakeBotApi) -> None:
    api.send_text(100, "hi")
    await bot.send_message(100, "一")
    mark = api.seq()
    waiting = asyncio.create_task(asyncio.to_thread(api.wait_for, 100, 2, since=mark))
    await bot.send_message(100, "二")
    await bot.send_message(100, "三")
    assert [m["text"] for m in await waiting] == ["二", "三"]
    with pytest.raises(WaitTimeout) as caught:
        api.wait_for(100, 3, 0.2, since=mark)
    assert [m["text"] for m in caught.value.items] == ["二", "三"]
    with pytest.raises(WaitTimeout):
        api.wait_calls("sendPhoto", timeout=0.1)
    assert [c["seq"] for c in api.sent(since=mark)] == [mark + 1, mark + 2]


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_faults_error_429_pass_and_drop(bot: Bot, api: FakeBotApi) -> None:
    api.send_text(100, "hi")
    api.inject("429", "sendMessage", retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(100, "x")
    retry = caught.value.retry_after
    assert (retry.total_seconds() if isinstance(retry, dtm.timedelta) else retry) == 7
    for kind in ("pass", "500", "pass", "drop"):
        api.inject(kind, "sendMessage")
    api.inject("error", "sendMessage", code=502, description="Bad Gateway")
    outcomes = []
    for text in "abcde":
        try:
            outcomes.append((await bot.send_message(100, text)).text)
        except NetworkError:
            outcomes.append(None)
    assert outcomes == ["a", None, "c", None, None]
    assert [c.get("error_code") or c.get("fault") for c in api.sent(100)] == [
        429,
        None,
        500,
        None,
        "drop",
        502,
    ]
    assert api.state()["faults"] == {}
    api.inject("500", "sendMessage", count=3)
    api.clear_faults()
    assert (await bot.send_message(100, "ok")).text == "ok"


async def test_a_hang_then_going_offline(server: FakeBotApiServer, api: FakeBotApi) -> None:
    api.send_text(100, "hi")
    async with make_bot(server, read_timeout=0.5) as bot:
        api.inject("hang", "sendMessage", seconds=2)
        started = time.monotonic()
        with pytest.raises(TimedOut):
            await bot.send_message(100, "slow")
        assert time.monotonic() - started < 1.5
        api.offline(1.0)
        with pytest.raises(NetworkError):
            await bot.get_me()
        await asyncio.sleep(1.2)
        assert (await bot.get_me()).is_bot
        await asyncio.to_thread(server.go_offline)
        with pytest.raises(NetworkError):
            await bot.get_me()
        await asyncio.to_thread(server.go_online)
        assert (await bot.get_me()).is_bot


def test_the_control_api_over_http(server: FakeBotApiServer) -> None:
    pushed = post(f"{server.url}/_test/send_text", {"user_id": 7, "text": "你好"})
    assert pushed["ok"] and pushed["result"]["delivered"] is True
    assert pushed["result"]["update"]["message"]["text"] == "你好"
    timed_out = post(f"{server.url}/_test/wait_for", {"chat_id": 7, "timeout": 0.1})
    assert timed_out["timed_out"] and timed_out["result"] == []
    assert "no control route 'reset'" in post(f"{server.url}/_test/reset", {})["description"]
    assert "TypeError" in post(f"{server.url}/_test/send_text", {"user": 7})["description"]


def test_run_as_process() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakebotapi", "--token", TOKEN],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("FAKEBOTAPI_URL=http://127.0.0.1:")
        url = line.split("=", 1)[1]
        assert post(f"{url}/_test/send_text", {"user_id": 1, "text": "hello"})["ok"]
        updates = post(f"{url}/bot{TOKEN}/getUpdates", {})["result"]
        assert updates[0]["message"]["text"] == "hello"
    finally:
        process.terminate()
        assert process.wait(10) == 0
