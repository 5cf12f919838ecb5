from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings, read_env_file

TOKEN = "123456:ABC-def_ghi"


def test_missing_token_explains_botfather() -> None:
    with pytest.raises(ConfigError) as error:
        load_settings({})
    assert "@BotFather" in str(error.value)
    assert "make chat" in str(error.value) and "make demo" in str(error.value)


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings({"TELEGRAM_BOT_TOKEN": TOKEN})
    assert settings.admin_ids == frozenset()
    assert settings.database == Path("data/esscard.sqlite3")
    assert settings.webhook_url is None
    assert settings.retention_days == 180
    assert TOKEN not in repr(settings)


def test_every_problem_is_listed_in_plain_words(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(
            {
                "TELEGRAM_BOT_TOKEN": "not-a-token",
                "BOT_ADMIN_IDS": "12, bob",
                "BOT_LOG_LEVEL": "LOUD",
                "TELEGRAM_API_BASE_URL": "localhost:8081",
                "BOT_KNOWLEDGE_DIR": str(tmp_path / "missing"),
                "BOT_WEBHOOK_PORT": "99999",
                "BOT_ANSWER_THRESHOLD": "2",
            }
        )
    message = str(error.value)
    for fragment in (
        "does not look like a bot token",
        "'bob'",
        "BOT_LOG_LEVEL",
        "TELEGRAM_API_BASE_URL",
        "BOT_KNOWLEDGE_DIR",
        "BOT_WEBHOOK_PORT",
        "BOT_ANSWER_THRESHOLD",
    ):
        assert fragment in message
    assert "not-a-token" not in message


def test_values_are_read(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "BOT_ADMIN_IDS": "1, 2,3",
            "TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081/bot",
            "BOT_DATABASE": str(tmp_path / "x.sqlite3"),
            "BOT_WEBHOOK_URL": "https://example.org/hook",
            "BOT_ANSWER_THRESHOLD": "0.7",
        }
    )
    assert settings.admin_ids == {1, 2, 3}
    assert settings.api_base_url == "http://127.0.0.1:8081/bot"
    assert settings.webhook_url == "https://example.org/hook"
    assert settings.thresholds.answer == 0.7


def test_env_file(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("# comment\nexport A=1\nB='two words'\n\nC=\"x=y\"\nnot a pair\n", "utf-8")
    assert read_env_file(env) == {"A": "1", "B": "two words", "C": "x=y"}
    assert read_env_file(tmp_path / "missing") == {}


def test_max_rate() -> None:
    assert load_settings({"TELEGRAM_BOT_TOKEN": TOKEN}).max_rate == 30.0
    assert load_settings({"TELEGRAM_BOT_TOKEN": TOKEN, "BOT_MAX_RATE": "0"}).max_rate == 0.0
    with pytest.raises(ConfigError, match="BOT_MAX_RATE"):
        load_settings({"TELEGRAM_BOT_TOKEN": TOKEN, "BOT_MAX_RATE": "fast"})


def test_a_plain_http_webhook_needs_the_local_development_flag() -> None:
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "BOT_WEBHOOK_URL": "http://bot.example.org/hook"}
    with pytest.raises(ConfigError) as error:
        load_settings(env)
    assert "https://" in str(error.value) and "BOT_WEBHOOK_ALLOW_HTTP=1" in str(error.value)
    for value in ("1", "yes", "TRUE"):
        settings = load_settings({**env, "BOT_WEBHOOK_ALLOW_HTTP": value})
        assert settings.webhook_allow_http and settings.webhook_url == env["BOT_WEBHOOK_URL"]
    https = {**env, "BOT_WEBHOOK_URL": "https://bot.example.org/hook"}
    assert not load_settings(https).webhook_allow_http
    with pytest.raises(ConfigError) as error:
        load_settings({**env, "BOT_WEBHOOK_ALLOW_HTTP": "maybe"})
    assert "BOT_WEBHOOK_ALLOW_HTTP='maybe' must be 1 (yes) or 0 (no)" in str(error.value)


@pytest.mark.parametrize("secret", ["x" * 257, "密钥密钥", "has space", "semi;colon"])
def test_a_webhook_secret_telegram_would_refuse_is_a_problem(secret: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings({"TELEGRAM_BOT_TOKEN": TOKEN, "BOT_WEBHOOK_SECRET": secret})
    assert "BOT_WEBHOOK_SECRET may use only" in str(error.value)
    assert secret not in str(error.value)
