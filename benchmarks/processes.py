"""Figures that need a fresh process: start to first answer, load, reload and peak RSS."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bot.checkout import child_env

FIRST_QUESTION = "电子社保卡怎么领"


def time_to_first_answer(knowledge: Path, runs: int) -> list[float]:
    """Seconds from spawning ``python -m bot ask 电子社保卡怎么领`` to its first line of output,
    for each of *runs* runs; raises RuntimeError if the command fails."""
    command = [sys.executable, "-m", "bot", "--knowledge", str(knowledge), "ask", FIRST_QUESTION]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        with subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_env(),
            text=True,
            encoding="utf-8",
        ) as process:
            assert process.stdout is not None and process.stderr is not None
            first = process.stdout.readline()
            elapsed = time.perf_counter() - start
            process.stdout.read()
            error = process.stderr.read()
            code = process.wait()
        if code != 0 or not first.strip():
            raise RuntimeError(f"`bot ask` exited with {code}: {error.strip()[-300:]}")
        times.append(elapsed)
    return times


def measure_in_child(
    knowledge: Path,
    questions: list[Path],
    *,
    phrasings: int = 0,
    limit: int = 0,
    reloads: int = 5,
    timeout: float = 900,
) -> dict[str, Any]:
    """Run ``benchmarks.child`` and return what it printed (see there)."""
    command = [
        sys.executable,
        "-m",
        "benchmarks.child",
        "--knowledge",
        str(knowledge),
        "--phrasings",
        str(phrasings),
        "--limit",
        str(limit),
        "--reloads",
        str(reloads),
        "--questions",
        *map(str, questions),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, env=child_env(), timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench child exited with {done.returncode}: {done.stderr[-300:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def median(values: list[float]) -> float:
    """The median (0 for no values)."""
    return statistics.median(values) if values else 0.0
