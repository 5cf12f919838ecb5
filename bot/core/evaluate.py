"""Measuring the matcher on a labelled question file."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.core.decision import Kind
from bot.core.faq import Faq
from bot.core.knowledge import KnowledgeError, Problem, load_yaml, read_text, yaml_problem
from bot.core.service import read_question


class QuestionFileError(KnowledgeError):
    """A labelled question file cannot be used (it is not the knowledge base that is wrong)."""


@dataclass(frozen=True)
class Labelled:
    """A question and the entry that should answer it (None: out of scope)."""

    question: str
    expect: str | None


@dataclass(frozen=True)
class Miss:
    """A question the matcher got wrong."""

    question: str
    expect: str | None
    decision: str
    got: str | None
    score: float
    top3: tuple[str, ...]


@dataclass
class Report:
    """Accuracy figures for one run."""

    in_scope: int = 0
    top1: int = 0
    top3: int = 0
    out_of_scope: int = 0
    refused: int = 0
    misses: list[Miss] = field(default_factory=list)
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def top1_rate(self) -> float:
        """Share of in-scope questions answered with the right entry."""
        return self.top1 / self.in_scope if self.in_scope else 0.0

    @property
    def top3_rate(self) -> float:
        """Share of in-scope questions whose entry is among the top three candidates."""
        return self.top3 / self.in_scope if self.in_scope else 0.0

    @property
    def refusal_rate(self) -> float:
        """Share of out-of-scope questions not answered."""
        return self.refused / self.out_of_scope if self.out_of_scope else 1.0


def load_labelled(path: Path) -> list[Labelled]:
    """Read ``questions: [{q, expect}]`` from a YAML file; ``QuestionFileError`` if unusable."""
    try:
        text = read_text(path)
    except KnowledgeError as error:
        raise QuestionFileError(error.problems) from None
    assert text is not None
    try:
        data = load_yaml(text)
    except (yaml.YAMLError, RecursionError) as error:
        raise QuestionFileError([yaml_problem(str(path), text, error)]) from None
    items = data.get("questions") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise QuestionFileError([Problem(str(path), 1, "the file needs a 'questions' list")])
    labelled = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("q"), str):
            raise QuestionFileError(
                [Problem(str(path), 1, f"question {number} needs 'q' (text) and 'expect'")]
            )
        expect = item.get("expect")
        labelled.append(Labelled(item["q"], None if expect is None else str(expect)))
    return labelled


def evaluate(faq: Faq, questions: Iterable[Labelled]) -> Report:
    """Ask every question and compare the decision with its label."""
    report = Report()
    for item in questions:
        decision = faq.ask(read_question(item.question).matching)
        got = decision.entry.id if decision.entry else None
        top3 = tuple(c.entry.id for c in decision.candidates[:3])
        if item.expect is None:
            report.out_of_scope += 1
            refused = decision.kind is not Kind.ANSWER
            report.refused += refused
            if not refused:
                report.confusion[("(out of scope)", got or "")] += 1
        else:
            report.in_scope += 1
            report.top1 += got == item.expect
            report.top3 += item.expect in top3
            if got != item.expect:
                report.confusion[(item.expect, got or f"({decision.kind})")] += 1
            refused = got == item.expect
        if not refused:
            report.misses.append(
                Miss(item.question, item.expect, decision.kind, got, decision.score, top3)
            )
    return report


def format_report(report: Report) -> str:
    """A plain-text summary with every miss."""
    lines = [
        f"in scope:     {report.in_scope}",
        f"top-1:        {report.top1_rate:.1%} ({report.top1}/{report.in_scope})",
        f"top-3:        {report.top3_rate:.1%} ({report.top3}/{report.in_scope})",
        f"out of scope: {report.out_of_scope}",
        f"refusal:      {report.refusal_rate:.1%} ({report.refused}/{report.out_of_scope})",
    ]
    if report.confusion:
        lines += ["", "confusion (expected -> got: count):"]
        for (expect, got), count in report.confusion.most_common():
            lines.append(f"  {expect} -> {got}: {count}")
    if report.misses:
        lines += ["", "misses:"]
        for miss in report.misses:
            lines.append(
                f"  [{miss.expect or '-'}] {miss.question!r} -> {miss.decision} "
                f"{miss.got or ''} {miss.score:.2f} top3={','.join(miss.top3)}"
            )
    return "\n".join(lines)
