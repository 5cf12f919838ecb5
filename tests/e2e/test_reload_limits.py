"""/reload cannot be made to hang (issue 12 §3): hostile knowledge files, in the real process.

A few lines of YAML aliases can stand for billions of values; an alias can contain itself; a
file can be huge. Each is refused at once with a clear problem, memory stays flat, and the
old knowledge keeps answering. (The time limit on a reload is in tests/tg/test_admin.py.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import ADMIN_ID, BotProcess, entity_text, running_bot

KEPT = "nothing was loaded and the previous version is still in use"
MB = 1024 * 1024


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """YAML of a few hundred bytes whose aliases expand to width**levels values."""
    lines = ["a0: &a0 [" + ", ".join(['"哈"'] * width) + "]"]
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]")
    lines.append(f"entries: [*a{levels - 1}]")
    return "\n".join(lines) + "\n"


def peak_memory(bot: BotProcess) -> int:
    """The bot process's peak resident memory so far (Linux VmHWM), in bytes."""
    assert bot.process is not None
    status = Path(f"/proc/{bot.process.pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


@pytest.fixture(scope="module")
def own_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    """A bot of this module's own: a reload that hangs must not stall the shared one."""
    with running_bot(tmp_path_factory.mktemp("reload-bot"), name="reload bot") as bot:
        yield bot


@pytest.fixture
def hostile(own_bot: BotProcess) -> Iterator[Path]:
    """Where a test writes its hostile file (removed afterwards)."""
    path = own_bot.knowledge / "hostile.yaml"
    yield path
    path.unlink(missing_ok=True)


def assert_refused_and_old_kb_answers(bot: BotProcess, hostile: Path, problem: str) -> None:
    before = peak_memory(bot)
    (reply,) = bot.ask(ADMIN_ID, "/reload")  # fails after WAIT (10 s) if the reload hangs
    assert KEPT in reply["text"]
    [line] = [line for line in reply["text"].splitlines() if line.startswith(f"{hostile}:")]
    assert problem in line
    assert peak_memory(bot) - before < 50 * MB
    (answer,) = bot.ask(4101, "失业金怎么申领")
    assert entity_text(answer, "bold") == ["网上申领失业金"]
    assert "Traceback" not in bot.log(since_mark=True)


def test_an_alias_bomb_is_refused(own_bot: BotProcess, hostile: Path) -> None:
    hostile.write_text(alias_bomb(), "utf-8")
    assert_refused_and_old_kb_answers(own_bot, hostile, "more than 100,000 values")


def test_an_alias_inside_itself_is_refused(own_bot: BotProcess, hostile: Path) -> None:
    hostile.write_text("entries: &loop\n  - *loop\n", "utf-8")
    assert_refused_and_old_kb_answers(own_bot, hostile, "refers to a value it is part of")


def test_a_huge_file_is_refused(own_bot: BotProcess, hostile: Path) -> None:
    with hostile.open("w", encoding="utf-8") as file:
        file.write("entries:\n")
        while file.tell() < 3 * MB:
            file.write("  - {id: filler, title: 填充, answer: 填充, questions: [填充]}\n" * 1000)
    assert_refused_and_old_kb_answers(own_bot, hostile, "larger than 1,024 KB")
