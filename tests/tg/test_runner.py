"""``esscard-bot run``: settings errors, logging without the token, polling/webhook, shutdown."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from telegram.error import InvalidToken, NetworkError
from telegram.ext import Application

from bot.config import SECRET_CHARACTERS, load_settings
from bot.storage.sqlite import SqliteStorage
from bot.tg import runner
from bot.tg.app import ALLOWED_UPDATES
from tests.tg.conftest import BOT_USER, FIXTURE_KB, TOKEN, USER_ID

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


# -- the real process against a tiny Bot API server ------------------------------------------


class FakeBotApi(ThreadingHTTPServer):
    """Just enough Bot API for polling: one question, then empty long polls."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.delivered = False
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/bot"

    def handle_error(self, request: object, client_address: object) -> None:
        """A long poll cut short by the bot stopping is expected; stay quiet."""

    def methods(self) -> list[str]:
        with self.lock:
            return [method for method, _ in self.calls]


class _Handler(BaseHTTPRequestHandler):
    server: FakeBotApi

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        method = self.path.rsplit("/", 1)[-1]
        params: dict[str, Any] = {}
        if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            params = dict(parse_qsl(body.decode()))
        with self.server.lock:
            self.server.calls.append((method, params))
        result = self._result(method, params)
        payload = json.dumps({"ok": True, "result": result}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _result(self, method: str, params: dict[str, Any]) -> object:
        now = int(time.time())
        chat = {"id": USER_ID, "type": "private", "first_name": "张阿姨"}
        if method == "getMe":
            return {**BOT_USER, "can_join_groups": True, "can_read_all_group_messages": False}
        if method == "getUpdates":
            with self.server.lock:
                first, self.server.delivered = not self.server.delivered, True
            if not first:
                time.sleep(0.2)
                return []
            message = {
                "message_id": 1,
                "date": now,
                "chat": chat,
                "from": {"id": USER_ID, "is_bot": False, "first_name": "张阿姨"},
                "text": "电子社保卡怎么领",
            }
            return [{"update_id": 1, "message": message}]
        if method in ("sendMessage", "sendPhoto"):
            photo = [{"file_id": "f1", "file_unique_id": "u1", "width": 1, "height": 1}]
            extra = {"photo": photo} if method == "sendPhoto" else {"text": params.get("text")}
            return {"message_id": 2, "date": now, "chat": chat, "from": BOT_USER, **extra}
        return True


@pytest.fixture
def bot_api() -> Iterator[FakeBotApi]:
    server = FakeBotApi()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_the_real_process_answers_and_stops_cleanly_on_sigterm(
    bot_api: FakeBotApi, tmp_path: Path
) -> None:
    database = tmp_path / "bot.sqlite3"
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "BOT_"))
    }
    environment.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=bot_api.url,
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
    try:
        deadline = time.monotonic() + 30
        while "sendPhoto" not in bot_api.methods() and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()[1]
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    methods = bot_api.methods()
    assert methods[0] == "getMe"
    assert {"setMyCommands", "deleteWebhook", "getUpdates", "sendMessage"} <= set(methods)
    answer = next(params for method, params in bot_api.calls if method == "sendMessage")
    assert answer["text"].startswith("<b>怎样领取电子社保卡")
    assert "Bot @esscard_test_bot is ready" in err
    assert TOKEN not in err and TOKEN.split(":")[1] not in err
    with sqlite3.connect(database) as db:  # closed storage flushed the question log
        rows = db.execute("SELECT text, decision, entry_id FROM questions").fetchall()
    assert rows == [("电子社保卡怎么领", "answer", "apply-e-card")]
