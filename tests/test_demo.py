"""``esscard-bot demo``: the real bot process against the local fake, no token, from a checkout."""

from __future__ import annotations

import json
import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

import bot.demo
from bot.cli import main
from tests.conftest import KNOWLEDGE


def test_the_demo_shows_a_private_answer_a_group_answer_and_a_button_press(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--knowledge", str(KNOWLEDGE), "demo"]) == 0
    out = capsys.readouterr().out
    private, group, press = re.split(r"\n\d\. ", out)[1:]

    assert "王阿姨: 电子社保卡怎么领\n   bot: 怎样领取电子社保卡\n" in private
    assert "[电子社保卡是什么]" in private and "[👍 有用]  [👎 没用]" in private
    assert "   bot: [photo] 在支付宝首页搜" in private  # the step picture follows the answer

    assert "/ask@esscard_demo_bot" in group  # the note the bot posts on joining
    assert "小李: @esscard_demo_bot 失业金怎么申领\n" in group
    assert "(entity: mention, offset 0, length 17)" in group
    assert "   bot (replying to '@esscard_demo_bot 失业金怎么申领'): 网上申领失业金\n" in group

    assert "王阿姨 presses [办实体卡时同步领电子卡]\n   bot: 办实体卡时同步领电子卡\n" in press
    assert out.rstrip().endswith("`make run` starts it for real.")
    assert "Traceback" not in out


def test_the_demo_asks_the_questions_it_is_given(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--knowledge", str(KNOWLEDGE), "demo", "公积金怎么提取", "失业金怎么申领"]) == 0
    private = capsys.readouterr().out.split("\n2. ")[0]
    fallback, answer = private.split("王阿姨: ")[1:]
    assert fallback.startswith("公积金怎么提取\n") and "12333" in fallback
    assert answer.startswith("失业金怎么申领\n   bot: 网上申领失业金\n")


def test_without_the_fake_the_demo_says_it_needs_a_checkout(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def missing() -> None:
        raise ImportError("tests/fakebotapi is not beside the bot package")

    monkeypatch.setattr(bot.demo, "fake_api", missing)
    assert main(["--knowledge", str(KNOWLEDGE), "demo"]) == 2
    assert capsys.readouterr().out == (
        "esscard-bot demo needs the fake Telegram in tests/fakebotapi/ beside the bot package, "
        "that is a checkout of the project (git clone): tests/fakebotapi is not beside the bot "
        "package\n"
    )


def test_demo_keep_serves_the_printed_commands_until_sigterm(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BOT_"))}
    command = [sys.executable, "-m", "bot", "--knowledge", str(KNOWLEDGE), "demo", "--keep"]
    with subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True, encoding="utf-8"
    ) as demo:
        try:
            output = Output(demo)
            lines = output.until("The bot's log:")
            push, read = (shlex.split(line) for line in lines[-3:-1])
            assert push[:2] == read[:2] == ["curl", "-s"] and push[3] == read[3] == "-d"
            with urllib.request.urlopen(push[2], data=push[4].encode(), timeout=10) as response:
                assert json.load(response)["result"]["delivered"] is True
            deadline = time.monotonic() + 10
            sent: list[dict[str, str]] = []
            while not sent and time.monotonic() < deadline:
                time.sleep(0.1)
                with urllib.request.urlopen(read[2], read[4].encode(), timeout=10) as response:
                    sent = json.load(response)["result"]
            assert sent and sent[0]["text"].startswith("养老金资格认证（手机上办）")
            demo.send_signal(signal.SIGTERM)
            assert output.until("Done; the bot stopped cleanly.")
            assert demo.wait(20) == 0
        finally:
            demo.terminate()  # SIGTERM: the demo stops its bot process too
            try:
                demo.wait(30)
            except subprocess.TimeoutExpired:
                demo.kill()


class Output:
    """The lines a process prints, read by a thread, waited for with a time limit."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, args=(process,), daemon=True).start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def until(self, start: str, timeout: float = 60) -> list[str]:
        """The lines up to the first that begins with *start*; fails at the end or timeout."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            assert line is not None, f"no line starting {start!r} in:\n" + "\n".join(seen)
            seen.append(line)
            if line.startswith(start):
                return seen


def test_sigterm_during_the_demo_stops_its_bot_process_too(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BOT_"))}
    command = [sys.executable, "-m", "bot", "--knowledge", str(KNOWLEDGE), "demo"]
    with subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True, encoding="utf-8"
    ) as demo:
        try:
            started = Output(demo).until("The real bot (python -m bot run, pid ")[-1]
            pid = int(started.split("pid ")[1].split(")")[0])
            demo.send_signal(signal.SIGTERM)
            assert demo.wait(30) == 130
        finally:
            demo.kill()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # gone, not left behind
