"""The real process and its data folder misbehaving underneath it (issue 12, items 9-12)."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.e2e.conftest import ADMIN_ID, BotProcess, entity_text, running_bot
from tests.storage.test_sqlite import leave_in_wal_mode


@contextlib.contextmanager
def immutable(paths: list[Path]) -> Iterator[None]:
    """*paths* truncated to nothing and, where the file system lets root do it, immutable."""
    chattr = shutil.which("chattr")
    changed = []
    try:
        for path in paths:
            path.write_bytes(b"")
            if chattr and subprocess.run([chattr, "+i", str(path)], check=False).returncode == 0:
                changed.append(path)
        yield
    finally:
        for path in changed:
            subprocess.run([str(chattr), "-i", str(path)], check=False)


def answers(bot: BotProcess, user: int) -> None:
    (reply,) = bot.ask(user, "失业金怎么申领")
    assert entity_text(reply, "bold") == ["网上申领失业金"]


def test_a_damaged_shm_file_does_not_kill_the_bot(tmp_path: Path) -> None:
    """A database a WAL-mode version left behind, its -shm emptied (and made immutable) while
    the bot runs: the old bot died of SIGBUS at its next write, with nothing logged."""
    home = tmp_path / "bot"
    leave_in_wal_mode(home / "data" / "x.sqlite3")
    with running_bot(home, name="disk bot") as bot:
        answers(bot, 8101)
        data = bot.database.parent
        with immutable([data / "x.sqlite3-shm", data / "x.sqlite3-wal"]):
            for user in (8102, 8103, 8104):
                answers(bot, user)
            (stats,) = bot.ask(ADMIN_ID, "/stats")
            assert "提问 4 次" in stats["text"]
        # Its own journal made immutable: writing fails, the bot says why and answers on.
        with immutable([data / "x.sqlite3-journal"]):
            answers(bot, 8105)
            bot.wait_for_log("Storage problem")
            answers(bot, 8106)
        assert bot.stop() == 0
    assert "Fatal Python error" not in bot.log()


def test_a_deleted_data_folder_is_noticed_and_said_in_stats(tmp_path: Path) -> None:
    with running_bot(tmp_path / "bot", name="disk bot") as bot:
        for user in (8201, 8202):
            answers(bot, user)
        bot.ask(ADMIN_ID, "/stats")  # saved
        shutil.rmtree(bot.database.parent)
        for user in (8203, 8204, 8205):
            answers(bot, user)
        (stats,) = bot.ask(ADMIN_ID, "/stats")
        assert "数据库文件在运行中被删除或替换了 1 次" in stats["text"]
        assert "提问 3 次" in stats["text"]  # what the new file holds, said plainly
        bot.wait_for_log("was deleted")
        assert " ERROR " in bot.log(since_mark=True)  # loudly
        with contextlib.closing(sqlite3.connect(bot.database)) as db:
            assert db.execute("SELECT count(*) FROM questions").fetchone() == (3,)
        assert bot.stop() == 0
