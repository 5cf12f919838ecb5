"""``esscard-bot bench``: the table's shape on a quick run, and the pruning never changing a
decision. No timing is asserted: machines are noisy."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path

import pytest
from setuptools import find_namespace_packages

import bot.checkout
from benchmarks import run as bench_run
from benchmarks.report import FAIL, PASS, SKIPPED, Report, Row, format_table, to_json
from benchmarks.run import E2E_KEYS, Options, measure_e2e, run_bench
from bot.cli import main
from bot.core.knowledge import load_knowledge
from tests.conftest import KNOWLEDGE, ROOT

SIZES = (1_000,)


@pytest.fixture(scope="module")
def report() -> Report:
    """One quick run without the end-to-end part, on one small synthetic size."""
    options = Options.make(KNOWLEDGE, quick=True, skip_e2e=True)
    options = dataclasses.replace(options, sizes=SIZES, prefilter_size=SIZES[0])
    return run_bench(options)


def test_every_row_is_there(report: Report) -> None:
    keys = [row.key for row in report.rows]
    expected = {
        "latency.matcher.shipped",
        "latency.bm25.shipped",
        "latency.semantic.shipped",
        "accuracy.top1",
        "accuracy.decisions",
        "prefilter.shipped",
        "start.first_answer",
        "load.shipped",
        "reload.shipped",
        "rss.shipped",
        *E2E_KEYS,
    }
    for size in SIZES:
        expected |= {f"latency.matcher.{size}", f"latency.bm25.{size}", f"prefilter.{size}"}
    expected.add(f"rss.{max(SIZES)}")
    assert set(keys) == expected
    assert len(keys) == len(expected)
    for row in report.rows:
        assert row.measure and row.value
        assert row.result in (PASS, FAIL, SKIPPED, "")
        assert (row.passed is None) == (row.target == "" or bool(row.skipped))


def test_measured_rows_carry_numbers(report: Report) -> None:
    for key in ("latency.matcher.shipped", "latency.bm25.shipped", f"latency.matcher.{SIZES[0]}"):
        data = report.row(key).data
        assert 0 < data["p50_ms"] <= data["p99_ms"]
    assert report.row("latency.matcher.shipped").data["phrasings"] > 14
    assert 0.5 < report.row("accuracy.top1").data["matcher_top1"] <= 1
    assert report.row("rss.shipped").data["peak_rss_mb"] > 10
    assert report.row("reload.shipped").data["reload_s"] > 0
    assert report.row("start.first_answer").data["median_s"] > 0


def test_prefilter_never_changes_a_decision(report: Report) -> None:
    for key in ("prefilter.shipped", f"prefilter.{SIZES[0]}"):
        row = report.row(key)
        assert row.data["differ"] == 0, row.value
        assert row.result == PASS


def test_e2e_rows_say_why_they_were_skipped(report: Report) -> None:
    for key in E2E_KEYS:
        row = report.row(key)
        assert row.result == SKIPPED
        assert "--skip-e2e" in row.value


def test_table_is_one_markdown_table(report: Report) -> None:
    lines = format_table(report).splitlines()
    assert lines[0].startswith("esscard-bot bench")
    table = lines[2:]
    assert table[0].split("|")[1].strip() == "Measure"
    assert set(table[1]) <= {"|", "-"}
    assert len(table) == 2 + len(report.rows)
    widths = {len(line) for line in table}
    assert len(widths) == 1, "columns are aligned"
    assert all(line.count("|") == 5 for line in table)


def test_json_has_machine_and_rows(report: Report) -> None:
    data = json.loads(to_json(report))
    assert data["machine"]["cpus"] >= 1
    assert [row["key"] for row in data["rows"]] == [row.key for row in report.rows]
    assert {"measure", "value", "target", "result", "data"} <= set(data["rows"][0])


def test_e2e_through_the_fake_bot_api() -> None:
    """A tiny end-to-end run: the real bot process answers every question."""
    options = dataclasses.replace(
        Options.make(KNOWLEDGE, quick=True),
        e2e_messages=20,
        e2e_users=4,
        e2e_rate=50,
        e2e_flood=6,  # within a group's backlog and Telegram's 20 a minute: a quick stop
        e2e_flood_seconds=1.0,
    )
    questions = bench_run.load_questions(options, load_knowledge(KNOWLEDGE))
    rows = {row.key: row for row in measure_e2e(options, questions, lambda _: None)}
    assert rows["e2e.lost"].data["lost"] == 0, rows["e2e.lost"].value
    assert rows["e2e.throughput"].data["answered"] == 20
    assert rows["e2e.latency"].data["p50_s"] > 0
    flood = rows["e2e.flood"].data
    assert flood["private_asked"] == 1 and flood["private_lost"] == 0, rows["e2e.flood"].value
    assert 0 < flood["group_messages"] <= 12  # 6 answers, some with a picture


def test_cli_prints_the_table_or_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[Options] = []

    def fake_run(options: Options, progress: object = None) -> Report:
        seen.append(options)
        return Report([Row("x", "a measure", "1 ms", "≤ 2 ms", True)], {"cpus": 2})

    monkeypatch.setattr(bench_run, "run_bench", fake_run)
    assert main(["--knowledge", str(KNOWLEDGE), "bench", "--quick", "--skip-e2e"]) == 0
    out = capsys.readouterr().out
    assert "| a measure | 1 ms  | ≤ 2 ms | PASS   |" in out
    assert seen[0].e2e is False and seen[0].sizes == (1_000, 2_000)
    assert main(["--knowledge", str(KNOWLEDGE), "bench", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"][0]["result"] == PASS
    assert seen[1].e2e is True and seen[1].sizes == (1_000, 10_000, 100_000)


def test_without_a_checkout_the_cli_says_in_one_line_where_the_benchmark_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(bot.checkout, "CHECKOUT", tmp_path)  # an installed package: no benchmarks/
    assert main(["--knowledge", str(KNOWLEDGE), "bench", "--quick"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "esscard-bot bench runs from a source checkout of esscard-bot (a git clone): "
        "run `make bench` there.\n"
    )


def test_the_installed_package_ships_neither_the_benchmark_nor_the_tests() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    found = pyproject["tool"]["setuptools"]["packages"]["find"]
    packages = find_namespace_packages(str(ROOT), include=found["include"])
    assert {"bot", "bot.core", "bot.tg", "bot.storage"} <= set(packages)
    assert all(name == "bot" or name.startswith("bot.") for name in packages), packages
    assert (ROOT / "benchmarks" / "run.py").is_file()
