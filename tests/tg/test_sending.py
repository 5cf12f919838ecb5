"""Sending replies: parts, keyboards, photos and albums, the file_id cache, failures."""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.core.knowledge import Image
from bot.core.render import Reply
from bot.tg.sending import Target, send_reply
from tests.tg.conftest import FIXTURE_KB, GROUP_ID, USER_ID, Harness, MakeHarness, buttons

APPLY_PNG = FIXTURE_KB / "images" / "apply.png"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_text_first_then_one_image_as_a_photo(harness: Harness) -> None:
    await harness.say("电子社保卡怎么领")
    assert [call.method for call in harness.request.sent()] == ["sendMessage", "sendPhoto"]
    photo = harness.request.of("sendPhoto")[0]
    assert photo.params["caption"] == "支付宝首页搜索“电子社保卡”"
    assert "parse_mode" not in photo.params  # captions are plain text
    assert photo.files["photo"] == ("apply.png", APPLY_PNG.read_bytes())


async def test_an_uploaded_image_is_resent_by_its_file_id(harness: Harness) -> None:
    await harness.say("电子社保卡怎么领")
    first = harness.request.of("sendPhoto")[0]
    assert first.files and "photo" not in first.params
    assert harness.storage.files == {("images/apply.png", _sha(APPLY_PNG)): "photo-1"}

    await harness.say("电子社保卡在哪里领取")
    second = harness.request.of("sendPhoto")[1]
    assert second.params["photo"] == "photo-1"
    assert second.files == {}


async def test_several_images_go_as_one_album_and_are_cached(harness: Harness) -> None:
    await harness.say("电子社保卡有什么用")
    [album] = harness.request.of("sendMediaGroup")
    media = album.params["media"]
    assert [item["caption"] for item in media] == ["查询", "缴费"]
    assert all(item["media"].startswith("attach://") for item in media)
    assert len(album.files) == 2
    assert len(harness.storage.files) == 2

    await harness.say("电子社保卡能干嘛")
    again = harness.request.of("sendMediaGroup")[1]
    assert [item["media"] for item in again.params["media"]] == ["photo-1", "photo-2"]
    assert again.files == {}


async def test_a_failing_image_still_delivers_the_text(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.request.fail("sendPhoto", 400, "Bad Request: IMAGE_PROCESS_FAILED")
    with caplog.at_level(logging.WARNING, logger="bot.tg.sending"):
        await harness.say("电子社保卡怎么领")
    [answer] = harness.request.of("sendMessage")  # the answer, and no apology
    assert answer.params["text"].startswith("<b>怎样领取电子社保卡")
    assert len(harness.request.of("sendPhoto")) == 1
    assert "Could not send the images of entry apply-e-card" in caplog.text
    assert harness.storage.files == {}


async def test_a_missing_image_file_still_delivers_the_text(
    make_harness: MakeHarness, tmp_path: Path
) -> None:
    kb = tmp_path / "kb"
    shutil.copytree(FIXTURE_KB, kb)
    harness = await make_harness(kb)
    (kb / "images" / "apply.png").unlink()
    await harness.say("电子社保卡怎么领")
    assert len(harness.request.of("sendMessage")) == 1
    assert harness.request.of("sendPhoto") == []


async def test_a_refused_cached_file_id_is_uploaded_again(harness: Harness) -> None:
    harness.storage.files[("images/apply.png", _sha(APPLY_PNG))] = "from-another-bot"
    harness.request.fail("sendPhoto", 400, "Bad Request: wrong file identifier/HTTP URL")
    await harness.say("电子社保卡怎么领")
    refused, uploaded = harness.request.of("sendPhoto")
    assert refused.params["photo"] == "from-another-bot"
    assert uploaded.files["photo"][1] == APPLY_PNG.read_bytes()
    assert harness.storage.files[("images/apply.png", _sha(APPLY_PNG))] == "photo-1"


async def test_long_answers_are_split_with_the_keyboard_on_the_last_part(
    make_harness: MakeHarness, write_kb: Callable[[dict[str, str]], Path]
) -> None:
    paragraph = "电子社保卡的说明文字，这一行很长，" * 30
    answer = "\n".join(f"      {paragraph}{n}" for n in range(12))
    questions = "\n".join(f"      - 很长的问题问法{n}" for n in range(8))
    kb = write_kb(
        {
            "long.yaml": (
                "source: {outlet: 测试日报, date: 2021-11-30}\n"
                "entries:\n"
                "  - id: long-one\n"
                "    title: 很长的回答\n"
                "    category: 测试\n"
                f"    questions:\n{questions}\n"
                f"    answer: |\n{answer}\n"
            )
        }
    )
    harness = await make_harness(kb)
    await harness.say("很长的问题问法3")
    parts = harness.request.of("sendMessage")
    assert len(parts) >= 2
    assert all(len(part.params["text"]) <= 4096 for part in parts)
    assert [bool(buttons(part)) for part in parts] == [False] * (len(parts) - 1) + [True]
    joined = "\n".join(part.params["text"] for part in parts)
    assert all(f"{paragraph}{n}" in joined for n in range(12))
    assert joined.startswith("<b>很长的回答</b>") and "来源：测试日报" in joined


async def test_long_answers_in_groups_quote_the_question_once(
    harness: Harness,
) -> None:
    reply = Reply("x", "\n".join(["第一段" * 1000, "第二段" * 1000, "第三段" * 1000]))
    await send_reply(harness.app.bot, Target(GROUP_ID, reply_to=9), reply, harness.storage)
    parts = harness.request.of("sendMessage")
    assert len(parts) == 3
    assert [("reply_parameters" in p.params) for p in parts] == [True, False, False]


async def test_captions_are_cut_to_telegrams_limit(harness: Harness) -> None:
    long_caption = "很长的说明" * 300
    one = Reply("x", "x", images=(Image(long_caption, url="https://example.org/a.png"),))
    await send_reply(harness.app.bot, Target(USER_ID), one, harness.storage)
    [photo] = harness.request.of("sendPhoto")
    assert len(photo.params["caption"]) == 1024 and photo.params["caption"].endswith("…")
    assert photo.params["photo"] == "https://example.org/a.png"
    assert harness.storage.files == {}  # only local files are cached

    two = Reply("x", "x", images=(Image(long_caption, url="https://example.org/a.png"),) * 2)
    await send_reply(harness.app.bot, Target(USER_ID), two, harness.storage)
    [album] = harness.request.of("sendMediaGroup")
    assert all(len(item["caption"]) == 1024 for item in album.params["media"])


async def test_more_than_ten_images_go_as_several_albums(harness: Harness) -> None:
    images = tuple(Image(f"第{n}张", url=f"https://example.org/{n}.png") for n in range(12))
    await send_reply(harness.app.bot, Target(USER_ID), Reply("x", "x", images), harness.storage)
    albums = harness.request.of("sendMediaGroup")
    assert [len(album.params["media"]) for album in albums] == [10, 2]


async def test_answers_stay_in_the_forum_topic(harness: Harness) -> None:
    await harness.say(
        "/ask 电子社保卡怎么领",
        chat_id=GROUP_ID,
        is_topic_message=True,
        message_thread_id=7,
    )
    sent = harness.request.sent()
    assert sent and all(call.params["message_thread_id"] == 7 for call in sent)


async def test_network_errors_are_retried(harness: Harness) -> None:
    harness.request.fail("sendMessage", 502, "Bad Gateway", times=2)
    await harness.say("电子社保卡怎么领")
    attempts = harness.request.of("sendMessage")
    assert len(attempts) == 3
    assert attempts[2].params["text"].startswith("<b>怎样领取电子社保卡")
    assert len(harness.request.of("sendPhoto")) == 1


# PTB 22 warns about its own RetryAfter.retry_after type change when it builds the error.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_flood_limits_are_waited_out(harness: Harness) -> None:
    harness.request.fail(
        "sendMessage", 429, "Too Many Requests: retry after 1", parameters={"retry_after": 1}
    )
    await harness.say("电子社保卡怎么领")
    attempts = harness.request.of("sendMessage")
    assert len(attempts) == 2
    assert attempts[1].params["text"].startswith("<b>怎样领取电子社保卡")
