"""The labelled question sets under ``tests/data``, found by folder, each with its bar in its
header.

``questions/*.yaml`` are the scored sets, ``holdout/holdout.yaml`` the one frozen holdout and
``known_misses.yaml`` the snapshot of what the scored sets miss today. After a change that
moves a miss, write the snapshot again and commit its diff with the change::

    .venv/bin/python -m tests.question_sets      # or: make known-misses
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.core.evaluate import Labelled, Report, evaluate, load_labelled
from bot.core.faq import Faq

DATA = Path(__file__).resolve().parent / "data"
QUESTIONS = DATA / "questions"
HOLDOUT = DATA / "holdout" / "holdout.yaml"
DIALOGUES = DATA / "dialogues" / "follow_ups.yaml"
DIALOGUES_FROM_ANSWERS = DATA / "dialogues" / "follow_ups_from_answers.yaml"
"""A second development set, by a writer who saw the answers but not the phrasings."""
DIALOGUE_HOLDOUT = DATA / "holdout" / "dialogues.yaml"
"""Frozen two-turn dialogues: scored, never tuned against."""
DEVELOPMENT = QUESTIONS / "development.yaml"
"""The set ``esscard-bot eval`` reads by default; it covers every entry."""
KNOWN_MISSES = DATA / "known_misses.yaml"
Miss = tuple[str, str | None]
"""A missed question and its label (None: out of scope)."""


@dataclass(frozen=True)
class Bar:
    """The least share of right first answers and of refused out-of-scope questions."""

    top1: float
    refused: float

    def failures(self, report: Report) -> list[str]:
        """What in *report* falls below this bar, in words."""
        failures = []
        if report.top1_rate < self.top1:
            failures.append(f"top-1 {report.top1_rate:.1%} < {self.top1:.0%}")
        if report.refusal_rate < self.refused:
            failures.append(f"refusal {report.refusal_rate:.1%} < {self.refused:.0%}")
        return failures


@dataclass(frozen=True)
class QuestionSet:
    """One labelled file and what its header says."""

    path: Path
    about: str
    written_by: str
    bar: Bar
    bar_with_sentence_model: Bar | None

    @property
    def name(self) -> str:
        """The file's name without ``.yaml``."""
        return self.path.stem

    def questions(self) -> list[Labelled]:
        """The labelled questions."""
        return load_labelled(self.path)


def header(path: Path) -> dict[str, Any]:
    """The file's top-level keys other than its list of questions or dialogues."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a question file is a mapping with a header and 'questions'")
    return {key: value for key, value in data.items() if key not in ("questions", "dialogues")}


def _bar(path: Path, value: object, key: str) -> Bar:
    if not isinstance(value, dict) or set(value) != {"top1", "refused"}:
        raise ValueError(
            f"{path}: '{key}' needs top1 and refused, e.g. {{top1: 0.9, refused: 0.8}}"
        )
    top1, refused = value["top1"], value["refused"]
    if not all(isinstance(x, float | int) and 0 <= x <= 1 for x in (top1, refused)):
        raise ValueError(f"{path}: '{key}' takes shares between 0 and 1")
    return Bar(float(top1), float(refused))


def read_set(path: Path) -> QuestionSet:
    """The set at *path*; ``ValueError`` naming the file if its header lacks something."""
    head = header(path)
    for key in ("about", "written_by", "bar"):
        if not head.get(key):
            raise ValueError(f"{path}: the header needs '{key}'")
    sentence = head.get("bar_with_sentence_model")
    return QuestionSet(
        path,
        str(head["about"]),
        str(head["written_by"]),
        _bar(path, head["bar"], "bar"),
        None if sentence is None else _bar(path, sentence, "bar_with_sentence_model"),
    )


def scored_sets() -> list[QuestionSet]:
    """Every set under ``questions/``, by name."""
    return [read_set(path) for path in sorted(QUESTIONS.glob("*.yaml"))]


def holdout() -> QuestionSet:
    """The frozen holdout."""
    return read_set(HOLDOUT)


def every_question() -> list[str]:
    """Every labelled question of the scored sets and the holdout."""
    return [item.question for qset in [*scored_sets(), holdout()] for item in qset.questions()]


def misses(faq: Faq, qset: QuestionSet) -> set[Miss]:
    """The questions of *qset* that *faq* gets wrong."""
    return {(miss.question, miss.expect) for miss in evaluate(faq, qset.questions()).misses}


def load_known_misses() -> dict[str, set[Miss]]:
    """The snapshot: set name -> its known misses."""
    data = yaml.safe_load(KNOWN_MISSES.read_text(encoding="utf-8")) or {}
    return {
        name: {(item["q"], item["expect"]) for item in items or []}
        for name, items in data.get("misses", {}).items()
    }


def write_known_misses(faq: Faq) -> int:
    """Write the snapshot of what *faq* misses on every scored set; the number of misses."""
    lines = [
        "# What the lexical matcher (the tests' `faq`) misses on each set under questions/.",
        "# Written by `.venv/bin/python -m tests.question_sets` (make known-misses); do not edit.",
        "# A question missed but not listed fails tests/core/test_evaluate.py; one listed but",
        "# answered right is reported there, and leaves the list when it is written again.",
        "# The frozen holdout is not listed: nobody tunes against it.",
        "misses:",
    ]
    count = 0
    for qset in scored_sets():
        found = sorted(misses(faq, qset), key=lambda miss: (miss[1] or "", miss[0]))
        count += len(found)
        lines.append(f"  {qset.name}:" + ("" if found else " []"))
        for question, expect in found:
            lines.append(f"    - q: {_quoted(question)}")
            lines.append(f"      expect: {expect or 'null'}")
    KNOWN_MISSES.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return count


def _quoted(text: str) -> str:
    return yaml.safe_dump(text, allow_unicode=True, width=1_000, default_style='"').strip()


def main() -> int:
    """Write ``known_misses.yaml`` from the shipped knowledge base, as the tests read it."""
    from tests.conftest import KNOWLEDGE

    count = write_known_misses(Faq(KNOWLEDGE))
    print(f"{KNOWN_MISSES}: {count} known misses on {len(scored_sets())} sets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
