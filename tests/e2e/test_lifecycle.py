"""The process as an operator sees it: start, SIGTERM, exit codes, the log and the database."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import KNOWLEDGE
from tests.e2e.conftest import (
    SECRET,
    TOKEN,
    USERNAME,
    WAIT,
    BotProcess,
    labels,
    leaks,
)
from tests.fakebotapi import FakeBotApiServer, group

_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR) ")


def test_sigterm_exits_0_keeps_the_questions_and_never_prints_the_token(
    fresh_bot: BotProcess,
) -> None:
    """At DEBUG level, where python-telegram-bot logs every request it makes."""
    bot = fresh_bot
    assert bot.server.token == TOKEN  # the fake accepts no other: the bot uses it
    answer, picture = bot.ask(6001, "电子社保卡怎么领", count=2)
    pressed = bot.api.press(answer, text="👍 有用")
    bot.api.wait_calls("answerCallbackQuery", timeout=WAIT, chat_id=6001, since=pressed.seq)
    (fallback,) = bot.ask(6002, "公积金怎么提取")
    assert labels(fallback) == ["📋 菜单"]
    chat = group(-1006001, "单位群")
    bot.ask(6003, f"/ask@{USERNAME} 失业金怎么申领", chat=chat)
    (upload,) = bot.api.sent(6001, method="sendPhoto")
    assert upload["params"]["photo"]["upload"] == "apply-e-card.png"  # a new process uploads

    assert bot.stop() == 0
    log = bot.log()
    assert "Application.stop() complete" in log
    assert "Traceback" not in log and " ERROR " not in log
    assert bot.api.state()["pending_updates"] == 0  # every handled update was confirmed
    output = bot.output()
    assert "DEBUG" in output
    assert leaks(output) == [], f"the token ({SECRET[:4]}...) is in the output"

    with contextlib.closing(sqlite3.connect(bot.database)) as db:
        questions = db.execute(
            "SELECT chat_type, text, decision, entry_id FROM questions ORDER BY id"
        ).fetchall()
        votes = db.execute("SELECT entry_id, vote FROM votes").fetchall()
        images = db.execute("SELECT path, file_id FROM images").fetchall()
    assert questions == [
        ("private", "电子社保卡怎么领", "answer", "apply-e-card"),
        ("private", "公积金怎么提取", "fallback", None),
        ("supergroup", "失业金怎么申领", "answer", "unemployment-benefits"),
    ]
    assert votes == [("apply-e-card", 1)]
    assert images == [("images/apply-e-card.png", picture["photo"][-1]["file_id"])]


def test_without_a_token_the_process_exits_2_and_points_to_botfather(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "BOT_"))
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,  # no .env here
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "@BotFather" in result.stderr
    assert "Traceback" not in result.stderr


def _start(tmp_path: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    """``python -m bot run`` with these settings only (and the test's copy of the KB)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "BOT_"))
    }
    env.update(
        BOT_DATABASE=str(tmp_path / "data" / "x.sqlite3"),
        BOT_KNOWLEDGE_DIR=str(KNOWLEDGE),
        BOT_SEMANTIC="off",
    )
    env.update(settings)
    return subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _said(stderr: str) -> list[str]:
    """What the process printed itself, log lines left out."""
    return [line for line in stderr.splitlines() if not _LOG_LINE.match(line)]


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_a_rejected_token_is_two_plain_lines_and_a_traceback_only_at_debug(
    tmp_path: Path, level: str
) -> None:
    with FakeBotApiServer(TOKEN) as server:  # accepts TOKEN only
        wrong = "5550001234:AAHsomeOtherTokenThanTheFakeAccepts_0"
        result = _start(
            tmp_path,
            TELEGRAM_BOT_TOKEN=wrong,
            TELEGRAM_API_BASE_URL=server.bot_api_url,
            BOT_LOG_LEVEL=level,
        )
    assert result.returncode == 2, result.stderr
    said = [
        f"The Bot API at {server.bot_api_url} rejected TELEGRAM_BOT_TOKEN.",
        "Copy it again from @BotFather (/mybots -> your bot -> API Token) into .env or the "
        "environment.",
    ]
    if level == "INFO":
        assert _said(result.stderr) == said
    else:
        assert "Traceback" in result.stderr and result.stderr.rstrip().endswith(said[-1])
    assert wrong.split(":")[1] not in result.stderr


def test_an_unreachable_bot_api_is_two_plain_lines(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/bot"
    result = _start(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=url)
    assert result.returncode == 1, result.stderr
    assert _said(result.stderr) == [
        f"Cannot reach the Telegram Bot API at {url} "
        "(httpx.ConnectError: All connection attempts failed).",
        "Check this machine's internet access or proxy, and TELEGRAM_API_BASE_URL.",
    ]
    assert "Traceback" not in result.stderr and SECRET not in result.stderr
