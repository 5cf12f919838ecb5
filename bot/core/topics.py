"""New-topic benchmarks: an admin's own FAQ on a topic the shipped knowledge does not cover
(entries with 3-5 phrasings), asked in everyday speech by people who never saw the phrasings.

A benchmark is a folder with ``knowledge/*.yaml`` (the new entries) and ``questions.yaml``.
It is scored twice: *extension* (the shipped knowledge plus the new entries) and *fresh* (the
new entries alone, no lexicon)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.core.decision import Kind, Thresholds
from bot.core.evaluate import evaluate, load_labelled
from bot.core.faq import Faq, Meaning

SCENARIOS = ("extension", "fresh")


@dataclass(frozen=True)
class TopicScore:
    """How one scenario of one benchmark went."""

    topic: str
    scenario: str
    in_scope: int
    right: int
    wrong: int
    out_of_scope: int
    refused: int

    @property
    def right_rate(self) -> float:
        """Share of in-scope questions answered with the right entry first."""
        return self.right / self.in_scope if self.in_scope else 0.0

    @property
    def wrong_rate(self) -> float:
        """Share of in-scope questions answered with another entry."""
        return self.wrong / self.in_scope if self.in_scope else 0.0

    @property
    def refusal_rate(self) -> float:
        """Share of out-of-scope questions not answered."""
        return self.refused / self.out_of_scope if self.out_of_scope else 1.0

    def line(self) -> str:
        """One line of the summary table."""
        return (
            f"{self.topic:<10} {self.scenario:<10} right {self.right_rate:6.1%}  "
            f"wrong {self.wrong_rate:5.1%}  refused {self.refusal_rate:6.1%}  "
            f"({self.in_scope} in scope, {self.out_of_scope} out)"
        )


def benchmarks(folder: Path) -> list[Path]:
    """The benchmark folders under *folder* (each with questions.yaml and knowledge/)."""
    if not folder.is_dir():
        return []
    return sorted(
        path
        for path in folder.iterdir()
        if (path / "questions.yaml").is_file() and (path / "knowledge").is_dir()
    )


def _knowledge(benchmark: Path, shipped: Path, scenario: str, into: Path) -> Path:
    target = into / scenario
    if scenario == "extension":
        shutil.copytree(shipped, target, ignore=shutil.ignore_patterns("learned.yaml"))
    else:
        target.mkdir()
    for file in (benchmark / "knowledge").glob("*.yaml"):
        shutil.copy(file, target / file.name)
    return target


def score_topic(
    benchmark: Path,
    shipped: Path,
    meaning: Meaning | None = None,
    thresholds: Thresholds | None = None,
) -> Iterator[TopicScore]:
    """Both scenarios of one benchmark."""
    questions = load_labelled(benchmark / "questions.yaml")
    with tempfile.TemporaryDirectory(prefix="esscard-topic-") as temporary:
        for scenario in SCENARIOS:
            folder = _knowledge(benchmark, shipped, scenario, Path(temporary))
            faq = Faq(folder, thresholds, meaning=meaning)
            report = evaluate(faq, questions)
            wrong = sum(1 for m in report.misses if m.expect and m.decision == Kind.ANSWER)
            yield TopicScore(
                benchmark.name,
                scenario,
                report.in_scope,
                report.top1,
                wrong,
                report.out_of_scope,
                report.refused,
            )
