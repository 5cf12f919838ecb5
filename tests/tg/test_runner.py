"""``esscard-bot run``: settings errors, logging without the token, polling/webhook, shutdown."""

from __future__ import annotations

import io
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from telegram.error import InvalidToken, NetworkError
from telegram.ext import Application

from bot.config import SECRET_CHARACTERS, load_settings
from bot.storage.sqlite import SqliteStorage
from bot.tg import runner
from bot.tg.app import ALLOWED_UPDATES
from tests.fakebotapi import FakeBotApiServer
from tests.tg.conftest import FIXTURE_KB, TOKEN, USER_ID

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """A clean environment (no .env) with a token and the fixture knowledge base."""
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith(("TELEGRAM_", "BOT_")):
            monkeypatch.delenv(key)
    values = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "BOT_KNOWLEDGE_DIR": str(FIXTURE_KB),
        "BOT_DATABASE": str(tmp_path / "db" / "bot.sqlite3"),
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """run() reconfigures the root logger; put pytest's handlers back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    httpx_level = logging.getLogger("httpx").level
    webhook = logging.getLogger(runner.WEBHOOK_LOGGER)
    webhook_level, webhook_filters = webhook.level, webhook.filters[:]
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(httpx_level)
    webhook.setLevel(webhook_level)
    webhook.filters[:] = webhook_filters


class Recorder:
    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.error = error

    def patch(self, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
        def fake(app: Application[Any, Any, Any, Any, Any, Any], **kwargs: Any) -> None:
            self.calls.append((name, kwargs))
            if self.error is not None:
                raise self.error

        monkeypatch.setattr(Application, name, fake)


def test_missing_token_explains_botfather_and_chat(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN")
    assert runner.run() == 2
    err = capsys.readouterr().err
    assert "@BotFather" in err and "make chat" in err and ".venv/bin/esscard-bot chat" in err


def test_broken_knowledge_base_prints_every_problem(
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    kb = tmp_path / "broken"
    kb.mkdir()
    (kb / "a.yaml").write_text("entries:\n  - id: Not_Valid\n    title: x\n", "utf-8")
    monkeypatch.setenv("BOT_KNOWLEDGE_DIR", str(kb))
    assert runner.run() == 1
    err = capsys.readouterr().err
    assert f"{kb / 'a.yaml'}:2:" in err


def test_polling_by_default(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = Recorder()
    recorder.patch(monkeypatch, "run_polling")
    assert runner.run() == 0
    [(_, kwargs)] = recorder.calls
    assert kwargs == {"allowed_updates": ALLOWED_UPDATES, "drop_pending_updates": False}


def test_webhook_when_configured(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_WEBHOOK_URL", "https://bot.example.org/tg/hook")
    monkeypatch.setenv("BOT_WEBHOOK_SECRET", "s3cret_value-1")
    monkeypatch.setenv("BOT_WEBHOOK_LISTEN", "0.0.0.0")
    monkeypatch.setenv("BOT_WEBHOOK_PORT", "8080")
    recorder = Recorder()
    recorder.patch(monkeypatch, "run_webhook")
    assert runner.run() == 0
    [(_, kwargs)] = recorder.calls
    assert kwargs == {
        "listen": "0.0.0.0",
        "port": 8080,
        "url_path": "tg/hook",
        "webhook_url": "https://bot.example.org/tg/hook",
        "secret_token": "s3cret_value-1",
        "allowed_updates": ALLOWED_UPDATES,
        "drop_pending_updates": False,
    }


def test_a_webhook_without_a_secret_gets_a_random_one(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOT_WEBHOOK_URL", "https://bot.example.org/tg/hook")
    secrets = []
    for _ in range(2):
        recorder = Recorder()
        recorder.patch(monkeypatch, "run_webhook")
        assert runner.run() == 0
        [(_, kwargs)] = recorder.calls
        secrets.append(kwargs["secret_token"])
    assert secrets[0] != secrets[1]  # a new one each run, registered by run_webhook
    assert all(len(secret) >= 32 and set(secret) <= SECRET_CHARACTERS for secret in secrets)
    err = capsys.readouterr().err
    assert "BOT_WEBHOOK_SECRET is not set" in err
    assert not any(secret in err for secret in secrets)


def test_refused_webhook_requests_are_one_info_line_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = [0.0]
    server_log = logging.getLogger("tests.webhook")
    server_log.setLevel(logging.DEBUG)
    server_log.addFilter(runner.WebhookRefusals(logging.INFO, clock=lambda: clock[0]))
    with caplog.at_level(logging.DEBUG, logger="tests.webhook"):
        for second in range(150):  # a forged request a second for 150 s, as PTB logs them
            clock[0] = float(second)
            server_log.debug("Request did not include the secret token")
            server_log.debug("Request had the wrong secret token: %s", "guess")
        server_log.debug("Webhook triggered")  # its other DEBUG lines, at INFO: not shown
        server_log.warning("Something else")
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in lines] == ["INFO", "INFO", "INFO", "WARNING"]
    assert lines[0][1].startswith("Refused a webhook request without the right secret token")
    assert lines[1][1] == "Refused 120 webhook request(s) without the right secret token in 60 s."
    assert "guess" not in caplog.text


def test_a_rejected_token_exits_2(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    Recorder(InvalidToken("Unauthorized")).patch(monkeypatch, "run_polling")
    assert runner.run() == 2
    assert "@BotFather" in capsys.readouterr().err


def test_an_unreachable_api_exits_1_without_showing_the_token(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    error = NetworkError(f"ConnectError: https://api.telegram.org/bot{TOKEN}/getMe")
    Recorder(error).patch(monkeypatch, "run_polling")
    assert runner.run() == 1
    err = capsys.readouterr().err
    assert "Cannot reach the Telegram Bot API" in err
    assert TOKEN not in err and TOKEN.split(":")[1] not in err


def test_storage_is_sqlite_at_bot_database(env: dict[str, str]) -> None:
    settings = load_settings()
    storage = runner.make_storage(settings)
    assert isinstance(storage, SqliteStorage)
    assert storage.file == Path(env["BOT_DATABASE"])


def test_logging_hides_the_token_and_quiets_httpx(env: dict[str, str]) -> None:
    settings = load_settings()
    runner.configure_logging(settings)
    stream = io.StringIO()
    [handler] = logging.getLogger().handlers
    handler.setStream(stream)  # type: ignore[attr-defined]
    assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING
    log = logging.getLogger("bot.test")
    log.warning("POST https://api.telegram.org/bot%s/getMe", TOKEN)
    try:
        raise NetworkError(f"failed: https://api.telegram.org/bot{TOKEN}/sendMessage")
    except NetworkError:
        log.exception("request failed")
    log.warning("user typed 13812345678")
    output = stream.getvalue()
    assert "getMe" in output and "request failed" in output and "sendMessage" in output
    assert TOKEN not in output and TOKEN.split(":")[1] not in output
    assert output.count(runner.TOKEN_MASK) == 2
    assert "13812345678" not in output


# -- the real process against the fake Bot API ---------------------------------------------


@pytest.fixture
def bot_api() -> Iterator[FakeBotApiServer]:
    with FakeBotApiServer(TOKEN) as server:
        yield server


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_the_real_process_answers_and_stops_cleanly_on_sigterm(
    bot_api: FakeBotApiServer, tmp_path: Path
) -> None:
    database = tmp_path / "bot.sqlite3"
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "BOT_"))
    }
    environment.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=bot_api.bot_api_url,
        BOT_KNOWLEDGE_DIR=str(FIXTURE_KB),
        BOT_DATABASE=str(database),
        BOT_LOG_LEVEL="DEBUG",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    api = bot_api.client(timeout=30)
    try:
        deadline = time.monotonic() + 30
        while "setMyCommands" not in [call["method"] for call in api.sent()]:
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        api.send_text(USER_ID, "电子社保卡怎么领")
        api.wait_calls("sendPhoto")
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    methods = [call["method"] for call in api.sent()]
    assert methods[0] == "getMe"
    assert {"setMyCommands", "deleteWebhook", "sendMessage"} <= set(methods)
    assert api.state()["pending_updates"] == 0  # polled with getUpdates, the update confirmed
    answer = next(call["params"] for call in api.sent(method="sendMessage"))
    assert answer["text"].startswith("<b>怎样领取电子社保卡")
    assert "Bot @esscard_test_bot is ready" in err
    assert TOKEN not in err and TOKEN.split(":")[1] not in err
    with sqlite3.connect(database) as db:  # closed storage flushed the question log
        rows = db.execute("SELECT text, decision, entry_id FROM questions").fetchall()
    assert rows == [("电子社保卡怎么领", "answer", "apply-e-card")]
