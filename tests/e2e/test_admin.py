"""/reload in the running process: success, a broken file, a missing folder, a non-admin."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.core.knowledge import load_knowledge
from tests.e2e.conftest import ADMIN_ID, BotProcess, entity_text

RELOADED = "Knowledge base reloaded"
KEPT = "nothing was loaded and the previous version is still in use"


@pytest.fixture
def kb(bot: BotProcess) -> Iterator[Path]:
    """The running bot's knowledge folder; put back as it was (and reloaded) afterwards."""
    folder = bot.knowledge
    originals = {path: path.read_bytes() for path in folder.glob("*.yaml")}
    yield folder
    moved = folder.with_name("knowledge-moved")
    if moved.exists() and not folder.exists():
        moved.rename(folder)
    changed = [path for path, data in originals.items() if path.read_bytes() != data]
    for path in changed:
        path.write_bytes(originals[path])
    if changed:
        (reply,) = bot.ask(ADMIN_ID, "/reload")
        assert reply["text"].startswith(RELOADED), reply["text"]


def title_for(bot: BotProcess, user: int, question: str, count: int = 1) -> list[str]:
    """The bold title of the bot's answer to *question*."""
    return entity_text(bot.ask(user, question, count=count)[0], "bold")


def test_reload_reports_the_counts(bot: BotProcess, kb: Path) -> None:
    expected = load_knowledge(kb)
    (reply,) = bot.ask(ADMIN_ID, "/reload")
    first = reply["text"].splitlines()[0]
    assert first == (
        f"{RELOADED}: {len(expected.entries)} entries, {expected.phrasing_count} phrasings."
    )
    assert "Changed: none" in reply["text"]


def test_an_edit_takes_effect_after_reload(bot: BotProcess, kb: Path) -> None:
    path = kb / "services.yaml"
    path.write_text(
        path.read_text("utf-8").replace("title: 网上申领失业金", "title: 失业金网上申领办法"),
        "utf-8",
    )
    assert title_for(bot, 4001, "失业金怎么申领") == ["网上申领失业金"]  # not reloaded yet
    (reply,) = bot.ask(ADMIN_ID, "/reload")
    assert "Changed: unemployment-benefits" in reply["text"]
    assert title_for(bot, 4001, "失业金怎么申领") == ["失业金网上申领办法"]


def test_a_broken_file_is_reported_by_line_and_the_old_kb_stays(bot: BotProcess, kb: Path) -> None:
    services = kb / "services.yaml"
    services.write_text(
        services.read_text("utf-8").replace("title: 网上申领失业金", "title: 改过的标题"),
        "utf-8",
    )
    broken = kb / "e-card.yaml"
    lines = broken.read_text("utf-8").splitlines()
    number = next(
        i for i, line in enumerate(lines, 1) if line.strip() == "title: 怎样领取电子社保卡"
    )
    lines[number - 1] = "    title: [怎样领取电子社保卡"
    broken.write_text("\n".join(lines) + "\n", "utf-8")

    (reply,) = bot.ask(ADMIN_ID, "/reload")
    assert KEPT in reply["text"]
    problem = next(line for line in reply["text"].splitlines() if line.startswith(str(broken)))
    reported = int(problem.split(":")[1])
    assert number <= reported <= number + 1  # YAML may point at the next line
    assert "YAML" in problem

    # Neither the broken file nor the good edit beside it was taken: the old KB answers.
    assert title_for(bot, 4002, "失业金怎么申领") == ["网上申领失业金"]
    assert title_for(bot, 4002, "电子社保卡怎么领", count=2) == ["怎样领取电子社保卡"]


def test_a_missing_folder_is_reported_and_the_old_kb_stays(bot: BotProcess, kb: Path) -> None:
    kb.rename(kb.with_name("knowledge-moved"))
    (reply,) = bot.ask(ADMIN_ID, "/reload")
    assert KEPT in reply["text"]
    assert f"{kb}:" in reply["text"] and "does not exist" in reply["text"]
    assert title_for(bot, 4003, "工伤怎么认定") == ["网上办工伤业务"]
    kb.with_name("knowledge-moved").rename(kb)
    (reply,) = bot.ask(ADMIN_ID, "/reload")
    assert reply["text"].startswith(RELOADED)


def test_reload_is_refused_to_others(bot: BotProcess, kb: Path) -> None:
    (reply,) = bot.ask(4004, "/reload")
    assert reply["text"] == "抱歉，这个命令只有管理员可以使用。"
    refusals = [line for line in bot.log(since_mark=True).splitlines() if "/reload" in line]
    assert any("4004" in line for line in refusals)  # the attempt is on record
