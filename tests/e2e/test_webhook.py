"""Webhook mode: python-telegram-bot's own web server receives updates, checking the secret."""

from __future__ import annotations

import contextlib
import json
import socket
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import ADMIN_ID, WAIT, BotProcess, entity_text, running_bot

SECRET_TOKEN = "hook_Secret-42"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def post(url: str, update: dict[str, object], secret: str | None) -> int:
    """POST *update* as Telegram would (*secret*: its header, None: none); the HTTP status (0:
    refused)."""
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    request = urllib.request.Request(url, data=json.dumps(update).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=WAIT) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except urllib.error.URLError:  # the web server starts after setWebhook
        return 0


@contextlib.contextmanager
def webhook_bot(home: Path, secret: str | None) -> Iterator[tuple[BotProcess, str]]:
    """A bot in webhook mode (plain HTTP on 127.0.0.1: the local-development flag is set),
    and the URL its server listens on."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/esscard-hook"
    settings = {
        "BOT_WEBHOOK_URL": url,
        "BOT_WEBHOOK_LISTEN": "127.0.0.1",
        "BOT_WEBHOOK_PORT": str(port),
        "BOT_WEBHOOK_ALLOW_HTTP": "1",
    }
    if secret is not None:
        settings["BOT_WEBHOOK_SECRET"] = secret
    with running_bot(home, name="webhook bot", settings=settings) as bot:
        deadline = time.monotonic() + WAIT
        while bot.api.state()["webhook_url"] != url:
            bot.assert_running()
            assert time.monotonic() < deadline, f"setWebhook never came:\n{bot.log()}"
            time.sleep(0.05)
        yield bot, url
        assert bot.stop() == 0


@pytest.fixture(scope="module")
def hooked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BotProcess, str]]:
    """A webhook bot with BOT_WEBHOOK_SECRET set."""
    with webhook_bot(tmp_path_factory.mktemp("webhook-bot"), SECRET_TOKEN) as hooked:
        yield hooked


@pytest.fixture(scope="module")
def unset(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BotProcess, str]]:
    """A webhook bot without BOT_WEBHOOK_SECRET (issue 12 §4)."""
    with webhook_bot(tmp_path_factory.mktemp("webhook-bot-unset"), None) as hooked:
        yield hooked


def registered_secret(bot: BotProcess) -> str:
    """The secret_token the bot gave setWebhook ("" if none)."""
    [call] = bot.api.sent(method="setWebhook")
    return str(call["params"].get("secret_token") or "")


def deliver(bot: BotProcess, url: str, update: dict[str, object], secret: str) -> None:
    """POST *update* with *secret* until the web server, maybe still starting, takes it."""
    deadline = time.monotonic() + WAIT
    while (status := post(url, update, secret)) != 200:
        bot.assert_running()
        assert time.monotonic() < deadline, f"webhook answered {status}:\n{bot.log()}"
        time.sleep(0.1)


def test_the_webhook_is_registered_and_an_update_is_answered(
    hooked: tuple[BotProcess, str],
) -> None:
    bot, url = hooked
    assert registered_secret(bot) == SECRET_TOKEN
    pushed = bot.api.send_text(4001, "电子社保卡怎么领")
    deliver(bot, url, pushed.update, SECRET_TOKEN)
    (answer, *_) = bot.api.wait_for(4001, 1, WAIT, since=pushed.seq)
    assert entity_text(answer, "bold") == ["怎样领取电子社保卡"]


def test_an_update_without_the_secret_is_refused(hooked: tuple[BotProcess, str]) -> None:
    bot, url = hooked
    pushed = bot.api.send_text(4002, "电子社保卡怎么领")
    assert post(url, pushed.update, "wrong-secret") == 403
    assert post(url, pushed.update, "") == 403
    assert bot.api.messages(4002, since=pushed.seq) == []


def test_without_a_configured_secret_one_is_made_and_registered(
    unset: tuple[BotProcess, str],
) -> None:
    bot, url = unset
    secret = registered_secret(bot)
    assert len(secret) >= 32
    assert secret not in bot.output()  # a secret, like the token
    pushed = bot.api.send_text(4003, "电子社保卡怎么领")
    deliver(bot, url, pushed.update, secret)
    (answer, *_) = bot.api.wait_for(4003, 1, WAIT, since=pushed.seq)
    assert entity_text(answer, "bold") == ["怎样领取电子社保卡"]


def test_a_forged_admin_update_is_refused_and_changes_nothing(
    unset: tuple[BotProcess, str],
) -> None:
    bot, url = unset
    deliver(bot, url, bot.api.send_text(4004, "你好").update, registered_secret(bot))  # ready
    learned = bot.knowledge / "learned.yaml"
    before = learned.read_bytes() if learned.exists() else None
    forged = bot.api.send_text(ADMIN_ID, "/teach 护照怎么办理 => apply-e-card")
    statuses = {post(url, forged.update, secret) for secret in [None, "", "guess"] * 20}
    assert statuses == {403}
    time.sleep(0.5)  # anything the forged updates started would show now
    assert (learned.read_bytes() if learned.exists() else None) == before
    assert bot.api.messages(ADMIN_ID, since=forged.seq) == []
    with contextlib.closing(sqlite3.connect(bot.database)) as db:
        assert db.execute("SELECT COUNT(*) FROM admin_actions").fetchone() == (0,)
    log = bot.log(since_mark=True)
    noted = [line for line in log.splitlines() if "webhook request" in line]
    assert len(noted) == 1 and " INFO " in noted[0], noted  # for 60 refusals
    assert "guess" not in log and " WARNING " not in log and " ERROR " not in log
