from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import bot.cli
from bot.cli import main
from bot.core.knowledge import load_knowledge
from bot.core.teach import USAGE as TEACH_USAGE
from tests.conftest import KNOWLEDGE
from tests.tg.conftest import ADMIN_ID, FIXTURE_KB, buttons, sqlite_bot


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--knowledge", str(KNOWLEDGE), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_ask_json_line_format(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "ask", "--json", "电子社保卡怎么领")
    assert code == 0
    record = json.loads(out)
    assert set(record) == {"question", "decision", "id", "title", "score", "suggestions", "answer"}
    assert record["decision"] == "answer"
    assert record["id"] == "apply-e-card"
    assert 0 <= record["score"] <= 1
    assert "支付宝" in record["answer"]


def test_ask_reads_stdin_one_question_a_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("失业金怎么申领\n\n公积金怎么提取\n"))
    code, out, _ = run_cli(capsys, "ask", "--json")
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [r["question"] for r in records] == ["失业金怎么申领", "公积金怎么提取"]
    assert records[0]["id"] == "unemployment-benefits"
    assert records[1]["decision"] != "answer" and records[1]["id"] is None
    assert "12333" in records[1]["answer"]


def test_ask_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "ask", "养老金资格认证怎么在手机上做")
    assert code == 0
    assert "社保待遇资格认证" in out
    assert "[图片]" in out and "👍" in out


def test_kb_check_ok_and_broken(capsys: pytest.CaptureFixture[str], kb_copy: Path) -> None:
    assert main(["kb", "check", str(KNOWLEDGE)]) == 0
    assert "OK:" in capsys.readouterr().out
    (kb_copy / "services.yaml").write_text("entries: [\n", encoding="utf-8")
    (kb_copy / "lexicon" / "userdict.txt").write_text("社保卡 many\n", encoding="utf-8")
    assert main(["kb", "check", str(kb_copy)]) == 1
    out = capsys.readouterr().out
    assert "services.yaml:" in out and "YAML syntax error" in out
    assert "userdict.txt:1: frequency 'many'" in out


def test_kb_check_checks_the_knowledge_option_folder(
    capsys: pytest.CaptureFixture[str], kb_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = kb_copy.parent / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # no ./knowledge here: only --knowledge names the copy
    monkeypatch.delenv("BOT_KNOWLEDGE_DIR", raising=False)
    kb = load_knowledge(kb_copy)
    assert main(["--knowledge", str(kb_copy), "kb", "check"]) == 0
    counts = f"OK: {len(kb.entries)} entries, {kb.phrasing_count} phrasings in {kb_copy}\n"
    assert counts in capsys.readouterr().out
    (kb_copy / "services.yaml").write_text("entries: [\n", encoding="utf-8")
    assert main(["--knowledge", str(kb_copy), "kb", "check"]) == 1
    assert f"{kb_copy / 'services.yaml'}:2: YAML syntax error" in capsys.readouterr().out


def test_eval_prints_accuracy(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    questions = tmp_path / "q.yaml"
    questions.write_text(
        "questions:\n"
        "  - {q: 电子社保卡怎么领, expect: apply-e-card}\n"
        "  - {q: 公积金怎么提取, expect: null}\n",
        encoding="utf-8",
    )
    code, out, _ = run_cli(capsys, "eval", str(questions))
    assert code == 0
    assert "top-1:        100.0% (1/1)" in out
    assert "refusal:      100.0% (1/1)" in out


def test_eval_shows_the_frozen_holdout_by_its_figures_only(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    questions = tmp_path / "q.yaml"
    questions.write_text("questions:\n  - {q: 电子社保卡怎么领, expect: apply-e-card}\n", "utf-8")
    holdout = tmp_path / "h.yaml"
    holdout.write_text(
        "questions:\n"
        "  - {q: 手机上那个设保卡在哪弄, expect: apply-e-card}\n"
        "  - {q: 电子社保卡怎么领, expect: job-search}\n"
        "  - {q: 公积金怎么提取, expect: null}\n",
        encoding="utf-8",
    )
    talks = tmp_path / "d.yaml"
    talks.write_text("dialogues: []\n", "utf-8")
    quick = ("--dialogues", str(talks), "--topics", str(tmp_path))  # only the holdout here
    code, out, _ = run_cli(capsys, "eval", str(questions), "--holdout", str(holdout), *quick)
    assert code == 0
    assert f"frozen holdout ({holdout}; never tuned against):" in out
    assert "holdout:      top-1 50.0% (1/2), refusal 100.0% (1/1)" in out
    assert "[job-search] '电子社保卡怎么领'" not in out  # its misses are not listed


def test_eval_shows_the_frozen_dialogue_holdout_by_its_figure_only(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    questions = tmp_path / "q.yaml"
    questions.write_text("questions:\n  - {q: 电子社保卡怎么领, expect: apply-e-card}\n", "utf-8")
    holdout = tmp_path / "h.yaml"
    holdout.write_text("questions:\n  - {q: 公积金怎么提取, expect: null}\n", "utf-8")
    talks = tmp_path / "d.yaml"
    talks.write_text(
        "dialogues:\n"
        "  - turns: [{q: 养老金认证怎么做, expect: pension-verification},"
        " {q: 那工伤呢, expect: job-search}]\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(bot.cli, "DEFAULT_HOLDOUT_FILE", holdout)
    monkeypatch.setattr(bot.cli, "DEFAULT_DIALOGUE_HOLDOUT", talks)
    (tmp_path / "none.yaml").write_text("dialogues: []\n", "utf-8")
    quick = ("--dialogues", str(tmp_path / "none.yaml"), "--topics", str(tmp_path))
    code, out, _ = run_cli(capsys, "eval", str(questions), *quick)
    assert code == 0
    assert f"follow-ups:   0.0% (0/1) right in context ({talks})" in out
    assert "那工伤呢" not in out  # its misses are not listed


def test_eval_of_a_missing_holdout_file_names_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run_cli(capsys, "eval", "--holdout", str(tmp_path / "none.yaml"))
    assert code == 1
    assert "The question file cannot be used:" in err and str(tmp_path / "none.yaml") in err


def test_eval_of_a_missing_file_says_the_file_is_missing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run_cli(capsys, "eval", str(tmp_path / "nope.yaml"))
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"No question file at {tmp_path / 'nope.yaml'}. Name a labelled question file "
        "(questions: [{q: ..., expect: entry-id}]), e.g. tests/data/questions/personas.yaml."
    ]


def test_eval_of_a_broken_question_file_blames_that_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    questions = tmp_path / "q.yaml"
    questions.write_text("questions:\n  - q: 社保卡\n    expect apply-e-card\n", "utf-8")
    code, _, err = run_cli(capsys, "eval", str(questions))
    assert code == 1
    assert "knowledge base" not in err
    assert err.splitlines()[:2] == [
        "The question file cannot be used:",
        f"{questions}:3: YAML syntax error: could not find expected ':' (while scanning a simple "
        "key that starts on this line); is the ':' after a key missing?",
    ]


def test_chat_shows_buttons_and_presses_them(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("电子社保卡怎么领\n1\n/quit\n"))
    code, out, _ = run_cli(capsys, "chat")
    assert code == 0
    assert "怎样领取电子社保卡" in out
    assert "[1]" in out


def chat(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, lines: str, *args: str
) -> str:
    """The console chat's output for piped *lines*."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    code, out, err = run_cli(capsys, *args, "chat")
    assert (code, err) == (0, "")
    return out


@pytest.mark.parametrize("leave", ["quit", "exit", "/quit", "EXIT"])
def test_chat_ignores_empty_lines_and_ends_on_quit(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, leave: str
) -> None:
    out = chat(capsys, monkeypatch, f"电子社保卡怎么领\n\n   \n{leave}\n失业金怎么申领\n")
    assert out.count("怎样领取电子社保卡") == 1  # an empty line does not repeat the answer
    assert "网上申领失业金" not in out  # nothing after quit is answered
    # Piped questions are echoed after the prompt, each before its answer.
    assert out.index("你：电子社保卡怎么领\n") < out.index("怎样领取电子社保卡")
    assert f"你：{leave}\n" in out


def test_chat_teach_writes_learned_yaml_and_says_where(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, kb_copy: Path
) -> None:
    question = "阿里那个卡咋整"
    lines = f"{question}\n/teach {question} => apply-e-card\n{question}\n/teach\n"
    out = chat(capsys, monkeypatch, lines, "--knowledge", str(kb_copy))
    learned = kb_copy / "learned.yaml"
    before, taught, after = out.split("你：")[1:4]
    assert "12333" in before and "怎样领取电子社保卡" not in before
    assert taught.splitlines()[2:4] == [
        f"学会了：「{question}」→「怎样领取电子社保卡」（apply-e-card）。撤销请发 /teach undo。",
        f"已写入 {learned}，现在就生效。",
    ]
    assert after.splitlines()[2] == "怎样领取电子社保卡"
    assert TEACH_USAGE in out  # /teach alone shows how
    assert f"question: {question}" in learned.read_text(encoding="utf-8")

    out = chat(capsys, monkeypatch, "/teach undo\n", "--knowledge", str(kb_copy))
    assert f"已撤销：「{question}」→ apply-e-card。\n已写入 {learned}，现在就生效。" in out
    assert question not in learned.read_text(encoding="utf-8")


def test_chat_buttons_say_that_nothing_is_stored(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = chat(capsys, monkeypatch, "社保卡\n4\n电子社保卡怎么领\n4\n")
    none_of_these, _, vote = out.split("你：")[2:5]
    assert none_of_these.splitlines()[2:4] == [
        "好的，这个问题我暂时答不了。建议拨打人社服务热线 12333 咨询。",
        "（控制台试用：什么也没有记录。）",
    ]
    assert "已记下" not in out
    assert vote.splitlines()[2] == "谢谢您的反馈！（控制台试用：什么也没有记录。）"


def test_broken_kb_gives_a_clear_error(capsys: pytest.CaptureFixture[str], kb_copy: Path) -> None:
    (kb_copy / "e-card.yaml").write_text("entries:\n  - id: x\n", encoding="utf-8")
    assert main(["--knowledge", str(kb_copy), "ask", "社保卡"]) == 1
    err = capsys.readouterr().err
    assert "e-card.yaml:2:" in err and "Traceback" not in err


def test_python_dash_m_bot_runs(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BOT_"))}
    env["BOT_SEMANTIC"] = "off"  # an empty folder has no cached vectors: ~1,100 texts to embed
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "--knowledge",
            str(KNOWLEDGE),
            "ask",
            "--json",
            "失业金怎么申领",
        ],
        cwd=tmp_path,  # no .env
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["id"] == "unemployment-benefits"


def test_report_reads_the_database_the_bot_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "data" / "bot.sqlite3"

    async def conversation() -> None:
        async with sqlite_bot(database) as bot:
            harness = bot.harness
            await harness.say("电子社保卡怎么领", user_id=1)
            [answer] = harness.request.of("sendMessage")
            vote = next(data for label, data in buttons(answer) if label == "👎 没用")
            await harness.press(vote, user_id=1)
            await harness.say("护照怎么办理", user_id=2)
            await harness.say("请问护照怎么办理", user_id=3)
            await harness.say("/stats", user_id=ADMIN_ID, chat_id=ADMIN_ID)  # not a question

    asyncio.run(conversation())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BOT_DATABASE", str(database))
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)

    assert main(["--knowledge", str(FIXTURE_KB), "report", "--days", "3"]) == 0
    out = capsys.readouterr().out
    assert "最近 3 天的统计" in out and "提问 3 次，来自 3 位用户。" in out
    assert "1. 怎样领取电子社保卡 <新> & 快：1 次  👍 0 👎 1" in out  # titles from --knowledge
    assert "请问护照怎么办理 ×2" in out

    assert main(["report", "--csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["section", "key", "metric", "value"]
    assert ["summary", "", "questions", "3"] in rows
    assert ["summary", "", "fallback", "2"] in rows
    assert ["entry", "apply-e-card", "down", "1"] in rows
    assert ["unanswered", "请问护照怎么办理", "count", "2"] in rows
