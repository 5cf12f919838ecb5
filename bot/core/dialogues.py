"""Measuring follow-up questions on a labelled dialogue file."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.core.conversation import Conversations
from bot.core.decision import Decision, Kind
from bot.core.faq import Faq
from bot.core.service import read_question


class DialogueFileError(ValueError):
    """A dialogue file that cannot be read, with what is wrong and where."""


@dataclass(frozen=True)
class Said:
    """One message of a dialogue and the entry that should answer it (None: refuse)."""

    question: str
    expect: str | None


@dataclass(frozen=True)
class FollowUpMiss:
    """A follow-up answered wrongly, with the conversation before it."""

    before: tuple[str, ...]
    question: str
    expect: str | None
    decision: str
    got: str | None
    context: bool


@dataclass
class DialogueReport:
    """Follow-up accuracy: every message after a dialogue's first, asked in its conversation."""

    dialogues: int = 0
    follow_ups: int = 0
    right: int = 0
    right_alone: int = 0
    """Right when each follow-up is asked on its own, as before conversations."""
    context_used: int = 0
    misses: list[FollowUpMiss] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Share of follow-ups answered right (the right entry, or refused when so labelled)."""
        return self.right / self.follow_ups if self.follow_ups else 0.0

    @property
    def rate_alone(self) -> float:
        """The same share without conversation context."""
        return self.right_alone / self.follow_ups if self.follow_ups else 0.0


def load_dialogues(path: Path) -> list[list[Said]]:
    """Read ``dialogues: [{turns: [{q, expect}, ...]}]`` from a YAML file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise DialogueFileError(f"{path}: cannot read the dialogue file: {error}") from error
    except yaml.YAMLError as error:
        raise DialogueFileError(f"{path}: not valid YAML: {error}") from error
    items = data.get("dialogues") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise DialogueFileError(f"{path}: the file needs a 'dialogues' list")
    dialogues = []
    for number, item in enumerate(items, start=1):
        turns = item.get("turns") if isinstance(item, dict) else None
        if not isinstance(turns, list) or len(turns) < 2:
            raise DialogueFileError(f"{path}: dialogue {number} needs 'turns': two or more")
        dialogue = []
        for turn in turns:
            if not isinstance(turn, dict) or not isinstance(turn.get("q"), str):
                raise DialogueFileError(
                    f"{path}: dialogue {number}: every turn needs 'q' (text) and 'expect'"
                )
            expect = turn.get("expect")
            dialogue.append(Said(turn["q"], None if expect is None else str(expect)))
        dialogues.append(dialogue)
    return dialogues


def _right(decision: Decision, expect: str | None) -> bool:
    if expect is None:
        return decision.kind is not Kind.ANSWER
    return (
        decision.kind is Kind.ANSWER
        and decision.entry is not None
        and (decision.entry.id == expect)
    )


def evaluate_dialogues(faq: Faq, dialogues: Iterable[list[Said]]) -> DialogueReport:
    """Ask every dialogue in a conversation of its own; score every message after the first."""
    report = DialogueReport()
    conversations = Conversations(faq)
    for number, dialogue in enumerate(dialogues):
        report.dialogues += 1
        for position, said in enumerate(dialogue):
            turn = conversations.ask(number, read_question(said.question).matching)
            if position == 0:
                continue
            report.follow_ups += 1
            report.context_used += turn.used_context
            report.right_alone += _right(
                faq.ask(read_question(said.question).matching), said.expect
            )
            decision = turn.decision
            if _right(decision, said.expect):
                report.right += 1
                continue
            got = decision.entry.id if decision.kind is Kind.ANSWER and decision.entry else None
            before = tuple(s.question for s in dialogue[:position])
            report.misses.append(
                FollowUpMiss(
                    before, said.question, said.expect, decision.kind, got, turn.used_context
                )
            )
        conversations.forget(number)
    return report


def format_dialogue_report(report: DialogueReport) -> str:
    """A plain-text summary with every miss."""
    lines = [
        f"dialogues:    {report.dialogues}",
        f"follow-ups:   {report.rate:.1%} ({report.right}/{report.follow_ups}) right in context"
        f", {report.rate_alone:.1%} ({report.right_alone}) asked alone",
        f"context used: {report.context_used}",
    ]
    if report.misses:
        lines += ["", "follow-up misses:"]
        for miss in report.misses:
            how = " (context)" if miss.context else ""
            lines.append(
                f"  [{miss.expect or '-'}] {' / '.join(miss.before)!r} / {miss.question!r} -> "
                f"{miss.decision} {miss.got or ''}{how}"
            )
    return "\n".join(lines)
