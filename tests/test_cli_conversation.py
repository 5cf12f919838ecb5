"""Conversations on the command line: ask --conversation, chat, and follow-ups in eval."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from bot.core.strings_zh import ASSUMED_TEXT
from tests.test_cli import run_cli

ASK_FIELDS = {"question", "decision", "id", "title", "score", "suggestions", "answer"}
STDIN = "电子社保卡怎么申请\n在哪办\n\n在哪办\n养老认证怎么做\n在哪办\n"


def feed(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))


def test_ask_json_conversation_reads_follow_ups_in_their_conversation(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    feed(monkeypatch, STDIN)
    code, out, _ = run_cli(capsys, "ask", "--json", "--conversation")
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert all(set(r) == ASK_FIELDS | {"context", "assumed"} for r in records)
    summary = [
        (r["question"], r["decision"], r["id"], r["context"], r["assumed"]) for r in records
    ]
    assert summary == [
        ("电子社保卡怎么申请", "answer", "apply-e-card", False, None),
        ("在哪办", "answer", "apply-e-card", True, "apply-e-card"),
        ("在哪办", "fallback", None, False, None),  # a new conversation has no topic
        ("养老认证怎么做", "answer", "pension-verification", False, None),
        ("在哪办", "answer", "pension-verification", True, "pension-verification"),
    ]
    assert records[1]["answer"].startswith(ASSUMED_TEXT.format(title="怎样领取电子社保卡"))


def test_plain_ask_stays_one_question_a_line_without_context(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    feed(monkeypatch, STDIN)
    code, out, _ = run_cli(capsys, "ask", "--json")
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and all(set(r) == ASK_FIELDS for r in records)
    assert [r["decision"] for r in records if r["question"] == "在哪办"] == ["fallback"] * 3


def test_ask_conversation_as_text(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    feed(monkeypatch, "养老认证怎么做\n在哪办\n")
    code, out, _ = run_cli(capsys, "ask", "--conversation")
    assert code == 0
    assert ASSUMED_TEXT.format(title="养老金资格认证（手机上办）") in out


def test_ask_conversation_takes_no_question_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "ask", "--conversation", "电子社保卡怎么领")
    assert code == 2 and out == ""
    assert "stdin" in err and "Traceback" not in err


def test_chat_keeps_the_topic_like_a_chat(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    feed(monkeypatch, "养老认证怎么做\n在哪办\n/quit\n")
    code, out, _ = run_cli(capsys, "chat")
    assert code == 0
    assert ASSUMED_TEXT.format(title="养老金资格认证（手机上办）") in out


def test_chat_a_pressed_button_sets_the_topic(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The welcome's first button opens a category, whose first button opens its first entry.
    feed(monkeypatch, "1\n1\n在哪办\n/quit\n")
    code, out, _ = run_cli(capsys, "chat")
    assert code == 0
    assert ASSUMED_TEXT.format(title="怎样领取电子社保卡") in out


def test_eval_prints_follow_up_accuracy(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    questions = tmp_path / "q.yaml"
    questions.write_text("questions:\n  - {q: 电子社保卡怎么领, expect: apply-e-card}\n", "utf-8")
    dialogues = tmp_path / "d.yaml"
    dialogues.write_text(
        "dialogues:\n"
        "  - turns: [{q: 养老认证怎么做, expect: pension-verification}, "
        "{q: 在哪办, expect: pension-verification}]\n"
        "  - turns: [{q: 电子社保卡怎么领, expect: apply-e-card},\n"
        "            {q: 公积金怎么取, expect: null}]\n"
        "  - turns: [{q: 电子社保卡怎么领, expect: apply-e-card},\n"
        "            {q: 多少钱, expect: apply-e-card}]\n",
        encoding="utf-8",
    )
    code, out, _ = run_cli(capsys, "eval", str(questions), "--dialogues", str(dialogues))
    assert code == 0
    assert "top-1:        100.0% (1/1)" in out
    assert "follow-ups:   66.7% (2/3) right in context, 33.3% (1) asked alone" in out
    assert "context used: 1" in out
    assert "[apply-e-card] '电子社保卡怎么领' / '多少钱' -> fallback" in out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dialogues: [\n", "not valid YAML"),
        ("questions: []\n", "needs a 'dialogues' list"),
        ("dialogues:\n  - turns: [{q: 电子社保卡怎么领, expect: apply-e-card}]\n", "dialogue 1"),
        ("dialogues:\n  - turns: [{q: 1}, {expect: x}]\n", "needs 'q'"),
    ],
)
def test_eval_a_broken_dialogue_file_is_named_plainly(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, message: str
) -> None:
    dialogues = tmp_path / "d.yaml"
    dialogues.write_text(text, encoding="utf-8")
    code, _, err = run_cli(capsys, "eval", "--dialogues", str(dialogues))
    assert code == 2
    assert str(dialogues) in err and message in err and "Traceback" not in err


def test_eval_a_missing_dialogue_file_is_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "none.yaml"
    code, _, err = run_cli(capsys, "eval", "--dialogues", str(missing))
    assert code == 2 and str(missing) in err and "cannot read" in err
