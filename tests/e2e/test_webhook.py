"""Webhook mode: python-telegram-bot's own web server receives updates, checking the secret."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import WAIT, BotProcess, entity_text, running_bot

SECRET_TOKEN = "hook_Secret-42"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def post(url: str, update: dict[str, object], secret: str) -> int:
    """POST *update* as Telegram would; the HTTP status."""
    request = urllib.request.Request(
        url,
        data=json.dumps(update).encode(),
        headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
    )
    try:
        with urllib.request.urlopen(request, timeout=WAIT) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture(scope="module")
def hooked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BotProcess, str]]:
    """A bot in webhook mode, and the URL its server listens on."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/esscard-hook"
    settings = {
        "BOT_WEBHOOK_URL": url,
        "BOT_WEBHOOK_SECRET": SECRET_TOKEN,
        "BOT_WEBHOOK_LISTEN": "127.0.0.1",
        "BOT_WEBHOOK_PORT": str(port),
    }
    home: Path = tmp_path_factory.mktemp("webhook-bot")
    with running_bot(home, name="webhook bot", settings=settings) as bot:
        deadline = time.monotonic() + WAIT
        while bot.api.state()["webhook_url"] != url:
            bot.assert_running()
            assert time.monotonic() < deadline, f"setWebhook never came:\n{bot.log()}"
            time.sleep(0.05)
        yield bot, url
        assert bot.stop() == 0


def test_the_webhook_is_registered_and_an_update_is_answered(
    hooked: tuple[BotProcess, str],
) -> None:
    bot, url = hooked
    pushed = bot.api.send_text(4001, "电子社保卡怎么领")
    deadline = time.monotonic() + WAIT
    while (status := post(url, pushed.update, SECRET_TOKEN)) != 200:
        bot.assert_running()  # the web server may still be starting
        assert time.monotonic() < deadline, f"webhook answered {status}:\n{bot.log()}"
        time.sleep(0.1)
    (answer, *_) = bot.api.wait_for(4001, 1, WAIT, since=pushed.seq)
    assert entity_text(answer, "bold") == ["怎样领取电子社保卡"]


def test_an_update_without_the_secret_is_refused(hooked: tuple[BotProcess, str]) -> None:
    bot, url = hooked
    pushed = bot.api.send_text(4002, "电子社保卡怎么领")
    assert post(url, pushed.update, "wrong-secret") == 403
    assert post(url, pushed.update, "") == 403
    assert bot.api.messages(4002, since=pushed.seq) == []
