"""The benchmark's one table: rows with a value, a target and PASS/FAIL, as text or JSON."""

from __future__ import annotations

import json
import math
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from typing import Any

PASS = "PASS"
FAIL = "FAIL"
SKIPPED = "skipped"


@dataclass
class Row:
    """One measured figure; ``passed`` is None when the row has no target."""

    key: str
    """A stable name for scripts and tests, e.g. ``latency.matcher.shipped``."""
    measure: str
    value: str
    target: str = ""
    passed: bool | None = None
    skipped: str = ""
    """Why the row was not measured (empty when it was)."""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def result(self) -> str:
        """PASS, FAIL, skipped or empty (no target)."""
        if self.skipped:
            return SKIPPED
        if self.passed is None:
            return ""
        return PASS if self.passed else FAIL


def skipped(key: str, measure: str, reason: str, target: str = "") -> Row:
    """A row that could not be measured, saying why."""
    return Row(key, measure, f"skipped: {reason}", target, None, reason)


@dataclass
class Report:
    """Every row of one run and the machine it ran on."""

    rows: list[Row] = field(default_factory=list)
    machine: dict[str, Any] = field(default_factory=dict)

    def row(self, key: str) -> Row:
        """The row named *key* (KeyError if absent)."""
        for row in self.rows:
            if row.key == key:
                return row
        raise KeyError(key)

    @property
    def failed(self) -> list[Row]:
        """Rows whose target was missed."""
        return [row for row in self.rows if row.passed is False and not row.skipped]


def machine() -> dict[str, Any]:
    """What the figures depend on: CPU count, Python, OS and how busy the machine was."""
    info: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.machine()}",
        "cpus": os.cpu_count() or 0,
    }
    if hasattr(os, "getloadavg"):
        info["load_average"] = round(os.getloadavg()[0], 2)
    return info


def format_table(report: Report) -> str:
    """A Markdown table (aligned for a terminal) under one line describing the machine."""
    m = report.machine
    head = (
        f"esscard-bot bench, {m.get('date', '')}: {m.get('system', '')}, "
        f"{m.get('cpus', '?')} CPUs, Python {m.get('python', '')}"
    )
    if "load_average" in m:
        head += f", load average {m['load_average']} at start"
    lines = [[row.measure, row.value, row.target, row.result] for row in report.rows]
    header = ["Measure", "Value", "Target", "Result"]
    widths = [max(len(cells[i]) for cells in [header, *lines]) for i in range(4)]

    def render(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([head, "", render(header), rule, *(render(cells) for cells in lines)])


def to_json(report: Report) -> str:
    """The report as one JSON object: ``machine`` and ``rows`` (with ``result``)."""
    rows = [{**asdict(row), "result": row.result} for row in report.rows]
    return json.dumps({"machine": report.machine, "rows": rows}, ensure_ascii=False, indent=2)


def ms(seconds: float) -> str:
    """Seconds as milliseconds, with sensible precision."""
    value = seconds * 1000
    if value < 10:
        return f"{value:.2f} ms"
    if value < 100:
        return f"{value:.1f} ms"
    return f"{value:,.0f} ms"


def secs(seconds: float) -> str:
    """Seconds, or milliseconds under one second."""
    return f"{seconds:.2f} s" if seconds >= 1 else ms(seconds)


def percentile(values: list[float], share: float) -> float:
    """The *share* (0-1) percentile by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(share * len(ordered))))
    return ordered[rank - 1]
