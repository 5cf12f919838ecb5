"""The two-turn dialogue set (issue 15 item 5) is well formed and labelled with real entry ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.core.dialogues import DialogueFileError, Said, load_dialogues
from bot.core.faq import Faq
from tests.question_sets import DIALOGUES


def dialogues() -> list[Any]:
    data = yaml.safe_load(DIALOGUES.read_text(encoding="utf-8"))
    items = data["dialogues"]
    assert isinstance(items, list)
    return items


def test_every_dialogue_has_two_turns_labelled_with_a_known_entry_or_null(faq: Faq) -> None:
    ids = {entry.id for entry in faq.kb.entries}
    for number, dialogue in enumerate(dialogues(), start=1):
        turns = dialogue["turns"]
        assert len(turns) == 2, number
        for turn in turns:
            assert isinstance(turn["q"], str) and turn["q"].strip(), number
            assert turn["expect"] is None or turn["expect"] in ids, (number, turn)


def test_the_set_is_large_and_mixed_as_issue_15_asks() -> None:
    items = dialogues()
    follow_ups = [dialogue["turns"][1] for dialogue in items]
    topic_changes = [
        d for d in items if d["turns"][1]["expect"] not in (None, d["turns"][0]["expect"])
    ]
    assert len(items) >= 60
    assert sum(turn["expect"] is None for turn in follow_ups) >= 15
    assert sum(dialogue["turns"][0]["expect"] is None for dialogue in items) >= 10
    assert len(topic_changes) >= 10


def test_a_two_turn_dialogue_may_be_written_first_and_follow(tmp_path: Path) -> None:
    turns = tmp_path / "turns.yaml"
    turns.write_text(
        "dialogues:\n  - turns:\n      - {q: 养老认证怎么做, expect: pension-verification}\n"
        "      - {q: 在哪办, expect: null}\n",
        encoding="utf-8",
    )
    pairs = tmp_path / "pairs.yaml"
    pairs.write_text(
        "- first: 养老认证怎么做\n  first_expect: pension-verification\n"
        "  follow: 在哪办\n  expect: null\n",
        encoding="utf-8",
    )
    assert load_dialogues(pairs) == load_dialogues(turns)
    assert load_dialogues(pairs)[0][0] == Said("养老认证怎么做", "pension-verification")
    broken = tmp_path / "broken.yaml"
    broken.write_text("- first: 养老认证怎么做\n  expect: null\n", encoding="utf-8")
    with pytest.raises(DialogueFileError, match="dialogue 1 needs 'turns'"):
        load_dialogues(broken)
