"""``python -m benchmarks.child``: load a knowledge base in a fresh process, answer questions,
print load/reload times and peak RSS as one JSON line (the parent cannot measure these on
itself: it has already loaded jieba and larger knowledge bases)."""

from __future__ import annotations

import argparse
import functools
import json
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path


def peak_rss_mb() -> float:
    """This process's peak resident set size in MiB (``ru_maxrss`` is KiB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main(argv: list[str] | None = None) -> int:
    """Measure one knowledge base; see the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.child")
    parser.add_argument("--knowledge", type=Path, required=True)
    parser.add_argument("--phrasings", type=int, default=0, help="synthetic KB of this size")
    parser.add_argument("--questions", type=Path, nargs="*", default=[])
    parser.add_argument("--limit", type=int, default=0, help="answer only this many")
    parser.add_argument("--reloads", type=int, default=5)
    args = parser.parse_args(argv)

    start = time.perf_counter()
    from bot.core.decision import Thresholds
    from bot.core.evaluate import load_labelled
    from bot.core.faq import Faq

    imported = time.perf_counter()
    faq = Faq(args.knowledge)
    loaded = time.perf_counter()
    result: dict[str, float | int] = {
        "import_s": imported - start,
        "load_s": loaded - imported,
    }
    reloads = []
    for _ in range(args.reloads if not args.phrasings else 0):
        begin = time.perf_counter()
        faq.reload()
        reloads.append(time.perf_counter() - begin)
    if reloads:
        result["reload_s"] = statistics.median(reloads)
        result["reload_max_s"] = max(reloads)
    answer: Callable[[str], object] = faq.ask
    if args.phrasings:
        from benchmarks.latency import ask as ask_on
        from benchmarks.synthetic import synthetic_kb
        from bot.core.matcher import Matcher

        begin = time.perf_counter()
        kb = synthetic_kb(faq.kb, faq.matcher.lexicon, args.phrasings)
        matcher = Matcher(kb, faq.matcher.lexicon)
        del faq
        result["build_s"] = time.perf_counter() - begin
        answer = functools.partial(ask_on, matcher, Thresholds())
        result["phrasings"] = kb.phrasing_count
    questions = [item.question for path in args.questions for item in load_labelled(path)]
    if args.limit:
        questions = questions[: args.limit]
    for question in questions:
        answer(question)
    result["answered"] = len(questions)
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
