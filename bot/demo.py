"""``esscard-bot demo``: the real bot against a local fake Telegram, driven by a tiny client.

No token and no network. The fake Bot API (``tests/fakebotapi``, standard library only) serves
on 127.0.0.1 in this process; the bot starts as an operator starts it, ``python -m bot run``,
pointed at the fake with ``TELEGRAM_API_BASE_URL``; then a client plays two users: a private
question, an @mention in a group (with its ``mention`` entity, as Telegram sends it) and a
press on a button under the first answer. Everything the bot sent back is printed.

The fake belongs to the tests, so the demo runs from a checkout of the project (a git clone),
as the benchmark's end-to-end run does; an installed package alone has no fake to start.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from bot.checkout import child_env, fake_api

JSON = dict[str, Any]

TOKEN = "1000000001:AAFakeTokenForTheLocalDemoOnly_0123456789"
"""The only token the demo's fake accepts; it is no real bot's."""
USERNAME = "esscard_demo_bot"
PRIVATE_USER = 1001
GROUP_USER = 1002
GROUP_ID = -1001000000001
GROUP_TITLE = "社区互助群"
QUESTION = "电子社保卡怎么领"  # bot.cli.DEMO_QUESTION
GROUP_QUESTION = "失业金怎么申领"
START_TIMEOUT = 30.0
WAIT = 10.0
"""Seconds to wait for the bot's first reply to anything."""
SETTLE = 1.0
"""Seconds to wait for one more message after the last (a picture after an answer)."""
STOP_TIMEOUT = 15.0

Say = Callable[[str], None]


def _print(text: str) -> None:
    print(text, flush=True)  # at once, also into a pipe


class DemoError(RuntimeError):
    """The demo cannot go on; the message says why in plain words."""


def run_demo(
    knowledge: Path, questions: Sequence[str] = (), *, keep: bool = False, say: Say = _print
) -> int:
    """Start the fake and the bot, play the conversation, print it; the exit code."""
    try:
        fake = fake_api()
    except ImportError as error:
        say(
            "esscard-bot demo needs the fake Telegram in tests/fakebotapi/ beside the bot "
            f"package, that is a checkout of the project (git clone): {error}"
        )
        return 2
    with _sigterm_as_interrupt(), tempfile.TemporaryDirectory(prefix="esscard-demo-") as home:
        server = fake.FakeBotApiServer(TOKEN, username=USERNAME)
        server.start()
        try:
            with _bot(Path(home), server.bot_api_url, knowledge) as (process, log):
                try:
                    _wait_until_ready(process, log)
                    say(
                        f"The real bot (python -m bot run, pid {process.pid}) is talking to a "
                        f"fake Telegram at {server.url}: no token, nothing leaves this machine."
                    )
                    _conversation(fake, server.client(timeout=WAIT), questions or [QUESTION], say)
                    if keep:
                        _keep_running(process, server.url, log, say)
                except DemoError as error:
                    say(f"\nThe demo failed: {error}")
                    say(_tail(log))
                    return 1
            if process.returncode != 0:
                say(f"\nThe bot exited with code {process.returncode} when stopped.")
                say(_tail(log))
                return 1
        finally:
            server.stop()
    say(
        "\nDone; the bot stopped cleanly. `esscard-bot demo --keep` leaves it running for you "
        "to try; with a token from @BotFather in .env, `make run` starts it for real."
    )
    return 0


@contextlib.contextmanager
def _bot(
    home: Path, api_url: str, knowledge: Path
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """``python -m bot run`` in *home* (no .env there), its stderr in a file; stopped after."""
    env = {k: v for k, v in child_env().items() if not k.startswith(("TELEGRAM_", "BOT_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=api_url,
        BOT_KNOWLEDGE_DIR=str(knowledge.resolve()),
        BOT_DATABASE=str(home / "demo.sqlite3"),
        BOT_LOG_LEVEL="INFO",
        BOT_SEMANTIC="off",  # the same answers every run, at once
        PYTHONUNBUFFERED="1",
    )
    log = home / "bot.log"
    with log.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=home,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=err,
            stderr=err,
        )
    try:
        yield process, log
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_ready(process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while f"Bot @{USERNAME} is ready" not in log.read_text("utf-8", "replace"):
        if process.poll() is not None:
            raise DemoError(f"the bot exited with code {process.returncode} while starting.")
        if time.monotonic() > deadline:
            raise DemoError(f"the bot was not ready after {START_TIMEOUT:.0f} s.")
        time.sleep(0.05)


def _conversation(fake: ModuleType, api: Any, questions: Sequence[str], say: Say) -> None:
    """The three things a user does, each with what came back."""
    say("\n1. A private chat")
    first: list[JSON] = []
    for question in questions:
        pushed = api.send_text(PRIVATE_USER, question, user={"first_name": "王阿姨"})
        say(f"   王阿姨: {question}")
        replies = _replies(fake, api, PRIVATE_USER, pushed.seq)
        first = first or replies
        _show(replies, say)

    say(f"\n2. A group: the bot is added to {GROUP_TITLE} as an admin, a member @mentions it")
    chat = fake.group(GROUP_ID, GROUP_TITLE)
    joined = api.member(chat, GROUP_USER, "administrator")
    _show(_replies(fake, api, GROUP_ID, joined.seq), say)
    text = f"@{USERNAME} {GROUP_QUESTION}"
    mention = fake.entity(text, f"@{USERNAME}", "mention")
    pushed = api.send_text(
        GROUP_USER, text, chat=chat, entities=[mention], user={"first_name": "小李"}
    )
    if not pushed.delivered:
        raise DemoError(f"Telegram would not deliver the mention to the bot: {pushed.reason}")
    say(f"   小李: {text}")
    say(
        f"         (entity: {mention['type']}, offset {mention['offset']}, length "
        f"{mention['length']})"
    )
    _show(_replies(fake, api, GROUP_ID, pushed.seq), say)

    say("\n3. A button press under the first private answer")
    message, button = _first_entry_button(first)
    if button is None:
        say("   (the first answer has no button that opens an entry; nothing to press)")
        return
    say(f"   王阿姨 presses [{button['text']}]")
    pressed = api.press(message, button["callback_data"])
    answered = api.wait_calls(
        "answerCallbackQuery", timeout=WAIT, chat_id=PRIVATE_USER, since=pressed.seq
    )
    toast = answered[0]["params"].get("text")
    if toast:
        say(f"   Telegram shows {toast!r} (the bot's answerCallbackQuery)")
    _show(_replies(fake, api, PRIVATE_USER, pressed.seq), say)


def _replies(fake: ModuleType, api: Any, chat_id: int, since: int) -> list[JSON]:
    """The bot's messages in a chat after *since*: the first, and any that follow it quickly."""
    try:
        messages: list[JSON] = api.wait_for(chat_id, 1, WAIT, since=since)
    except fake.WaitTimeout as error:
        raise DemoError(f"no reply in chat {chat_id} within {WAIT:.0f} s.") from error
    while True:
        try:
            messages = api.wait_for(chat_id, len(messages) + 1, SETTLE, since=since)
        except fake.WaitTimeout as error:
            return list(error.items)


def _show(messages: list[JSON], say: Say) -> None:
    for message in messages:
        quoted = message.get("reply_to_message")
        head = "   bot"
        if quoted:
            head += f" (replying to {_short(str(quoted.get('text', '')))!r})"
        if "photo" in message:
            body = f"[photo] {message.get('caption', '')}"
        else:
            body = str(message.get("text", ""))
        lines = body.splitlines() or [""]
        say(f"{head}: {lines[0]}")
        for line in lines[1:]:
            say(f"        {line}" if line else "")
        rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        for row in rows:
            say("        " + "  ".join(f"[{button['text']}]" for button in row))


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_entry_button(messages: list[JSON]) -> tuple[JSON, JSON | None]:
    """The first message with a button that opens an entry (``e:`` data), and that button."""
    for message in messages:
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if str(button.get("callback_data", "")).startswith("e:"):
                    return message, button
    return {}, None


def _keep_running(process: subprocess.Popen[bytes], url: str, log: Path, say: Say) -> None:
    """Leave the bot and the fake up for a person to try, until Ctrl-C or SIGTERM."""
    push = json.dumps({"user_id": 1003, "text": "养老认证怎么在手机上做"}, ensure_ascii=False)
    say(
        "\nThe fake Telegram and the bot keep running; stop them with Ctrl-C. Be a user with "
        "curl (the control API is described in tests/fakebotapi/server.py):\n"
        f"  curl -s {url}/_test/send_text -d '{push}'\n"
        f"  curl -s {url}/_test/messages -d '{{\"chat_id\": 1003}}'\n"
        f"The bot's log: {log}"
    )
    try:
        while process.poll() is None:
            time.sleep(0.2)
        raise DemoError(f"the bot exited with code {process.returncode}.")
    except KeyboardInterrupt:
        say("")


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM ends the demo like Ctrl-C, so that the bot process is stopped too."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _tail(log: Path, lines: int = 20) -> str:
    text = log.read_text("utf-8", "replace") if log.exists() else ""
    shown = text.splitlines()[-lines:]
    return "The bot's last log lines:\n" + "\n".join(shown) if shown else "The bot logged nothing."
