"""Confidence bars fitted to one knowledge base: each phrasing asked with itself left out,
and each question to decline, show where answering starts to go wrong."""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.core.decision import Kind, Thresholds, decide
from bot.core.matcher import Matcher

LOWEST = 0.45
HIGHEST = 0.65
"""The answer bar is chosen in this range: outside it, a knowledge base's own phrasings say
too little about the questions people really type."""
STEP = 0.01
WRONG_COST = 3
"""A wrong answer costs as much as this many right ones: it sends someone to the wrong place."""
MAX_SAMPLES = 600
"""At most this many phrasings are asked (spread over all entries), to keep a reload quick."""


@dataclass(frozen=True)
class Trial:
    """One question asked with itself left out: what the bot would do at any answer bar."""

    text: str
    expect: str | None
    """The entry it belongs to (None: a question to decline)."""
    got: str | None
    """The best entry eligible to answer it (None: no entry, or a question to decline wins)."""
    score: float


@dataclass(frozen=True)
class Calibration:
    """The chosen answer bar and what it does on the knowledge base's own questions."""

    answer: float
    trials: tuple[Trial, ...]

    def answered(self, bar: float | None = None) -> tuple[int, int, int]:
        """At *bar* (default: the chosen one): phrasings answered right, answered wrong, and
        questions to decline answered."""
        bar = self.answer if bar is None else bar
        right = wrong = declined = 0
        for trial in self.trials:
            if trial.got is None or trial.score < bar:
                continue
            if trial.expect is None:
                declined += 1
            elif trial.got == trial.expect:
                right += 1
            else:
                wrong += 1
        return right, wrong, declined

    @property
    def collisions(self) -> tuple[Trial, ...]:
        """Phrasings that another entry would answer at the chosen bar."""
        return tuple(
            t
            for t in self.trials
            if t.expect is not None and t.got not in (None, t.expect) and t.score >= self.answer
        )

    def summary(self) -> str:
        """One line for ``kb check`` and the log."""
        right, wrong, declined = self.answered()
        phrasings = sum(1 for t in self.trials if t.expect is not None)
        examples = len(self.trials) - phrasings
        return (
            f"answer bar {self.answer:.2f}: with itself left out, {right} of {phrasings} "
            f"phrasings answered right, {wrong} wrong; {declined} of {examples} questions to "
            "decline answered"
        )


def calibrate(matcher: Matcher, thresholds: Thresholds) -> Calibration:
    """Ask every phrasing (up to ``MAX_SAMPLES``) and every question to decline with itself
    left out, and choose the answer bar that answers most right for least wrong."""
    loose = replace(thresholds, answer=0.0, margin=0.0, vague=0)
    trials = []
    texts = [(text, entry.id) for entry in matcher.kb.entries for text in entry.questions]
    stride = max(1, -(-len(texts) // MAX_SAMPLES))
    samples = texts[::stride] + [(example.text, None) for example in matcher.kb.declined]
    for text, expect in samples:
        decision = decide(text, *matcher.rank(text, leave_out=True), loose)
        got = decision.entry.id if decision.kind is Kind.ANSWER and decision.entry else None
        trials.append(Trial(text, expect, got, decision.score if got else 0.0))
    result = Calibration(thresholds.answer, tuple(trials))
    best = (float("-inf"), thresholds.answer)
    steps = round((HIGHEST - LOWEST) / STEP)
    for step in range(steps + 1):
        bar = round(LOWEST + step * STEP, 2)
        right, wrong, declined = result.answered(bar)
        value = right - WRONG_COST * (wrong + declined)
        if value > best[0]:
            best = (value, bar)
    return replace(result, answer=best[1])
