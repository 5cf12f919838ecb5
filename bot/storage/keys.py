"""The secret key for the stored hashes of user ids, kept away from the database.

Whoever has the database and this key can test a Telegram id against the stored hashes (about
40 minutes for the whole 10-digit range), so the key never lives in the data folder: it comes
from ``BOT_HASH_KEY``, or from a file only its owner can read (``BOT_HASH_KEY_FILE``, by
default ``~/.config/esscard-bot/hash.key``), which is made with a random key on first start.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

from bot.config import MIN_KEY_CHARS, Settings

log = logging.getLogger(__name__)


class KeyFileError(Exception):
    """The key file cannot be used; the message says why and what to do."""


def read_or_create(path: Path) -> bytes:
    """The key in *path*; a new random one (mode 0600, folder 0700) if the file is missing."""
    for _ in range(2):
        try:
            key = path.read_bytes().strip()
        except FileNotFoundError:
            key = b""
        else:
            if len(key) < MIN_KEY_CHARS:
                raise KeyFileError(
                    f"the hash key file {path} holds {len(key)} characters, fewer than "
                    f"{MIN_KEY_CHARS}; remove it to have a new key made, or put the old key back"
                )
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                os.chmod(path, 0o600)
                log.warning("The hash key file %s was readable by others; now mode 0600.", path)
            return key
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue  # another process made it just now: read theirs
        key = secrets.token_hex(32).encode()
        with os.fdopen(descriptor, "wb") as file:
            file.write(key + b"\n")
        log.info("Made a new hash key for stored user ids: %s (mode 0600).", path)
        return key
    raise KeyFileError(f"the hash key file {path} keeps disappearing")


def hash_key(settings: Settings) -> bytes:
    """The key from ``BOT_HASH_KEY`` or its file; a key for this run only (logged loudly) if
    the file cannot be read or made, so storage still never keeps reversible ids."""
    if settings.hash_key:
        return settings.hash_key.encode()
    path = settings.hash_key_file
    try:
        if path is None:
            raise KeyFileError("there is no home folder for it")
        return read_or_create(path)
    except (OSError, KeyFileError) as error:
        log.error(
            "Cannot use the hash key file (%s). Stored user ids are keyed for this run only: "
            "after a restart the same person counts as a new user in /stats. Set "
            "BOT_HASH_KEY, or BOT_HASH_KEY_FILE to a readable place outside the data folder.",
            error,
        )
        return secrets.token_bytes(32)
