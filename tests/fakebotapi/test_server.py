"""The fake Bot API, driven by a real python-telegram-bot Bot / Application."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import logging
import os
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputMediaPhoto,
    InputTextMessageContent,
    ReplyParameters,
    Update,
)
from telegram.error import (
    BadRequest,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import Application, ContextTypes, MessageHandler, filters
from telegram.request import HTTPXRequest

from .client import FakeBotApi, FakeBotApiError, WaitTimeout, entity, group
from .server import FakeBotApiServer, parse_multipart

TOKEN = "123456789:AAFakeTokenForTests_abcdefghijklmnop"
ROOT = Path(__file__).resolve().parents[2]
logging.getLogger("httpx").setLevel(logging.WARNING)


def png(width: int, height: int, shade: int = 0) -> bytes:
    """A real (tiny, grey) PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes([shade]) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def server() -> Iterator[FakeBotApiServer]:
    with FakeBotApiServer(TOKEN) as srv:
        yield srv


@pytest.fixture
def api(server: FakeBotApiServer) -> FakeBotApi:
    return server.client()


def make_bot(server: FakeBotApiServer, read_timeout: float = 5.0) -> Bot:
    return Bot(
        TOKEN,
        base_url=server.bot_api_url,
        base_file_url=server.file_url,
        request=HTTPXRequest(read_timeout=read_timeout, connect_timeout=2),
        get_updates_request=HTTPXRequest(read_timeout=5, connect_timeout=2),
    )


@pytest.fixture
async def bot(server: FakeBotApiServer) -> AsyncIterator[Bot]:
    async with make_bot(server) as b:
        yield b


def seconds(value: int | dtm.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def raw_call(url: str, body: bytes, content_type: str) -> tuple[int, Any]:
    request = urllib.request.Request(url, body, {"Content-Type": content_type}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


# ----------------------------------------------------------------------------- basics


async def test_get_me(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == 123456789
    assert me.is_bot
    assert me.username == "esscard_test_bot"
    assert me.can_join_groups is True
    assert me.can_read_all_group_messages is False  # privacy mode on by default
    assert me.supports_inline_queries is True


async def test_wrong_token_and_unknown_method(server: FakeBotApiServer, bot: Bot) -> None:
    with pytest.raises(InvalidToken):
        await Bot("42:WRONG", base_url=server.bot_api_url).get_me()
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")
    status, body = raw_call(f"{server.url}/bot{TOKEN}/noSuchMethod", b"", "text/plain")
    assert (status, body["error_code"]) == (404, 404)
    assert body["description"] == "Not Found: method not found"


async def test_initialize_fails_on_wrong_token(server: FakeBotApiServer) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("42:WRONG", base_url=server.bot_api_url):
            pass


def test_method_names_case_insensitive_and_body_kinds(
    server: FakeBotApiServer, api: FakeBotApi
) -> None:
    api.send_text(7, "hi")
    base = f"{server.url}/bot{TOKEN}"
    status, body = raw_call(
        f"{base}/SENDMESSAGE", b"chat_id=7&text=form", "application/x-www-form-urlencoded"
    )
    assert status == 200 and body["result"]["text"] == "form"
    payload = json.dumps(
        {
            "chat_id": 7,
            "text": "json",
            "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "x"}]]},
        }
    )
    status, body = raw_call(f"{base}/sendmessage", payload.encode(), "application/json")
    assert status == 200 and body["result"]["reply_markup"]["inline_keyboard"][0][0]["text"] == "a"
    with urllib.request.urlopen(f"{base}/getMe", timeout=5) as response:
        assert json.loads(response.read())["result"]["is_bot"] is True
    assert [c["method"] for c in api.sent(7)] == ["sendMessage", "sendMessage"]
    assert api.sent(7)[1]["params"]["chat_id"] == 7


def test_multipart_parser() -> None:
    boundary = "XyZ"
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="chat_id"\r\n\r\n5\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="photo"; filename="\xe5\x9b\xbe.png"\r\n'
        b"Content-Type: image/png\r\n\r\n\x89PNG\r\n\r\n--\x00\xff\r\n--XyZ--\r\n"
    )
    fields, files = parse_multipart(body, f"multipart/form-data; boundary={boundary}")
    assert fields == {"chat_id": "5"}
    assert files["photo"].filename == "图.png"
    assert files["photo"].content_type == "image/png"
    assert files["photo"].data == b"\x89PNG\r\n\r\n--\x00\xff"


# ----------------------------------------------------------------------------- messages


async def test_send_message_shapes(bot: Bot, api: FakeBotApi) -> None:
    pushed = api.send_text(1001, "社保卡丢了怎么办")
    assert pushed.delivered and pushed.update_id > 0
    user_mid = pushed.message["message_id"] if pushed.message else 0
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("更多", callback_data="more:1")]])
    first = await bot.send_message(
        1001,
        "<b>挂失</b>：拨打 12333 &amp; 去网点 😀",
        parse_mode="HTML",
        reply_markup=keyboard,
        reply_parameters=ReplyParameters(user_mid),
    )
    second = await bot.send_message(1001, "第二条")
    assert second.message_id == first.message_id + 1 > user_mid
    assert first.from_user is not None and first.from_user.id == bot.id
    assert first.chat.id == 1001 and first.chat.type == "private"
    assert abs(first.date.timestamp() - time.time()) < 5  # seconds, not milliseconds
    assert first.text == "挂失：拨打 12333 & 去网点 😀"
    assert [(e.type, e.offset, e.length) for e in first.entities] == [("bold", 0, 2)]
    assert first.reply_markup == keyboard
    assert first.reply_to_message is not None
    assert first.reply_to_message.text == "社保卡丢了怎么办"
    logged = api.sent(1001, method="sendMessage")
    assert (
        logged[0]["params"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "more:1"
    )
    assert logged[0]["params"]["text"].startswith("<b>")
    assert [m["text"] for m in api.messages(1001)] == [first.text, "第二条"]


async def test_send_message_errors(bot: Bot, api: FakeBotApi) -> None:
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(555, "nobody talked to me")
    api.send_text(555, "hi")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(555, "1 < 2", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(555, "<b>open", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)Unsupported start tag"):
        await bot.send_message(555, "a<br>b", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(555, "字" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(555, "  <b> </b> ", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        too_long = InlineKeyboardButton("x", callback_data="长" * 30)
        await bot.send_message(555, "x", reply_markup=InlineKeyboardMarkup([[too_long]]))
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(555, "x", reply_parameters=ReplyParameters(9999))
    ok = await bot.send_message(
        555, "x", reply_parameters=ReplyParameters(9999, allow_sending_without_reply=True)
    )
    assert ok.reply_to_message is None
    assert await bot.send_chat_action(555, "typing") is True
    assert [c["ok"] for c in api.sent(555)][-2:] == [True, True]


async def test_edit_message(bot: Bot, api: FakeBotApi) -> None:
    api.send_text(3, "q")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data="a")]])
    sent = await bot.send_message(3, "one", reply_markup=keyboard)
    edited = await bot.edit_message_text("two", 3, sent.message_id, reply_markup=keyboard)
    assert isinstance(edited, type(sent))
    assert edited.text == "two" and edited.edit_date is not None
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("two", 3, sent.message_id, reply_markup=keyboard)
    plain = await bot.edit_message_reply_markup(3, sent.message_id)
    assert not isinstance(plain, bool) and plain.reply_markup is None
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", 3, 999)
    current = api.message(3, sent.message_id)
    assert current is not None and current["text"] == "two" and "reply_markup" not in current
    # the log keeps what each call returned at the time
    first = api.sent(3, method="sendMessage")[0]["result"]
    assert first["text"] == "one" and "reply_markup" in first
    assert await bot.delete_message(3, sent.message_id) is True
    gone = api.message(3, sent.message_id)
    assert gone is not None and gone["deleted"] is True


async def test_send_photo_and_file_download(bot: Bot, api: FakeBotApi) -> None:
    api.send_text(9, "pic please")
    image = png(40, 30)
    first = await bot.send_photo(9, image, caption="<i>步骤</i>", parse_mode="HTML")
    again = await bot.send_photo(9, image)
    big = first.photo[-1]
    assert (big.width, big.height, big.file_size) == (40, 30, len(image))
    assert big.file_id == again.photo[-1].file_id  # stable per content
    assert big.file_unique_id == again.photo[-1].file_unique_id
    assert first.caption == "步骤" and first.caption_entities[0].type == "italic"
    by_id = await bot.send_photo(9, big.file_id)
    assert by_id.photo[-1].file_id == big.file_id
    other = await bot.send_photo(9, png(40, 30, shade=200))
    assert other.photo[-1].file_id != big.file_id
    file = await bot.get_file(big.file_id)
    assert bytes(await file.download_as_bytearray()) == image
    with pytest.raises(BadRequest, match=r"(?i)IMAGE_PROCESS_FAILED"):
        await bot.send_photo(9, b"not an image")
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_photo(9, "no-such-id")
    upload = api.sent(9, method="sendPhoto")[0]["params"]["photo"]
    assert upload["size"] == len(image)


async def test_send_media_group(bot: Bot, api: FakeBotApi) -> None:
    api.send_text(11, "album")
    first = await bot.send_photo(11, png(8, 8))
    media = [
        InputMediaPhoto(png(10, 20), caption="一"),
        InputMediaPhoto(png(20, 10)),
        InputMediaPhoto(first.photo[-1].file_id, caption="<b>三</b>", parse_mode="HTML"),
    ]
    messages = await bot.send_media_group(11, media)
    assert len(messages) == 3
    assert len({m.media_group_id for m in messages}) == 1
    assert [m.caption for m in messages] == ["一", None, "三"]
    assert (messages[0].photo[-1].width, messages[0].photo[-1].height) == (10, 20)
    assert messages[2].photo[-1].file_id == first.photo[-1].file_id
    assert len(api.wait_for(11, 4, timeout=1)) == 4
    with pytest.raises(BadRequest):
        await bot.send_media_group(11, [InputMediaPhoto(png(4, 4))])


async def test_commands(bot: Bot) -> None:
    commands = [BotCommand("start", "开始"), BotCommand("help", "帮助")]
    assert await bot.set_my_commands(commands) is True
    assert tuple(await bot.get_my_commands()) == tuple(commands)
    assert await bot.set_my_commands([BotCommand("zh", "中文")], language_code="zh") is True
    assert [c.command for c in await bot.get_my_commands(language_code="zh")] == ["zh"]
    assert await bot.delete_my_commands() is True
    assert await bot.get_my_commands() == ()
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Bad-Name", "x")])
    assert await bot.delete_webhook() is True
    info = await bot.get_webhook_info()
    assert info.url == "" and info.pending_update_count == 0
    assert await bot.close() is True
    assert await bot.log_out() is True


# ----------------------------------------------------------------------------- updates


async def test_long_poll_returns_pushed_update(bot: Bot, api: FakeBotApi) -> None:
    assert await bot.get_updates(timeout=0) == ()
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.2)
    # other calls proceed while the long poll waits
    await bot.get_me()
    pushed = await api.aio.send_text(21, "你好", user={"first_name": "张三"})
    updates = await asyncio.wait_for(poll, 5)
    assert time.monotonic() - started < 4.5  # returned on the push, not at the 5 s timeout
    assert len(updates) == 1
    update = updates[0]
    assert update.update_id == pushed.update_id
    assert update.message is not None and update.message.text == "你好"
    assert update.effective_user is not None and update.effective_user.first_name == "张三"
    assert update.message.chat.type == "private"
    # not confirmed yet: delivered again; confirmed by offset: gone
    again = await bot.get_updates(timeout=0)
    assert [u.update_id for u in again] == [pushed.update_id]
    assert await bot.get_updates(offset=pushed.update_id + 1, timeout=0) == ()
    started = time.monotonic()
    assert await bot.get_updates(offset=pushed.update_id + 1, timeout=1) == ()
    assert 0.9 < time.monotonic() - started < 3


async def test_get_updates_limit_and_negative_offset(bot: Bot, api: FakeBotApi) -> None:
    pushed = api.send_many([{"user_id": 30 + i, "text": f"m{i}"} for i in range(5)])
    ids = [p.update_id for p in pushed]
    assert ids == sorted(ids)
    assert [u.update_id for u in await bot.get_updates(limit=2)] == ids[:2]
    assert [u.update_id for u in await bot.get_updates(offset=-2)] == ids[3:]
    assert [u.update_id for u in await bot.get_updates()] == ids[3:]


async def test_allowed_updates(bot: Bot, api: FakeBotApi) -> None:
    await bot.get_updates(allowed_updates=["message"])
    api.send_text(40, "m")
    dropped = api.inline(40, "x")
    assert not dropped.delivered and "allowed_updates" in dropped.reason
    assert [u.message is not None for u in await bot.get_updates()] == [True]


async def test_callback_query(bot: Bot, api: FakeBotApi) -> None:
    api.send_text(50, "q")
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("是", callback_data="yes"),
                InlineKeyboardButton("否", callback_data="no"),
            ]
        ]
    )
    sent = await bot.send_message(50, "确定吗？", reply_markup=keyboard)
    (message,) = api.messages(50)
    pressed = api.press(message, "no")
    by_label = api.press(message, text="是")
    with pytest.raises(FakeBotApiError, match=r"(?i)no button"):
        api.press(message, "maybe")
    updates = await bot.get_updates(offset=pressed.update_id)
    query = updates[0].callback_query
    assert query is not None and query.data == "no"
    assert query.chat_instance
    assert query.message is not None and query.message.message_id == sent.message_id
    assert query.from_user.id == 50
    assert updates[1].callback_query is not None and updates[1].callback_query.data == "yes"
    assert await bot.answer_callback_query(query.id, text="好的") is True
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query.id)
    (answer,) = api.sent(50, method="answerCallbackQuery")
    assert answer["params"]["text"] == "好的"
    assert by_label.query_id is not None


async def test_inline_query(bot: Bot, api: FakeBotApi) -> None:
    pushed = api.inline(60, "补办")
    (update,) = await bot.get_updates()
    assert update.inline_query is not None and update.inline_query.query == "补办"
    assert update.inline_query.id == pushed.query_id
    result = InlineQueryResultArticle("r1", "补办社保卡", InputTextMessageContent("去网点补办"))
    assert await bot.answer_inline_query(update.inline_query.id, [result], cache_time=0) is True
    answers = api.state()["inline_answers"]
    assert answers[pushed.query_id]["results"][0]["id"] == "r1"
    with pytest.raises(BadRequest):
        await bot.answer_inline_query(update.inline_query.id, [result])


async def test_groups_privacy_mode_and_membership(bot: Bot, api: FakeBotApi) -> None:
    chat = group(-1001000, "社保群")
    added = api.member(chat, 70, "member")
    assert added.delivered
    plain = api.send_text(70, "@esscard_test_bot 社保卡怎么办", chat=chat)
    assert not plain.delivered and "privacy" in plain.reason
    mention = plain.message["entities"][0] if plain.message else {}
    assert (mention["type"], mention["offset"], mention["length"]) == ("mention", 0, 17)
    command = api.send_text(70, "/ask@esscard_test_bot 补办", chat=chat)
    assert command.delivered
    sent = await bot.send_message(chat["id"], "答案")
    reply = api.send_text(71, "谢谢", chat=chat["id"], reply_to=sent.message_id)
    assert reply.delivered
    text = "问一下 ESSCard Test Bot 补办"
    mentioned = api.send_text(72, text, chat=chat, entities=[entity(text, "ESSCard Test Bot")])
    assert not mentioned.delivered
    api.member(chat, 70, "administrator")
    assert api.send_text(72, "随便说说", chat=chat).delivered
    updates = await bot.get_updates()
    kinds = [
        "member" if u.my_chat_member else (u.message.text if u.message else "?") for u in updates
    ]
    assert kinds == ["member", "/ask@esscard_test_bot 补办", "谢谢", "member", "随便说说"]
    reply_update = updates[2]
    assert reply_update.message is not None and reply_update.message.reply_to_message is not None
    assert reply_update.message.reply_to_message.from_user is not None
    assert reply_update.message.reply_to_message.from_user.id == bot.id
    assert updates[0].my_chat_member is not None
    assert updates[0].my_chat_member.new_chat_member.status == "member"
    assert updates[3].my_chat_member is not None
    assert updates[3].my_chat_member.new_chat_member.status == "administrator"
    assert updates[1].message is not None and updates[1].message.chat.type == "supergroup"
    api.member(chat, 70, "kicked")
    with pytest.raises(Forbidden, match=r"(?i)kicked"):
        await bot.send_message(chat["id"], "还在吗")
    api.config(privacy_mode=False)
    assert (await bot.get_me()).can_read_all_group_messages is True


async def test_blocked_user(bot: Bot, api: FakeBotApi) -> None:
    api.send_text(80, "hi")
    api.member(80, 80, "kicked")
    with pytest.raises(Forbidden, match=r"(?i)blocked by the user"):
        await bot.send_message(80, "x")


# ----------------------------------------------------------------------------- waiting


async def test_wait_for_and_since(bot: Bot, api: FakeBotApi) -> None:
    api.send_text(90, "a")
    await bot.send_message(90, "old")
    mark = api.seq()
    waiter = asyncio.create_task(api.aio.wait_for(90, 2, timeout=5, since=mark))
    await asyncio.sleep(0.1)
    await bot.send_message(90, "new1")
    await bot.send_message(90, "new2")
    got = await asyncio.wait_for(waiter, 5)
    assert [m["text"] for m in got] == ["new1", "new2"]
    with pytest.raises(WaitTimeout) as caught:
        api.wait_for(90, 3, timeout=0.3, since=mark)
    assert len(caught.value.items) == 2
    calls = api.wait_calls("sendMessage", 3, timeout=1, chat_id=90)
    assert [c["result"]["text"] for c in calls] == ["old", "new1", "new2"]
    assert api.messages(since=mark)[0]["text"] == "new1"
    api.reset()
    assert api.messages() == [] and api.sent() == []
    assert api.seq() >= mark  # sequence numbers never go back


# ----------------------------------------------------------------------------- faults


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # retry_after
async def test_fault_429_and_500(bot: Bot, api: FakeBotApi) -> None:
    api.send_text(100, "hi")
    api.inject("429", "sendMessage", retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(100, "x")
    assert "Retry in 7 seconds" in str(caught.value)
    assert seconds(caught.value.retry_after) == 7
    api.inject("500", count=2)  # any method but getUpdates
    with pytest.raises(NetworkError):
        await bot.get_me()
    with pytest.raises(NetworkError):
        await bot.send_message(100, "y")
    assert (await bot.send_message(100, "z")).text == "z"
    assert await bot.get_updates(timeout=0)  # "*" never hits getUpdates
    api.inject(
        "error", "sendMessage", code=403, description="Forbidden: bot was blocked by the user"
    )
    with pytest.raises(Forbidden):
        await bot.send_message(100, "w")
    faults = [c.get("fault") for c in api.sent(100)]
    assert faults == ["error", "error", None, "error"]
    api.inject("429", "getUpdates", retry_after=3)
    with pytest.raises(RetryAfter):
        await bot.get_updates()


async def test_fault_hang_and_drop(server: FakeBotApiServer, api: FakeBotApi) -> None:
    api.send_text(110, "hi")
    async with make_bot(server, read_timeout=0.5) as bot:
        api.inject("hang", "sendMessage", seconds=2)
        started = time.monotonic()
        with pytest.raises(TimedOut):
            await bot.send_message(110, "slow")
        assert time.monotonic() - started < 1.5
        api.inject("drop", "sendMessage")
        with pytest.raises(NetworkError):
            await bot.send_message(110, "cut")
        assert (await bot.send_message(110, "fine")).text == "fine"
        api.inject("hang", "sendMessage", seconds=0.8, execute=True)
        with pytest.raises(TimedOut):
            await bot.send_message(110, "late")
        late = await api.aio.wait_for(110, 2, timeout=3)
        assert [m["text"] for m in late] == ["fine", "late"]  # delivered although timed out


async def test_fault_pass_spaces_faults_out(bot: Bot, api: FakeBotApi) -> None:
    api.send_text(120, "hi")
    for kind in ("pass", "500", "pass", "pass", "drop"):
        api.inject(kind, "sendMessage")
    outcomes = []
    for text in "abcde":
        try:
            outcomes.append((await bot.send_message(120, text)).text)
        except NetworkError:
            outcomes.append(None)
    assert outcomes == ["a", None, "c", "d", None]
    assert api.state()["faults"] == {}


async def test_offline(server: FakeBotApiServer, api: FakeBotApi, bot: Bot) -> None:
    api.offline(1.0)
    with pytest.raises(NetworkError):
        await bot.get_me()
    with pytest.raises(urllib.error.URLError):
        api.state()
    await asyncio.sleep(1.2)
    assert (await bot.get_me()).is_bot
    assert api.state()["listening"] is True
    await asyncio.to_thread(server.go_offline)
    with pytest.raises(NetworkError):
        await bot.get_me()
    await asyncio.to_thread(server.go_online)
    assert (await bot.get_me()).is_bot


async def test_conflicting_long_polls(bot: Bot, server: FakeBotApiServer) -> None:
    async with make_bot(server) as other:
        first = asyncio.create_task(bot.get_updates(timeout=3))
        await asyncio.sleep(0.2)
        second = asyncio.create_task(other.get_updates(timeout=1))
        with pytest.raises(Exception, match=r"(?i)terminated by other getUpdates"):
            await asyncio.wait_for(first, 3)
        assert await asyncio.wait_for(second, 3) == ()


# ----------------------------------------------------------------------------- a whole bot


async def test_application_polling_round_trip(server: FakeBotApiServer, api: FakeBotApi) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_message.text
        await update.effective_message.reply_text(update.effective_message.text[::-1])

    app = (
        Application.builder()
        .token(TOKEN)
        .base_url(server.bot_api_url)
        .base_file_url(server.file_url)
        .concurrent_updates(64)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    users, per_user = 30, 10
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=5)
        try:
            batch: list[dict[str, Any]] = [
                {"user_id": 500 + u, "text": f"问题{u}-{i}"}
                for i in range(per_user)
                for u in range(users)
            ]
            await api.aio.send_many(batch)
            replies = await api.aio.wait_for(None, users * per_user, timeout=20)
        finally:
            await app.updater.stop()
            await app.stop()
    assert len(replies) == users * per_user
    assert sorted(m["text"] for m in replies) == sorted(b["text"][::-1] for b in batch)
    assert {m["chat"]["id"] for m in replies} == {500 + u for u in range(users)}
    assert api.state()["pending_updates"] == 0  # the final getUpdates confirmed everything


# ----------------------------------------------------------------------------- as a process


def test_run_as_process() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakebotapi", "--port", "0", "--token", TOKEN],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("FAKEBOTAPI_URL=http://127.0.0.1:")
        url = line.split("=", 1)[1]
        api = FakeBotApi(url)
        api.send_text(1, "hello")
        with urllib.request.urlopen(f"{url}/bot{TOKEN}/getUpdates", timeout=5) as response:
            updates = json.loads(response.read())["result"]
        assert updates[0]["message"]["text"] == "hello"
    finally:
        process.terminate()
        assert process.wait(10) == 0
