"""End-to-end fixtures: the fake Bot API in this process, the real bot as a subprocess.

The fake (tests.fakebotapi) serves on 127.0.0.1 from a background thread; the bot is started
exactly as an operator would start it, ``python -m bot run``, with its settings in the
environment and a private copy of the knowledge base. Its stderr goes to a file that is added
to the report of every failing test; the process is always stopped (then killed) at the end.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import KNOWLEDGE
from tests.fakebotapi import FakeBotApi, FakeBotApiServer

JSON = dict[str, Any]

TOKEN = "5550001234:AAHe2eSecretTokenPart-MustNeverBeLogged_x9"
"""The fake accepts only this token; the bot must never print it (nor the part after ':')."""
SECRET = TOKEN.split(":", 1)[1]
USERNAME = "esscard_test_bot"
ADMIN_ID = 9001
START_TIMEOUT = 30.0
WAIT = 10.0
"""Seconds any single wait for the bot may take before the test fails."""
STOP_TIMEOUT = 15.0

_LIVE: list[BotProcess] = []
"""Bot processes of the running session, whose logs a failing test's report shows."""


class BotProcess:
    """``python -m bot run`` against its own fake Bot API server, with its own data folder."""

    def __init__(
        self,
        home: Path,
        *,
        name: str = "bot",
        log_level: str = "INFO",
        admin_ids: str = str(ADMIN_ID),
        settings: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.settings = settings or {}
        self.home = home
        self.knowledge = home / "knowledge"
        self.database = home / "data" / "x.sqlite3"
        self.stderr_path = home / "stderr.log"
        self.stdout_path = home / "stdout.log"
        self.log_level = log_level
        self.admin_ids = admin_ids
        self.mark = 0
        self.server = FakeBotApiServer(TOKEN, username=USERNAME)
        self.api: FakeBotApi = self.server.client(timeout=WAIT)
        self.process: subprocess.Popen[bytes] | None = None

    # -------------------------------------------------------------- lifecycle

    def environment(self) -> dict[str, str]:
        """This machine's environment without any bot setting, then the test's settings."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("TELEGRAM_", "BOT_"))
        }
        env.update(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=self.server.bot_api_url,
            BOT_DATABASE=str(self.database),
            BOT_KNOWLEDGE_DIR=str(self.knowledge),
            BOT_ADMIN_IDS=self.admin_ids,
            BOT_LOG_LEVEL=self.log_level,
            BOT_SEMANTIC="off",  # these tests are about Telegram; matching has its own
            PYTHONUNBUFFERED="1",
        )
        env.update(self.settings)
        return env

    def start(self) -> None:
        """Start the fake, then the bot; return once the bot says it is ready."""
        shutil.copytree(KNOWLEDGE, self.knowledge)
        self.server.start()
        with self.stderr_path.open("wb") as err, self.stdout_path.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                cwd=self.home,  # no .env from the developer's checkout
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
        self.wait_for_log(f"Bot @{USERNAME} is ready", START_TIMEOUT)

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, as a service manager stops it; the exit code (killed if it hangs)."""
        process = self._process
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                pytest.fail(f"the bot did not stop within {timeout} s of SIGTERM:\n{self.log()}")
        return process.returncode

    def kill(self) -> None:
        """Kill the process if it still runs (the finalizer's last resort) and reap it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(STOP_TIMEOUT)

    @property
    def _process(self) -> subprocess.Popen[bytes]:
        if self.process is None:
            raise RuntimeError("the bot was not started")
        return self.process

    # -------------------------------------------------------------- output

    def log(self, *, since_mark: bool = False) -> str:
        """What the bot wrote to stderr (since the current test began)."""
        try:
            data = self.stderr_path.read_bytes()
        except FileNotFoundError:
            return ""
        return data[self.mark if since_mark else 0 :].decode("utf-8", "replace")

    def output(self) -> str:
        """Everything the process printed: stderr, then stdout."""
        stdout = self.stdout_path.read_bytes() if self.stdout_path.exists() else b""
        return self.log() + stdout.decode("utf-8", "replace")

    def set_mark(self) -> None:
        """Make log(since_mark=True) start here."""
        with contextlib.suppress(FileNotFoundError):
            self.mark = self.stderr_path.stat().st_size

    def assert_running(self) -> None:
        """Fail with the log if the process has exited."""
        code = self._process.poll()
        if code is not None:
            pytest.fail(f"the bot exited with code {code}:\n{self.log()}")

    def wait_for_log(self, text: str, timeout: float = WAIT) -> None:
        """Wait until *text* appears in stderr (since the mark) while the process runs."""
        deadline = time.monotonic() + timeout
        while text not in self.log(since_mark=True):
            self.assert_running()
            if time.monotonic() > deadline:
                pytest.fail(f"{text!r} not in the bot's log after {timeout} s:\n{self.log()}")
            time.sleep(0.05)

    # -------------------------------------------------------------- conversation

    def ask(self, user_id: int, text: str, count: int = 1, **kwargs: Any) -> list[JSON]:
        """A user sends *text* (privately, or in ``chat=``); the bot's next *count* messages."""
        self.assert_running()
        return self.api.ask(user_id, text, count=count, timeout=WAIT, **kwargs)

    def wait_until(self, check: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
        """Poll *check* until it holds, failing after *timeout* s."""
        deadline = time.monotonic() + timeout
        while not check():
            self.assert_running()
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}")
            time.sleep(0.05)


@contextlib.contextmanager
def running_bot(home: Path, **options: Any) -> Iterator[BotProcess]:
    """A started bot; afterwards it is stopped (killed if need be) and its fake shut down."""
    home.mkdir(parents=True, exist_ok=True)
    bot = BotProcess(home, **options)
    _LIVE.append(bot)
    try:
        bot.start()
        yield bot
    finally:
        try:
            if bot.process is not None and bot.process.poll() is None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    bot.process.send_signal(signal.SIGTERM)
                    bot.process.wait(STOP_TIMEOUT)
        finally:
            bot.kill()
            bot.server.stop()
            _LIVE.remove(bot)


def leaks(text: str) -> list[str]:
    """The forms of the token found in *text* (none, one hopes)."""
    return [form for form in (TOKEN, SECRET) if form in text]


@pytest.fixture(scope="session")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    """One bot process shared by the scenario tests (each uses its own users and chats).

    At the end it must stop cleanly on SIGTERM and its output must not contain the token.
    """
    with running_bot(tmp_path_factory.mktemp("shared-bot"), name="shared bot") as shared:
        yield shared
        code = shared.stop()
        assert code == 0, f"the shared bot exited with {code}:\n{shared.log()}"
        assert not leaks(shared.output()), "the bot printed its token"


@pytest.fixture
def fresh_bot(tmp_path: Path) -> Iterator[BotProcess]:
    """A bot process of the test's own (for stopping it, or at DEBUG level)."""
    with running_bot(tmp_path / "bot", name="fresh bot", log_level="DEBUG") as own:
        yield own


@pytest.fixture(autouse=True)
def _mark_logs() -> None:
    """Each failing test reports only the log lines written while it ran."""
    for process in _LIVE:
        process.set_mark()


@pytest.fixture
def clear_faults(bot: BotProcess) -> Iterator[None]:
    """Faults a test injected but the bot did not use up are dropped afterwards."""
    yield
    bot.api.clear_faults()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Show the bot's stderr under a failing test."""
    report = yield
    if report.failed:
        for process in _LIVE:
            since = report.when == "call"
            report.sections.append(
                (f"{process.name} stderr ({report.when})", process.log(since_mark=since))
            )
    return report


def buttons(message: JSON) -> list[JSON]:
    """The inline buttons of a bot message, row after row."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [button for row in rows for button in row]


def labels(message: JSON) -> list[str]:
    """The labels of a bot message's inline buttons."""
    return [str(button["text"]) for button in buttons(message)]


def entity_text(message: JSON, kind: str) -> list[str]:
    """The parts of a message's text that carry an entity of *kind* (bold, italic...)."""
    raw = str(message.get("text", "")).encode("utf-16-le")
    return [
        raw[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le")
        for e in message.get("entities", [])
        if e["type"] == kind
    ]
