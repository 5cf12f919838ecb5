"""Admin figures as text and CSV, and the grouping of unanswered questions."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.text import normalize
from bot.storage.base import QuestionRecord
from bot.storage.sqlite import SqliteStorage
from bot.storage.stats import (
    EntryFigures,
    Group,
    Stats,
    UnansweredQuestion,
    format_stats,
    format_unanswered,
    group_questions,
    parse_count,
    report_csv,
)

T0 = dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC)


def question(number: int, text: str, *, none: bool = False) -> UnansweredQuestion:
    return UnansweredQuestion(number, T0 + dt.timedelta(hours=number), text, normalize(text), none)


def test_similar_questions_are_grouped_newest_first() -> None:
    questions = [
        question(1, "公积金怎么提取"),
        question(2, "医保报销比例是多少"),
        question(3, "公积金怎么提取？"),
        question(4, "请问公积金怎么提取", none=True),
        question(5, "医保报销比例多少"),
        question(6, "社保卡密码忘了"),
    ]
    groups = group_questions(questions)
    assert [(g.text, g.count) for g in groups] == [
        ("社保卡密码忘了", 1),
        ("医保报销比例多少", 2),
        ("请问公积金怎么提取", 3),
    ]
    fund = groups[2]
    assert fund.none_of_these == 1
    assert fund.question_ids == (4, 3, 1)
    assert fund.examples == ("公积金怎么提取？",)  # the older one normalises the same
    assert fund.last_at == T0 + dt.timedelta(hours=4)
    assert fund.first_at == T0 + dt.timedelta(hours=1)
    assert group_questions([]) == []


def test_threshold_controls_grouping() -> None:
    questions = [question(1, "公积金怎么提取"), question(2, "公积金咋取")]
    assert len(group_questions(questions)) == 2
    assert len(group_questions(questions, threshold=60)) == 1


STATS = Stats(
    days=7,
    since=T0 - dt.timedelta(days=7),
    until=T0,
    questions=10,
    answered=6,
    suggested=2,
    fallback=2,
    users=4,
    none_of_these=1,
    private=1,
    entries=(
        EntryFigures("apply-e-card", answers=4, chosen=1, up=2, down=0),
        EntryFigures("forgot-card", answers=2, up=0, down=1),
        EntryFigures("job-search", up=1),
    ),
    hours=((9, 5), (20, 3), (10, 2)),
    faults={"locked": 3},
)


def test_format_stats() -> None:
    text = format_stats(STATS, {"apply-e-card": "怎样领取电子社保卡"})
    assert "最近 7 天" in text
    assert "提问 10 次，来自 4 位用户" in text
    assert "直接回答 60%（6）" in text and "给出建议 20%（2）" in text
    assert "未能回答 20%（2）" in text
    assert "1. 怎样领取电子社保卡：5 次（其中选中 1）  👍 2 👎 0" in text
    assert "2. forgot-card：2 次  👍 0 👎 1" in text
    assert "• job-search  👍 1 👎 0" in text
    assert "值得改进" in text
    assert "09:00-10:00 5 次 · 20:00-21:00 3 次 · 10:00-11:00 2 次" in text
    assert "locked 3 次" in text
    assert "<" not in text  # plain text


def test_format_empty_stats() -> None:
    empty = Stats(days=1, since=T0, until=T0)
    assert empty.answer_rate == 0.0
    assert "还没有人提问" in format_stats(empty)


def test_format_unanswered() -> None:
    groups = group_questions(
        [question(1, "公积金怎么提取"), question(2, "请问公积金怎么提取", none=True)]
    )
    text = format_unanswered(groups)
    assert "1. 请问公积金怎么提取 ×2（最近 11-20 11:00，其中 1 次选了「都不是」）" in text
    assert "类似：公积金怎么提取" in text
    assert "/teach" in text
    assert format_unanswered([]) == "没有未能回答的问题。"
    long = format_unanswered([Group("问" * 500, 1, T0, T0)])
    assert len(long) < 200


def test_csv() -> None:
    groups = [Group("=cmd|' /C calc'!A0", 2, T0, T0, none_of_these=1)]
    rows = list(csv.reader(io.StringIO(report_csv(STATS, groups))))
    assert rows[0] == ["section", "key", "metric", "value"]
    table = {(r[0], r[1], r[2]): r[3] for r in rows[1:]}
    assert table[("summary", "", "questions")] == "10"
    assert table[("summary", "", "answer_rate")] == "0.6"
    assert table[("entry", "apply-e-card", "chosen")] == "1"
    assert table[("entry", "forgot-card", "down")] == "1"
    assert table[("hour", "09", "questions")] == "5"
    assert table[("unanswered", "'=cmd|' /C calc'!A0", "count")] == "2"  # no formula


def test_parse_count() -> None:
    assert parse_count("", 7, 365) == 7
    assert parse_count(None, 7, 365) == 7
    assert parse_count(" 30 ", 7, 365) == 30
    assert parse_count("３０", 7, 365) == 30
    for bad in ("0", "-3", "abc", "400", "1.5"):
        assert parse_count(bad, 7, 365) is None


def _make_database(path: Path) -> None:
    async def fill() -> None:
        storage = SqliteStorage(path)
        await storage.open()
        for text, decision, entry_id in [
            ("电子社保卡怎么领", "answer", "apply-e-card"),
            ("公积金怎么提取", "fallback", None),
            ("请问公积金怎么提取", "fallback", None),
        ]:
            record = QuestionRecord("private", 1, text, normalize(text), decision, entry_id, 0.5)
            question_id = await storage.log_question(record)
            if entry_id:
                await storage.record_vote(question_id, entry_id, -1)
        await storage.close()

    asyncio.run(fill())


def test_cli_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "data" / "bot.sqlite3"
    _make_database(database)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BOT_DATABASE", str(database))
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)

    assert main(["report", "--days", "3"]) == 0
    out = capsys.readouterr().out
    assert "最近 3 天的统计" in out and "提问 3 次" in out
    assert "👍 0 👎 1" in out
    assert "请问公积金怎么提取 ×2" in out

    assert main(["report", "--csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert ["summary", "", "questions", "3"] in rows
    assert ["unanswered", "请问公积金怎么提取", "count", "2"] in rows

    monkeypatch.setenv("BOT_DATABASE", str(tmp_path / "missing.sqlite3"))
    assert main(["report"]) == 1
    assert "No database" in capsys.readouterr().err
