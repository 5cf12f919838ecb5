"""Stored user ids cannot be recovered from a copy of the data folder: the key of their hash
lives elsewhere (``BOT_HASH_KEY`` or a 0600 file in the user's config folder)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.storage.base import QuestionRecord
from bot.storage.sqlite import MIGRATIONS, SqliteStorage
from bot.tg import runner
from tests.tg.conftest import TOKEN

USERS = (987654321, 1234567890, 5550001234)
CANDIDATES = range(987654300, 987654400)
"""An attacker's guesses around one real id: the whole 10-digit space takes ~40 minutes."""


def settings_in(tmp_path: Path, **env: str) -> dict[str, str]:
    return {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "BOT_DATABASE": str(tmp_path / "data" / "bot.sqlite3"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        **env,
    }


def question(user_id: int) -> QuestionRecord:
    text = "电子社保卡怎么领"
    return QuestionRecord("private", user_id, text, text, "answer", "apply-e-card", 0.9)


def stored_hashes(database: Path) -> set[str]:
    connection = sqlite3.connect(database)
    try:
        return {row[0] for row in connection.execute("SELECT user_hash FROM questions")}
    finally:
        connection.close()


def brute_force(folder: Path, hashes: set[str]) -> list[int]:
    """Ids found by someone holding only *folder*: every file in it tried as the key."""
    keys = {b""}
    for path in folder.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            keys |= {content, content.strip()}
    found = []
    for key in keys:
        for user_id in CANDIDATES:
            for message in (str(user_id).encode(), b"user:%d" % user_id):
                if hmac.new(key, message, hashlib.sha256).hexdigest() in hashes:
                    found.append(user_id)
    return found


async def log_and_close(storage: SqliteStorage, users: tuple[int, ...] = USERS) -> None:
    await storage.open()
    for user_id in users:
        await storage.log_question(question(user_id))
    await storage.close()


async def test_a_copied_data_folder_does_not_give_the_ids_away(tmp_path: Path) -> None:
    settings = load_settings(settings_in(tmp_path))
    storage = runner.make_storage(settings)
    assert isinstance(storage, SqliteStorage)
    await log_and_close(storage)

    copy = tmp_path / "copied"
    shutil.copytree(settings.database.parent, copy)
    hashes = stored_hashes(copy / "bot.sqlite3")
    assert len(hashes) == len(USERS)
    assert brute_force(copy, hashes) == []
    # The key is where the README says, readable by its owner only, and it is the key.
    key_file = tmp_path / "config" / "esscard-bot" / "hash.key"
    assert settings.hash_key_file == key_file
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert brute_force(key_file.parent, hashes) == [987654321]


async def test_the_same_key_is_used_after_a_restart(tmp_path: Path) -> None:
    settings = load_settings(settings_in(tmp_path))
    first = runner.make_storage(settings)
    assert isinstance(first, SqliteStorage)
    await log_and_close(first, (987654321,))
    second = runner.make_storage(settings)
    assert isinstance(second, SqliteStorage)
    await log_and_close(second, (987654321,))
    assert len(stored_hashes(settings.database)) == 1  # one person, counted once


async def test_the_key_can_come_from_the_environment(tmp_path: Path) -> None:
    key = "k" * 40
    settings = load_settings(settings_in(tmp_path, BOT_HASH_KEY=key))
    storage = runner.make_storage(settings)
    assert isinstance(storage, SqliteStorage)
    await log_and_close(storage, (987654321,))
    expected = hmac.new(key.encode(), b"user:987654321", hashlib.sha256).hexdigest()
    assert stored_hashes(settings.database) == {expected}
    assert not (tmp_path / "config").exists()  # no key file made
    assert key not in repr(settings)


@pytest.mark.parametrize("inside", ["data/hash.key", "data/keys/hash.key"])
def test_a_key_file_in_the_data_folder_is_refused(tmp_path: Path, inside: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(settings_in(tmp_path, BOT_HASH_KEY_FILE=str(tmp_path / inside)))
    assert "BOT_HASH_KEY_FILE" in str(error.value) and "inside the database folder" in str(
        error.value
    )


def test_a_short_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(settings_in(tmp_path, BOT_HASH_KEY="short"))
    assert "BOT_HASH_KEY is 5 characters long" in str(error.value)


async def test_an_unusable_key_file_is_said_loudly_and_nothing_reversible_is_stored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key_file = tmp_path / "config" / "esscard-bot" / "hash.key"
    key_file.parent.mkdir(parents=True)
    key_file.write_text("too short\n")
    settings = load_settings(settings_in(tmp_path))
    with caplog.at_level(logging.ERROR):
        storage = runner.make_storage(settings)
    assert "Cannot use the hash key file" in caplog.text and "fewer than 32" in caplog.text
    assert isinstance(storage, SqliteStorage)
    await log_and_close(storage)
    assert brute_force(tmp_path, stored_hashes(settings.database)) == []
    assert key_file.read_text() == "too short\n"  # someone's file is never overwritten


async def test_an_old_database_and_its_salt_are_keyed_again(tmp_path: Path) -> None:
    """A database of schema 2 with its salt beside it (reversible from a copy): it opens, its
    hashes are keyed again (still one per person), and the salt file is deleted."""
    database = tmp_path / "data" / "bot.sqlite3"
    database.parent.mkdir()
    salt = b"0123456789abcdef" * 4
    database.with_name("bot.sqlite3.salt").write_bytes(salt + b"\n")
    connection = sqlite3.connect(database)
    for statement in (*MIGRATIONS[0], *MIGRATIONS[1]):
        connection.execute(statement)
    for number, user_id in enumerate((987654321, 987654321, 987654399, None)):
        old = hmac.new(salt, str(user_id).encode(), hashlib.sha256).hexdigest()
        connection.execute(
            "INSERT INTO questions (id, at, chat_type, user_hash, text, normalized, decision, "
            "score) VALUES (?, '2026-11-27T08:00:00.000000', 'private', ?, 'q', 'q', 'answer', 1)",
            (number + 1, old if user_id else None),
        )
    connection.execute("PRAGMA user_version = 2")
    connection.commit()
    connection.close()
    assert brute_force(database.parent, stored_hashes(database)) == [987654321, 987654399]

    settings = load_settings(settings_in(tmp_path))
    storage = runner.make_storage(settings)
    assert isinstance(storage, SqliteStorage)
    await storage.open()
    assert storage.available
    assert (await storage.stats(3650)).users == 2
    await storage.close()
    assert brute_force(database.parent, stored_hashes(database)) == []
    assert not database.with_name("bot.sqlite3.salt").exists()
