"""/teach: learned.yaml round trip, validation, undo and parsing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from bot.core.faq import Faq
from bot.core.knowledge import load_knowledge
from bot.core.teach import (
    HEADER,
    USAGE,
    TeachUsageError,
    is_undo,
    parse_teach,
    teach,
    teach_command,
    undo_teach,
)

HAND_WRITTEN = """\
# Hand-written: this comment must survive every /teach.
source:
  outlet: 测试日报
  date: 2021-11-30
category: 测试
entries:
  - id: apply-e-card
    title: 怎样领取电子社保卡
    questions: [电子社保卡怎么领, 领电子社保卡, 怎样申领电子社保卡, 如何办理电子社保卡,
                电子社保卡在哪里领, 电子社保卡去哪申请, 支付宝 电子社保卡, 电子社保卡 怎么开通]
    answer: 在支付宝或掌上12333里领取。
  - id: pension-verification
    title: 养老金资格认证
    questions: [养老金认证怎么做, 养老资格认证, 退休人员认证, 领养老金要认证吗,
                刷脸认证养老金, 养老认证在哪里做, 认证养老金资格, 养老金年审]
    answer: 在手机上刷脸认证。
"""
PENSION = "pension-verification"
NOW = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "knowledge"
    directory.mkdir()
    (directory / "cards.yaml").write_text(HAND_WRITTEN, encoding="utf-8")
    return directory


def learned(directory: Path) -> list[dict[str, object]]:
    data = yaml.safe_load((directory / "learned.yaml").read_text(encoding="utf-8"))
    return list(data["learned"])


def test_teach_round_trip_with_undo(kb_dir: Path) -> None:
    faq = Faq(kb_dir)
    question = "老头子年年得去折腾的那个事"
    assert faq.ask(question).entry is None

    result = teach(kb_dir, question, "pension-verification", now=NOW)
    assert result.ok, result.message
    assert "养老金资格认证" in result.message and "/teach undo" in result.message
    text = (kb_dir / "learned.yaml").read_text(encoding="utf-8")
    assert text.startswith(HEADER)
    [item] = learned(kb_dir)
    assert item == {"question": question, "id": "pension-verification", "added": NOW}
    assert "added: 2026-11-28T10:00:00+00:00" in text
    assert (kb_dir / "cards.yaml").read_text(encoding="utf-8") == HAND_WRITTEN

    faq.reload()
    assert load_knowledge(kb_dir).by_id["pension-verification"].learned == (question,)
    decision = faq.ask(question)
    assert decision.entry is not None and decision.entry.id == "pension-verification"

    second = teach(kb_dir, "在家刷脸那个", "pension-verification", now=NOW)
    assert second.ok
    assert [item["question"] for item in learned(kb_dir)] == [question, "在家刷脸那个"]

    undone = undo_teach(kb_dir)
    assert undone.ok and undone.question == "在家刷脸那个"
    assert [item["question"] for item in learned(kb_dir)] == [question]
    assert undo_teach(kb_dir).ok
    assert learned(kb_dir) == []
    assert load_knowledge(kb_dir).by_id["pension-verification"].learned == ()
    nothing = undo_teach(kb_dir)
    assert not nothing.ok and "没有可撤销" in nothing.message


def test_bad_entry_id_is_refused_and_file_left_alone(kb_dir: Path) -> None:
    assert teach(kb_dir, "第一个问法", "apply-e-card", now=NOW).ok
    before = (kb_dir / "learned.yaml").read_bytes()
    result = teach(kb_dir, "养老金怎么弄", "pension-verificaton")
    assert not result.ok
    assert "pension-verificaton" in result.message and "pension-verification" in result.message
    assert (kb_dir / "learned.yaml").read_bytes() == before
    assert not teach(kb_dir, "养老金怎么弄", "Not An Id!").ok
    assert (kb_dir / "learned.yaml").read_bytes() == before


def test_no_file_is_created_when_refused(kb_dir: Path) -> None:
    assert not teach(kb_dir, "养老金怎么弄", "no-such-entry").ok
    assert not (kb_dir / "learned.yaml").exists()
    assert sorted(p.name for p in kb_dir.iterdir()) == ["cards.yaml"]


def test_phrasing_of_another_entry_is_refused(kb_dir: Path) -> None:
    result = teach(kb_dir, "电子社保卡怎么领？", "pension-verification")
    assert not result.ok
    assert "怎样领取电子社保卡" in result.message and "apply-e-card" in result.message
    same = teach(kb_dir, "养老资格认证", "pension-verification")
    assert not same.ok and "不用再教" in same.message
    assert not (kb_dir / "learned.yaml").exists()


def test_taught_phrasing_cannot_be_taught_to_another_entry(kb_dir: Path) -> None:
    assert teach(kb_dir, "那个认证", "pension-verification").ok
    result = teach(kb_dir, "那个认证", "apply-e-card")
    assert not result.ok and "pension-verification" in result.message
    assert len(learned(kb_dir)) == 1


def test_full_validation_restores_the_file(kb_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever load_knowledge rejects after writing, the old learned.yaml comes back."""
    assert teach(kb_dir, "第一个问法", "apply-e-card", now=NOW).ok
    before = (kb_dir / "learned.yaml").read_bytes()
    from bot.core import teach as module

    monkeypatch.setattr(module, "_check", lambda kb, question, entry_id: None)
    result = teach(kb_dir, "电子社保卡怎么领", "pension-verification")
    assert not result.ok and "learned.yaml 保持原样" in result.message
    assert "apply-e-card" in result.message
    assert (kb_dir / "learned.yaml").read_bytes() == before
    assert not list(kb_dir.glob(".learned-*"))


def test_broken_knowledge_base_is_reported(kb_dir: Path) -> None:
    (kb_dir / "broken.yaml").write_text("entries: [\n", encoding="utf-8")
    result = teach(kb_dir, "新问法", "apply-e-card")
    assert not result.ok and "broken.yaml" in result.message
    assert not (kb_dir / "learned.yaml").exists()


def test_personal_data_is_never_taught(kb_dir: Path) -> None:
    result = teach(kb_dir, "我的手机13812345678收不到认证短信", "pension-verification")
    assert not result.ok and "手机号" in result.message
    assert not (kb_dir / "learned.yaml").exists()


def test_header_comments_of_learned_yaml_are_kept(kb_dir: Path) -> None:
    (kb_dir / "learned.yaml").write_text(
        "# Kept by the project.\n# Second line.\nlearned:\n"
        "  - {question: 手工加的问法, id: apply-e-card, note: 张三加的}\n",
        encoding="utf-8",
    )
    assert teach(kb_dir, "新的问法", "apply-e-card", now=NOW).ok
    text = (kb_dir / "learned.yaml").read_text(encoding="utf-8")
    assert text.startswith("# Kept by the project.\n# Second line.\nlearned:\n")
    assert learned(kb_dir)[0] == {
        "question": "手工加的问法",
        "id": "apply-e-card",
        "note": "张三加的",
    }
    assert learned(kb_dir)[1]["question"] == "新的问法"


def test_malformed_learned_yaml_is_not_overwritten(kb_dir: Path) -> None:
    (kb_dir / "learned.yaml").write_text("learned: {oops: 1}\n", encoding="utf-8")
    result = teach(kb_dir, "新的问法", "apply-e-card")
    assert not result.ok and "learned.yaml" in result.message
    assert (kb_dir / "learned.yaml").read_text(encoding="utf-8") == "learned: {oops: 1}\n"


def test_questions_needing_yaml_quotes_round_trip(kb_dir: Path) -> None:
    tricky = ["认证: 怎么弄 #2", "- 刷脸？", "问'引号' 和 \"双引号\"", "yes", "null"]
    for question in tricky:
        assert teach(kb_dir, question, "pension-verification").ok, question
    assert [item["question"] for item in learned(kb_dir)] == tricky


@pytest.mark.parametrize(
    ("text", "question", "entry_id"),
    [
        ("退休认证在手机上怎么弄 => pension-verification", "退休认证在手机上怎么弄", PENSION),
        ("退休认证怎么弄＝＞pension-verification", "退休认证怎么弄", PENSION),
        ("退休认证怎么弄 → Pension-Verification", "退休认证怎么弄", PENSION),
        ("「退休认证怎么弄」 => `pension-verification`", "退休认证怎么弄", PENSION),
        ("/teach 问 a=>b => apply-e-card", "问 a=>b", "apply-e-card"),
        ("  多  个\n空格 =>apply-e-card ", "多 个 空格", "apply-e-card"),
    ],
)
def test_parse(text: str, question: str, entry_id: str) -> None:
    assert parse_teach(text) == (question, entry_id)


@pytest.mark.parametrize("text", ["", "没有箭头 apply-e-card", "=> apply-e-card", "问题 =>  "])
def test_parse_usage(text: str) -> None:
    with pytest.raises(TeachUsageError) as error:
        parse_teach(text)
    assert USAGE in str(error.value)


def test_teach_command(kb_dir: Path) -> None:
    bad = teach_command(kb_dir, "随便说说")
    assert not bad.ok and USAGE in bad.message
    assert teach_command(kb_dir, "领卡咋弄 ＝＞ apply-e-card").ok
    assert is_undo(" UNDO ") and is_undo("撤销")
    assert teach_command(kb_dir, "undo").ok
    assert learned(kb_dir) == []
