"""``esscard-bot run``: settings, logging, the FAQ and storage, then polling or a webhook."""

from __future__ import annotations

import logging
import sys
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


def configure_logging(settings: Settings) -> None:
    """Log to stderr at the configured level, never the token nor personal data."""
    logging.basicConfig(format=LOG_FORMAT, level=settings.log_level, force=True)
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    for handler in logging.getLogger().handlers:
        handler.addFilter(TokenFilter(settings.token, settings.webhook_secret))
        handler.addFilter(RedactingFilter())


def make_storage(settings: Settings) -> Storage:
    """SQLite storage at ``BOT_DATABASE``; in memory if the SQLite module is unavailable."""
    try:
        from bot.storage.sqlite import SqliteStorage
    except ImportError as error:  # pragma: no cover - only without aiosqlite
        from bot.storage.memory import MemoryStorage

        log.warning("SQLite storage unavailable (%s); keeping everything in memory.", error)
        return MemoryStorage()
    return SqliteStorage(settings.database, retention_days=settings.retention_days)


def run() -> int:
    """Start the bot and serve until stopped (SIGINT/SIGTERM); return the exit code."""
    try:
        settings = load_settings()
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    configure_logging(settings)
    mask = TokenFilter(settings.token).clean
    try:
        meaning = Meaning.load(settings.semantic, settings.cache_dir)
    except RuntimeError as error:
        print(f"BOT_SEMANTIC=on, but {error}", file=sys.stderr)
        return 2
    log.info("Semantic matching: %s", "on" if meaning else "off")
    try:
        faq = Faq(settings.knowledge_dir, settings.thresholds, meaning=meaning)
    except KnowledgeError as error:
        print("The knowledge base has problems:", file=sys.stderr)
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 1
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
        print(
            "Telegram rejected TELEGRAM_BOT_TOKEN. Copy the token again from @BotFather "
            "(/mybots -> your bot -> API Token).",
            file=sys.stderr,
        )
        return 2
    except NetworkError as error:
        where = settings.api_base_url or "api.telegram.org"
        print(f"Cannot reach the Telegram Bot API at {where}: {mask(str(error))}", file=sys.stderr)
        return 1
    except TelegramError as error:
        print(f"Telegram refused to start the bot: {mask(str(error))}", file=sys.stderr)
        return 1
    return 0
