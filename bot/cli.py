"""The ``esscard-bot`` command line: run the bot, ask, chat, check and evaluate the FAQ."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from bot.config import (
    ConfigError,
    default_knowledge_dir,
    environment,
    load_meaning,
    load_thresholds,
)
from bot.core.calibration import calibrate
from bot.core.decision import Thresholds
from bot.core.evaluate import evaluate, format_report, load_labelled
from bot.core.faq import Faq, Meaning
from bot.core.knowledge import KnowledgeError, Problem, load_knowledge
from bot.core.lexicon import load_lexicon
from bot.core.render import (
    NONE_OF_THESE_TEXT,
    Action,
    Button,
    Reply,
    render_category,
    render_decision,
    render_entry,
    render_help,
    render_menu,
    render_welcome,
)
from bot.core.review import review

DEFAULT_EVAL_FILE = Path("tests/data/eval_questions.yaml")


def _print_problems(error: KnowledgeError) -> None:
    for problem in error.problems:
        print(problem, file=sys.stderr)


def _thresholds() -> Thresholds:
    errors: list[str] = []
    thresholds = load_thresholds(environment(), errors)
    if errors:
        raise ConfigError("\n".join(errors))
    return thresholds


def _faq(args: argparse.Namespace) -> Faq:
    env = environment()
    directory = args.knowledge or default_knowledge_dir(env)
    errors: list[str] = []
    semantic, cache_dir = load_meaning(env, errors)
    if errors:
        raise ConfigError("\n".join(errors))
    try:
        meaning = Meaning.load(semantic, cache_dir)
    except RuntimeError as error:
        raise ConfigError(f"BOT_SEMANTIC=on, but {error}") from None
    return Faq(directory, _thresholds(), meaning=meaning)


def _questions(args: argparse.Namespace) -> Iterator[str]:
    if args.question:
        yield " ".join(args.question)
        return
    for line in sys.stdin:
        line = line.rstrip("\n")
        if line.strip():
            yield line


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer questions from the arguments or stdin."""
    faq = _faq(args)
    for question in _questions(args):
        decision = faq.ask(question)
        reply = render_decision(decision, faq.kb)
        if args.json:
            record = {
                "question": question,
                "decision": str(decision.kind),
                "id": decision.entry.id if decision.entry else None,
                "title": decision.entry.title if decision.entry else None,
                "score": round(decision.score, 4),
                "suggestions": [entry.id for entry in decision.suggestions],
                "answer": reply.text,
            }
            print(json.dumps(record, ensure_ascii=False), flush=True)
        else:
            print(_show(reply), end="\n\n", flush=True)
    return 0


def _show(reply: Reply, buttons: list[Button] | None = None) -> str:
    """The reply as a console shows it; pressable buttons are numbered into *buttons*."""
    lines = [reply.text]
    for image in reply.images:
        where = str(image.path) if image.path else image.url
        lines.append(f"[图片] {where}  {image.caption}")
    for row in reply.buttons:
        labels = []
        for button in row:
            if buttons is not None:
                buttons.append(button)
                labels.append(f"[{len(buttons)}] {button.label}")
            else:
                labels.append(f"[{button.label}]")
        lines.append("  ".join(labels))
    return "\n".join(lines)


def _press(button: Button, faq: Faq) -> Reply:
    kb = faq.kb
    if button.action is Action.ENTRY and button.value in kb.by_id:
        return render_entry(kb.by_id[button.value], kb)
    if button.action is Action.CATEGORY:
        return render_category(kb, int(button.value))
    if button.action is Action.NONE_OF_THESE:
        return Reply(NONE_OF_THESE_TEXT, NONE_OF_THESE_TEXT)
    if button.action in (Action.VOTE_UP, Action.VOTE_DOWN):
        return Reply("谢谢您的反馈！", "谢谢您的反馈！")
    return render_menu(kb)


def cmd_chat(args: argparse.Namespace) -> int:
    """An interactive console chat showing what the bot would send."""
    faq = _faq(args)
    print(
        "社保卡小助手（离线试用）。输入问题回车；输入按钮编号等于点按钮；/menu 菜单，/quit 退出。"
    )
    reply = render_welcome(faq.kb)
    while True:
        buttons: list[Button] = []
        print("\n" + _show(reply, buttons) + "\n")
        try:
            line = input("你：").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if line in ("/quit", "/exit", "q"):
            return 0
        if line.isdigit() and 1 <= int(line) <= len(buttons):
            reply = _press(buttons[int(line) - 1], faq)
        elif line in ("/start", "/menu"):
            reply = render_welcome(faq.kb) if line == "/start" else render_menu(faq.kb)
        elif line == "/help":
            reply = render_help()
        elif line:
            reply = render_decision(faq.ask(line), faq.kb)


def cmd_kb_check(args: argparse.Namespace) -> int:
    """Validate the knowledge base and print every problem as file:line: message."""
    directory = Path(args.directory) if args.directory else default_knowledge_dir(environment())
    problems: list[Problem] = []
    try:
        kb = load_knowledge(directory)
    except KnowledgeError as error:
        problems.extend(error.problems)
        kb = None
    try:
        load_lexicon(directory)
    except KnowledgeError as error:
        problems.extend(error.problems)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) found.", file=sys.stderr)
        return 1
    assert kb is not None
    print(f"OK: {len(kb.entries)} entries, {kb.phrasing_count} phrasings in {directory}")
    faq = Faq(directory, _thresholds())
    calibration = calibrate(faq.matcher, faq.thresholds)
    notes = review(faq.matcher, calibration, faq.thresholds)
    for note in notes:
        print(f"warning: {note}")
    print(f"note: calibration: {calibration.summary()} (in use: {faq.thresholds.answer:.2f})")
    print(f"note: {len(kb.declined)} questions to decline; {len(notes)} warning(s)")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Accuracy on a labelled question file."""
    faq = _faq(args)
    report = evaluate(faq, load_labelled(Path(args.file)))
    print(format_report(report))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """The /stats and /unanswered figures from the database, as text or CSV."""
    import asyncio

    from bot.config import load_settings
    from bot.storage.report import format_stats, format_unanswered, report_csv
    from bot.storage.sqlite import SqliteStorage

    settings = load_settings(require_token=False)
    if not settings.database.is_file():
        print(f"No database at {settings.database} (BOT_DATABASE) yet.", file=sys.stderr)
        return 1
    try:
        kb = load_knowledge(args.knowledge or settings.knowledge_dir)
        titles = {entry.id: entry.title for entry in kb.entries}
    except KnowledgeError:
        titles = {}

    async def collect() -> str | None:
        storage = SqliteStorage(settings.database, retention_days=settings.retention_days)
        await storage.open()
        try:
            if not storage.available:
                return None
            stats = await storage.stats(args.days)
            groups = await storage.unanswered(args.limit, days=args.days)
        finally:
            await storage.close()
        if args.csv:
            return report_csv(stats, groups)
        return format_stats(stats, titles) + "\n\n" + format_unanswered(groups) + "\n"

    output = asyncio.run(collect())
    if output is None:
        print(f"Cannot open the database {settings.database}; see the log above.", file=sys.stderr)
        return 1
    sys.stdout.write(output)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Start the Telegram bot."""
    from bot.tg.runner import run

    code: int = run()
    return code


def cmd_bench(args: argparse.Namespace) -> int:
    """Measure speed, memory and accuracy against the targets; print one table."""
    from bot.bench.report import format_table, to_json
    from bot.bench.run import Options, run_bench

    directory = args.knowledge or default_knowledge_dir(environment())
    options = Options.make(
        Path(directory), quick=args.quick, skip_e2e=args.skip_e2e, thresholds=_thresholds()
    )
    report = run_bench(options, progress=lambda step: print(f"... {step}", file=sys.stderr))
    print(to_json(report) if args.json else format_table(report))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """All subcommands and their options."""
    parser = argparse.ArgumentParser(
        prog="esscard-bot", description="社保卡问答机器人 / social security card FAQ bot"
    )
    parser.add_argument(
        "--knowledge",
        type=Path,
        help="knowledge folder (default: BOT_KNOWLEDGE_DIR or knowledge/)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("run", help="start the Telegram bot").set_defaults(handler=cmd_run)
    ask = commands.add_parser("ask", help="answer questions (arguments, or one a line on stdin)")
    ask.add_argument("--json", action="store_true", help="one JSON object a line")
    ask.add_argument("question", nargs="*")
    ask.set_defaults(handler=cmd_ask)
    commands.add_parser("chat", help="try the bot in the console").set_defaults(handler=cmd_chat)
    kb = commands.add_parser("kb", help="knowledge base tools")
    kb_commands = kb.add_subparsers(dest="kb_command", metavar="KB_COMMAND", required=True)
    check = kb_commands.add_parser("check", help="validate the knowledge base")
    check.add_argument("directory", nargs="?")
    check.set_defaults(handler=cmd_kb_check)
    evaluation = commands.add_parser("eval", help="accuracy on a labelled question file")
    evaluation.add_argument("file", nargs="?", default=str(DEFAULT_EVAL_FILE))
    evaluation.set_defaults(handler=cmd_eval)
    report = commands.add_parser("report", help="usage figures and unanswered questions")
    report.add_argument("--days", type=int, default=7, help="look back this many days (7)")
    report.add_argument("--limit", type=int, default=20, help="unanswered groups shown (20)")
    report.add_argument("--csv", action="store_true", help="CSV on stdout instead of text")
    report.set_defaults(handler=cmd_report)
    bench = commands.add_parser("bench", help="measure speed and memory against the targets")
    bench.add_argument("--quick", action="store_true", help="small sizes, few repetitions")
    bench.add_argument("--skip-e2e", action="store_true", help="no run through the fake API")
    bench.add_argument("--json", action="store_true", help="the table as JSON")
    bench.set_defaults(handler=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``esscard-bot`` and ``python -m bot``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args))
    except KnowledgeError as error:
        print("The knowledge base has problems:", file=sys.stderr)
        _print_problems(error)
        return 1
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``esscard-bot eval | head``): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
