"""Settings from the environment and an optional ``.env`` file, checked at start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from bot.core.decision import Thresholds

PACKAGE_KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
TOKEN_HELP = (
    "TELEGRAM_BOT_TOKEN is not set. To get a token, open Telegram, talk to @BotFather, send "
    "/newbot and follow the prompts; then put the token in a .env file beside this project "
    "(TELEGRAM_BOT_TOKEN=123456:ABC...) or in the environment.\n"
    "To try the bot without a token, run: esscard-bot chat"
)


class ConfigError(Exception):
    """The settings cannot be used; the message says what to fix, one problem a line."""


@dataclass(frozen=True)
class Settings:
    """Everything the bot reads from its environment."""

    token: str = field(repr=False)
    api_base_url: str | None = None
    admin_ids: frozenset[int] = frozenset()
    database: Path = Path("data/esscard.sqlite3")
    knowledge_dir: Path = PACKAGE_KNOWLEDGE
    log_level: str = "INFO"
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    retention_days: int = 180
    thresholds: Thresholds = field(default_factory=Thresholds)
    max_rate: float = 30.0
    """Bot API requests a second to chats, overall (Telegram's broadcast limit); 0: no limit."""
    semantic: str = "auto"
    """Sentence embeddings as a second signal: auto (when installed), on or off."""
    cache_dir: Path = Path("data/cache")
    """Where the phrasings' sentence vectors are kept between runs."""


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of a ``.env`` file; blank lines and ``#`` comments skipped."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def environment(env_file: Path | None = Path(".env")) -> dict[str, str]:
    """The ``.env`` file's values overridden by the real environment."""
    values = read_env_file(env_file) if env_file else {}
    values.update(os.environ)
    return values


def default_knowledge_dir(env: Mapping[str, str]) -> Path:
    """``BOT_KNOWLEDGE_DIR``, else ``./knowledge``, else the one beside the package."""
    if env.get("BOT_KNOWLEDGE_DIR"):
        return Path(env["BOT_KNOWLEDGE_DIR"])
    local = Path("knowledge")
    return local if local.is_dir() else PACKAGE_KNOWLEDGE


SEMANTIC_SETTINGS = ("auto", "on", "off")


def load_meaning(env: Mapping[str, str], errors: list[str]) -> tuple[str, Path]:
    """``BOT_SEMANTIC`` (auto, on or off) and ``BOT_CACHE_DIR`` (default: a ``cache`` folder
    beside the database)."""
    semantic = env.get("BOT_SEMANTIC", "").strip().lower() or "auto"
    if semantic not in SEMANTIC_SETTINGS:
        errors.append(
            f"BOT_SEMANTIC={semantic!r} must be auto (use the sentence model when it is "
            "installed), on (it must be) or off (never)."
        )
        semantic = "auto"
    database = Path(env.get("BOT_DATABASE", "").strip() or "data/esscard.sqlite3")
    cache = env.get("BOT_CACHE_DIR", "").strip()
    return semantic, Path(cache) if cache else database.parent / "cache"


def load_thresholds(env: Mapping[str, str], errors: list[str]) -> Thresholds:
    """Matcher thresholds, overridable for tuning; each must lie in [0, 1]."""
    defaults = Thresholds()
    values = {}
    for name, key in (
        ("answer", "BOT_ANSWER_THRESHOLD"),
        ("margin", "BOT_ANSWER_MARGIN"),
        ("suggest", "BOT_SUGGEST_THRESHOLD"),
    ):
        raw = env.get(key, "").strip()
        if not raw:
            values[name] = getattr(defaults, name)
            continue
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not 0.0 <= value <= 1.0:
            errors.append(f"{key}={raw!r} must be a number between 0 and 1.")
            value = getattr(defaults, name)
        values[name] = value
    return Thresholds(**values)


def _url(env: Mapping[str, str], key: str, errors: list[str]) -> str | None:
    raw = env.get(key, "").strip()
    if not raw:
        return None
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        errors.append(
            f"{key}={raw!r} is not a web address; it should look like https://host/path."
        )
    return raw


def load_settings(env: Mapping[str, str] | None = None, *, require_token: bool = True) -> Settings:
    """Read and check every setting; raise ``ConfigError`` listing every problem."""
    env = environment() if env is None else env
    errors: list[str] = []
    token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
    if require_token and not token:
        raise ConfigError(TOKEN_HELP)
    if token and (":" not in token or not token.split(":", 1)[0].isdigit()):
        errors.append(
            "TELEGRAM_BOT_TOKEN does not look like a bot token (digits, a colon, then letters); "
            "copy it again from @BotFather."
        )
    admin_ids: set[int] = set()
    for part in env.get("BOT_ADMIN_IDS", "").replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if part.lstrip("-").isdigit():
            admin_ids.add(int(part))
        else:
            errors.append(
                f"BOT_ADMIN_IDS has {part!r}, which is not a Telegram user id (a number); "
                "separate several ids with commas."
            )
    level = env.get("BOT_LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if level not in LOG_LEVELS:
        errors.append(f"BOT_LOG_LEVEL={level!r} must be one of {', '.join(LOG_LEVELS)}.")
    knowledge_dir = default_knowledge_dir(env)
    if not knowledge_dir.is_dir():
        errors.append(f"BOT_KNOWLEDGE_DIR={str(knowledge_dir)!r} is not a folder.")
    port_raw = env.get("BOT_WEBHOOK_PORT", "8443").strip() or "8443"
    port = int(port_raw) if port_raw.isdigit() else 0
    if not 0 < port < 65536:
        errors.append(f"BOT_WEBHOOK_PORT={port_raw!r} must be a port number (1-65535).")
    retention_raw = env.get("BOT_RETENTION_DAYS", "180").strip() or "180"
    if not retention_raw.isdigit() or int(retention_raw) < 1:
        errors.append(
            f"BOT_RETENTION_DAYS={retention_raw!r} must be a whole number of days (1 or more)."
        )
    max_rate_raw = env.get("BOT_MAX_RATE", "").strip() or "30"
    try:
        max_rate = float(max_rate_raw)
    except ValueError:
        max_rate = -1.0
    if not 0 <= max_rate <= 10_000:
        errors.append(
            f"BOT_MAX_RATE={max_rate_raw!r} must be a number of messages a second (0 = no limit)."
        )
        max_rate = 30.0
    webhook_secret = env.get("BOT_WEBHOOK_SECRET", "").strip() or None
    if webhook_secret and not all(c.isalnum() or c in "_-" for c in webhook_secret):
        errors.append(
            "BOT_WEBHOOK_SECRET may use only letters, digits, '_' and '-' (1-256 of them)."
        )
    semantic, cache_dir = load_meaning(env, errors)
    settings = Settings(
        token=token,
        api_base_url=_url(env, "TELEGRAM_API_BASE_URL", errors),
        admin_ids=frozenset(admin_ids),
        database=Path(env.get("BOT_DATABASE", "").strip() or "data/esscard.sqlite3"),
        knowledge_dir=knowledge_dir,
        log_level=level,
        webhook_url=_url(env, "BOT_WEBHOOK_URL", errors),
        webhook_secret=webhook_secret,
        webhook_listen=env.get("BOT_WEBHOOK_LISTEN", "").strip() or "127.0.0.1",
        webhook_port=port if 0 < port < 65536 else 8443,
        retention_days=int(retention_raw) if retention_raw.isdigit() else 180,
        thresholds=load_thresholds(env, errors),
        max_rate=max_rate,
        semantic=semantic,
        cache_dir=cache_dir,
    )
    if errors:
        raise ConfigError("\n".join(errors))
    return settings
