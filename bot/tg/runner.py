"""``esscard-bot run``: settings, logging, the FAQ and storage, then polling or a webhook."""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import secrets
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from urllib.parse import urlparse

from telegram.error import InvalidToken, NetworkError, TelegramError

from bot.config import ConfigError, Settings, load_settings
from bot.core.faq import Faq, Meaning
from bot.core.knowledge import KnowledgeError
from bot.core.privacy import RedactingFilter
from bot.storage.base import Storage
from bot.tg.app import ALLOWED_UPDATES, build_application

log = logging.getLogger(__name__)

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
TOKEN_MASK = "[TOKEN]"
STARTUP_FAILURE = "Network Retry Loop (Bootstrap"
"""How python-telegram-bot's log of a failed getMe, deleteWebhook or setWebhook at start begins."""
WEBHOOK_LOGGER = "telegram.ext.Updater"
"""Where python-telegram-bot's webhook server logs (with its updater)."""
REFUSED_WEBHOOK = ("Request did not include the secret token", "Request had the wrong secret")


class TokenFilter(logging.Filter):
    """Replaces the bot token (and its secret half) in every record, tracebacks included."""

    def __init__(self, *secrets: str | None) -> None:
        super().__init__()
        parts: set[str] = set()
        for secret in secrets:
            if secret:
                parts.add(secret)
                if ":" in secret:
                    parts.add(secret.split(":", 1)[1])
        self.secrets = sorted((part for part in parts if len(part) >= 8), key=len, reverse=True)

    def clean(self, text: str) -> str:
        """*text* with every secret masked."""
        for secret in self.secrets:
            text = text.replace(secret, TOKEN_MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message and traceback text; never drops a record."""
        if not self.secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler to report
            return True
        cleaned = self.clean(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.clean(record.exc_text)
        if record.stack_info:
            record.stack_info = self.clean(record.stack_info)
        return True


class StartupFailureFilter(logging.Filter):
    """Drops python-telegram-bot's error record of a failed start, with its 50 to 110 lines of
    traceback: ``run`` says what is wrong in plain words instead. Not installed at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False for PTB's "Network Retry Loop (Bootstrap ...)" errors."""
        if record.levelno < logging.ERROR or not record.name.startswith("telegram"):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler to report
            return True
        return not message.startswith(STARTUP_FAILURE)


class WebhookRefusals(logging.Filter):
    """python-telegram-bot's webhook server logs each request it refuses for a missing or
    wrong secret at DEBUG (with the wrong secret in it). This turns them into one INFO line
    now and then, with a count, and leaves that logger's other records to the usual level."""

    def __init__(
        self, level: int, seconds: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.level = level
        self.seconds = seconds
        self.clock = clock
        self.refused = 0
        self.since: float | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        """Count a refusal (reported at most once in *seconds*); pass others by level."""
        if not str(record.msg).startswith(REFUSED_WEBHOOK):
            return record.levelno >= self.level
        self.refused += 1
        now = self.clock()
        if self.since is not None and now - self.since < self.seconds:
            return False
        record.levelno, record.levelname = logging.INFO, "INFO"
        if self.since is None:
            record.msg = (
                "Refused a webhook request without the right secret token (HTTP 403): it may "
                "be forged. Further refusals are counted and reported at most once a minute."
            )
            record.args = None
        else:
            record.msg = "Refused %d webhook request(s) without the right secret token in %.0f s."
            record.args = (self.refused, now - self.since)
        self.refused, self.since = 0, now
        return self.level <= logging.INFO


def configure_logging(settings: Settings) -> None:
    """Log to stderr at the configured level, never the token nor personal data."""
    logging.basicConfig(format=LOG_FORMAT, level=settings.log_level, force=True)
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    for handler in logging.getLogger().handlers:
        handler.addFilter(TokenFilter(settings.token, settings.webhook_secret, settings.hash_key))
        handler.addFilter(RedactingFilter())
        if settings.log_level != "DEBUG":
            handler.addFilter(StartupFailureFilter())
    webhook = logging.getLogger(WEBHOOK_LOGGER)
    for old in [f for f in webhook.filters if isinstance(f, WebhookRefusals)]:
        webhook.removeFilter(old)
    webhook.addFilter(WebhookRefusals(logging.getLevelName(settings.log_level)))
    webhook.setLevel(logging.DEBUG)  # so that refusals reach the filter at any level


def enable_fault_handler() -> None:
    """A fatal signal (SIGSEGV, SIGBUS...) still leaves a traceback on stderr, with the log."""
    stream = sys.__stderr__ or sys.stderr
    with contextlib.suppress(AttributeError, ValueError, OSError):  # a stream without a file
        faulthandler.enable(stream)


def make_storage(settings: Settings) -> Storage:
    """SQLite storage at ``BOT_DATABASE``; in memory if the SQLite module is unavailable."""
    try:
        from bot.storage.sqlite import SqliteStorage
    except ImportError as error:  # pragma: no cover - only without aiosqlite
        from bot.storage.memory import MemoryStorage

        log.warning("SQLite storage unavailable (%s); keeping everything in memory.", error)
        return MemoryStorage()
    from bot.storage.keys import hash_key

    return SqliteStorage(
        settings.database, retention_days=settings.retention_days, key=hash_key(settings)
    )


def _add_meaning(faq: Faq, meaning: Meaning) -> None:
    """Index the phrasings' sentence vectors, then answer with them too."""
    started = time.monotonic()
    try:
        faq.add_meaning(meaning)
    except Exception:  # the bot keeps answering from words alone
        log.exception("Semantic matching could not start; answering from words alone.")
        return
    log.info("Semantic matching is on (ready in %.1f s).", time.monotonic() - started)


def run() -> int:
    """Start the bot and serve until stopped (SIGINT/SIGTERM); return the exit code."""
    try:
        settings = load_settings()
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    generated = bool(settings.webhook_url and not settings.webhook_secret)
    if generated:
        settings = replace(settings, webhook_secret=secrets.token_urlsafe(32))
    configure_logging(settings)
    if generated:
        log.info(
            "BOT_WEBHOOK_SECRET is not set: a random secret token for this run is registered "
            "with setWebhook, and requests without it are refused."
        )
    enable_fault_handler()
    mask = TokenFilter(settings.token).clean
    try:
        meaning = Meaning.load(settings.semantic, settings.cache_dir)
    except RuntimeError as error:
        print(f"BOT_SEMANTIC=on, but {error}", file=sys.stderr)
        return 2
    try:
        faq = Faq(settings.knowledge_dir, settings.thresholds)
    except KnowledgeError as error:
        print("The knowledge base has problems:", file=sys.stderr)
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 1
    if meaning is None:
        log.info("Semantic matching is off.")
    else:  # the first start embeds every phrasing (~20 s); the words answer meanwhile
        threading.Thread(target=_add_meaning, args=(faq, meaning), daemon=True).start()
    application = build_application(settings, faq, make_storage(settings))
    log.info(
        "Starting with %d entries from %s (%s).",
        len(faq.kb.entries),
        settings.knowledge_dir,
        "webhook" if settings.webhook_url else "long polling",
    )
    try:
        if settings.webhook_url:
            application.run_webhook(
                listen=settings.webhook_listen,
                port=settings.webhook_port,
                url_path=urlparse(settings.webhook_url).path.lstrip("/"),
                webhook_url=settings.webhook_url,
                secret_token=settings.webhook_secret,
                allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=False,
            )
        else:
            application.run_polling(allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False)
    except InvalidToken:
        where = f"The Bot API at {settings.api_base_url}" if settings.api_base_url else "Telegram"
        print(
            f"{where} rejected TELEGRAM_BOT_TOKEN.\n"
            "Copy it again from @BotFather (/mybots -> your bot -> API Token) into .env or the "
            "environment.",
            file=sys.stderr,
        )
        return 2
    except NetworkError as error:
        where = settings.api_base_url or "api.telegram.org"
        print(
            f"Cannot reach the Telegram Bot API at {where} ({mask(str(error))}).\n"
            "Check this machine's internet access or proxy"
            + (", and TELEGRAM_API_BASE_URL." if settings.api_base_url else "."),
            file=sys.stderr,
        )
        return 1
    except TelegramError as error:
        print(f"Telegram refused to start the bot: {mask(str(error))}", file=sys.stderr)
        return 1
    return 0
