"""Images are checked when they are sent, not only when the knowledge base is loaded: a file
swapped for a symlink that leaves the knowledge folder is never uploaded."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest

from tests.tg.conftest import FIXTURE_KB, MakeHarness

SECRET = b"\x89PNG\r\n\x1a\n not for the bot: /etc/shadow, keys, the database"


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    folder = tmp_path / "kb"
    shutil.copytree(FIXTURE_KB, folder)
    (tmp_path / "secret.png").write_bytes(SECRET)
    return folder


def uploads(harness: object) -> list[bytes]:
    request = harness.request  # type: ignore[attr-defined]
    return [content for call in request.of("sendPhoto") for _, content in call.files.values()] + [
        content for call in request.of("sendMediaGroup") for _, content in call.files.values()
    ]


@pytest.mark.parametrize("swap", ["file", "folder"])
async def test_a_symlink_out_of_the_folder_swapped_in_later_is_refused(
    make_harness: MakeHarness, kb: Path, swap: str, caplog: pytest.LogCaptureFixture
) -> None:
    harness = await make_harness(kb)  # loaded while the picture is a plain file
    image = kb / "images" / "apply.png"
    if swap == "file":
        image.unlink()
        image.symlink_to(kb.parent / "secret.png")
    else:
        outside = kb.parent / "elsewhere"
        outside.mkdir()
        shutil.copy(kb.parent / "secret.png", outside / "apply.png")
        shutil.rmtree(kb / "images")
        (kb / "images").symlink_to(outside, target_is_directory=True)
    with caplog.at_level(logging.WARNING, logger="bot.tg.sending"):
        await harness.say("电子社保卡怎么领")
    [answer] = harness.request.of("sendMessage")  # the answer still goes out
    assert answer.params["text"].startswith("<b>怎样领取电子社保卡")
    assert SECRET not in uploads(harness)
    assert harness.request.of("sendPhoto") == []
    assert "outside the knowledge folder" in caplog.text
    assert harness.storage.files == {}


async def test_a_symlink_inside_the_folder_is_sent(make_harness: MakeHarness, kb: Path) -> None:
    harness = await make_harness(kb)
    image = kb / "images" / "apply.png"
    image.unlink()
    image.symlink_to(kb / "images" / "use-1.png")
    await harness.say("电子社保卡怎么领")
    assert uploads(harness) == [(kb / "images" / "use-1.png").read_bytes()]


async def test_something_that_is_no_file_is_refused_without_waiting(
    make_harness: MakeHarness, kb: Path, caplog: pytest.LogCaptureFixture
) -> None:
    harness = await make_harness(kb)
    image = kb / "images" / "apply.png"
    image.unlink()
    os.mkfifo(image)  # opening a FIFO for reading would wait for a writer forever
    with caplog.at_level(logging.WARNING, logger="bot.tg.sending"):
        await harness.say("电子社保卡怎么领")
    assert len(harness.request.of("sendMessage")) == 1
    assert harness.request.of("sendPhoto") == []
    assert "not a regular file" in caplog.text
