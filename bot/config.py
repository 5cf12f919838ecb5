"""Settings from the environment and an optional ``.env`` file, checked at start."""

from __future__ import annotations

import os
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from bot.core.decision import Thresholds

PACKAGE_KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"
KEY_FILE_NAME = Path("esscard-bot") / "hash.key"
MIN_KEY_CHARS = 32
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
SECRET_CHARACTERS = frozenset(string.ascii_letters + string.digits + "_-")
"""What Telegram accepts in a webhook's secret_token."""
TOKEN_HELP = (
    "TELEGRAM_BOT_TOKEN is not set. To get a token, open Telegram, talk to @BotFather, send "
    "/newbot and follow the prompts; then put the token in a .env file beside this project "
    "(TELEGRAM_BOT_TOKEN=123456:ABC...) or in the environment.\n"
    "To try the bot without a token: make chat (a console chat), make demo (the real bot "
    "against a local fake Telegram), or .venv/bin/esscard-bot chat once installed."
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
    webhook_allow_http: bool = False
    """``BOT_WEBHOOK_ALLOW_HTTP``: a plain http:// webhook URL, for local development only."""
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    retention_days: int = 180
    thresholds: Thresholds = field(default_factory=Thresholds)
    max_rate: float = 30.0
    """Bot API requests a second to chats, overall (Telegram's broadcast limit); 0: no limit."""
    hash_key: str | None = field(default=None, repr=False)
    """``BOT_HASH_KEY``: the secret that keys the stored hashes of user ids."""
    hash_key_file: Path | None = None
    """Where the key is kept when ``BOT_HASH_KEY`` is not set (made on first start)."""
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


def default_key_file(env: Mapping[str, str]) -> Path | None:
    """``BOT_HASH_KEY_FILE``, else ``hash.key`` in the user's config folder (None if the user
    has no home folder)."""
    if env.get("BOT_HASH_KEY_FILE", "").strip():
        return Path(env["BOT_HASH_KEY_FILE"].strip()).expanduser()
    config = env.get("XDG_CONFIG_HOME", "").strip()
    if config and Path(config).is_absolute():
        return Path(config) / KEY_FILE_NAME
    home = env.get("HOME", "").strip()
    if not home:
        try:
            home = str(Path.home())
        except RuntimeError:
            return None
    return Path(home) / ".config" / KEY_FILE_NAME


def _check_key(
    env: Mapping[str, str], key_file: Path | None, database: Path, errors: list[str]
) -> None:
    """The hash key must be long enough, and its file must not travel with the data."""
    key = env.get("BOT_HASH_KEY", "").strip()
    if key:
        if len(key) < MIN_KEY_CHARS:
            errors.append(
                f"BOT_HASH_KEY is {len(key)} characters long; use at least {MIN_KEY_CHARS} "
                "random ones, e.g. the output of: python3 -c 'import secrets; "
                "print(secrets.token_hex(32))'."
            )
        return
    if key_file is None:
        errors.append(
            "There is no home folder for the hash key file: set BOT_HASH_KEY_FILE (a path "
            "outside the database folder) or BOT_HASH_KEY."
        )
        return
    data = database.expanduser().resolve().parent
    if key_file.resolve().is_relative_to(data):
        errors.append(
            f"BOT_HASH_KEY_FILE={str(key_file)!r} is inside the database folder {str(data)!r}: "
            "a copy of that folder would carry the key that protects the stored user ids. "
            "Put it elsewhere, e.g. ~/.config/esscard-bot/hash.key."
        )


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


def _flag(env: Mapping[str, str], key: str, errors: list[str]) -> bool:
    raw = env.get(key, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    errors.append(f"{key}={raw!r} must be 1 (yes) or 0 (no).")
    return False


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
    if webhook_secret and (
        len(webhook_secret) > 256 or not all(c in SECRET_CHARACTERS for c in webhook_secret)
    ):
        errors.append(
            "BOT_WEBHOOK_SECRET may use only letters, digits, '_' and '-' (1-256 of them)."
        )
    allow_http = _flag(env, "BOT_WEBHOOK_ALLOW_HTTP", errors)
    webhook_url = _url(env, "BOT_WEBHOOK_URL", errors)
    if webhook_url and urlparse(webhook_url).scheme == "http" and not allow_http:
        errors.append(
            f"BOT_WEBHOOK_URL={webhook_url!r} is plain http://: Telegram sends webhooks only "
            "to https:// addresses, and over plain HTTP anyone on the way can read the updates "
            "and the secret and forge new ones. Use the https:// address of your proxy; for "
            "local development only (e.g. against a local fake Bot API), set "
            "BOT_WEBHOOK_ALLOW_HTTP=1."
        )
    database = Path(env.get("BOT_DATABASE", "").strip() or "data/esscard.sqlite3")
    key_file = default_key_file(env)
    _check_key(env, key_file, database, errors)
    semantic, cache_dir = load_meaning(env, errors)
    settings = Settings(
        token=token,
        api_base_url=_url(env, "TELEGRAM_API_BASE_URL", errors),
        admin_ids=frozenset(admin_ids),
        database=database,
        knowledge_dir=knowledge_dir,
        log_level=level,
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        webhook_allow_http=allow_http,
        webhook_listen=env.get("BOT_WEBHOOK_LISTEN", "").strip() or "127.0.0.1",
        webhook_port=port if 0 < port < 65536 else 8443,
        retention_days=int(retention_raw) if retention_raw.isdigit() else 180,
        thresholds=load_thresholds(env, errors),
        max_rate=max_rate,
        hash_key=env.get("BOT_HASH_KEY", "").strip() or None,
        hash_key_file=key_file,
        semantic=semantic,
        cache_dir=cache_dir,
    )
    if errors:
        raise ConfigError("\n".join(errors))
    return settings
