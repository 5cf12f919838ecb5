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
from bot.core.decision import Kind, Thresholds
from bot.core.dialogues import (
    DialogueFileError,
    evaluate_dialogues,
    format_dialogue_report,
    load_dialogues,
)
from bot.core.evaluate import QuestionFileError, evaluate, format_report, load_labelled
from bot.core.faq import Faq, Meaning
from bot.core.knowledge import LEARNED_FILE, KnowledgeError, Problem, load_knowledge
from bot.core.lexicon import GENERIC_TERMS, LEXICON_DIR, load_lexicon, terms_file
from bot.core.render import (
    Action,
    Button,
    Reply,
    render_help,
    render_menu,
    render_text,
    render_welcome,
)
from bot.core.review import review
from bot.core.service import CONSOLE, Answering, Incoming, Outcome
from bot.core.strings_zh import (
    CONSOLE_BANNER,
    CONSOLE_IMAGE,
    CONSOLE_NOT_STORED,
    CONSOLE_PROMPT,
    CONSOLE_TAUGHT,
    CONSOLE_TAUGHT_NOT_LOADED,
    NONE_OF_THESE_TEXT,
    THANKS_UP,
    UNREADABLE_GROUPS,
)
from bot.core.teach import USAGE as TEACH_USAGE
from bot.core.teach import teach_command
from bot.core.topics import benchmarks, score_topic

DEFAULT_EVAL_FILE = Path("tests/data/questions/development.yaml")
DEFAULT_HOLDOUT_FILE = Path("tests/data/holdout/holdout.yaml")
DEFAULT_DIALOGUE_FILE = Path("tests/data/dialogues/follow_ups.yaml")
DEFAULT_DIALOGUE_HOLDOUT = Path("tests/data/holdout/dialogues.yaml")
DEFAULT_TOPICS = Path("tests/data/topics")
DEMO_QUESTION = "电子社保卡怎么领"
BENCH_NEEDS_CHECKOUT = (
    "esscard-bot bench runs from a source checkout of esscard-bot (a git clone): "
    "run `make bench` there."
)


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


def _conversations() -> Iterator[list[str]]:
    """Conversations from stdin: consecutive lines are one, a blank line starts the next."""
    lines: list[str] = []
    for line in sys.stdin:
        line = line.rstrip("\n")
        if line.strip():
            lines.append(line)
        elif lines:
            yield lines
            lines = []
    if lines:
        yield lines


def _print_answer(question: str, outcome: Outcome, as_json: bool, conversation: bool) -> None:
    decision = outcome.decision
    if not as_json:
        print(_show(outcome.reply), end="\n\n", flush=True)
        return
    record: dict[str, object] = {
        "question": question,
        # Small talk keeps the documented value "fallback": scripts read these three values.
        "decision": str(Kind.FALLBACK if decision.kind is Kind.SMALL_TALK else decision.kind),
        "id": decision.entry.id if decision.entry else None,
        "title": decision.entry.title if decision.entry else None,
        "score": round(decision.score, 4),
        "suggestions": [entry.id for entry in decision.suggestions],
        "answer": outcome.reply.text,
    }
    if conversation:
        record["context"] = outcome.turn.used_context
        record["assumed"] = outcome.turn.assumed.id if outcome.turn.assumed else None
    print(json.dumps(record, ensure_ascii=False), flush=True)


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer questions from the arguments or stdin; with --conversation, in conversations."""
    if args.conversation and args.question:
        print(
            "ask --conversation reads conversations from stdin (one message a line, a blank "
            "line between conversations); leave out the question arguments.",
            file=sys.stderr,
        )
        return 2
    answering = Answering(_faq(args))
    if not args.conversation:
        for question in _questions(args):
            outcome = answering.ask(Incoming(question, CONSOLE))
            _print_answer(question, outcome, args.json, False)
        return 0
    for number, lines in enumerate(_conversations()):
        for question in lines:
            outcome = answering.ask(Incoming(question, CONSOLE, conversation=number))
            _print_answer(question, outcome, args.json, True)
        answering.conversations.forget(number)
    return 0


def _show(reply: Reply, buttons: list[Button] | None = None) -> str:
    """The reply as a console shows it; pressable buttons are numbered into *buttons*."""
    lines = [reply.text]
    for image in reply.images:
        where = str(image.path) if image.path else image.url
        lines.append(CONSOLE_IMAGE.format(where=where, caption=image.caption))
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


CHAT_QUIT = frozenset({"/quit", "/exit", "quit", "exit", "q", "退出"})


def _press(button: Button, answering: Answering) -> Reply:
    """What pressing *button* shows: the bot's own reply, but nothing is stored here."""
    if button.action is Action.NONE_OF_THESE:
        # The bot keeps the question for /unanswered; the console keeps nothing.
        return render_text(NONE_OF_THESE_TEXT.splitlines()[0] + "\n" + CONSOLE_NOT_STORED)
    if button.action in (Action.VOTE_UP, Action.VOTE_DOWN):
        return render_text(THANKS_UP + CONSOLE_NOT_STORED)
    shown = answering.press(button.action, button.value, conversation=CONSOLE, compact=False)
    return shown or render_menu(answering.faq.kb)


def _teach(text: str, faq: Faq) -> Reply:
    """/teach in the console: the same change to learned.yaml as the bot's, then a reload."""
    if not text:
        return render_text(TEACH_USAGE)
    result = teach_command(faq.directory, text)
    if not result.ok:
        return render_text(result.message)
    where = faq.directory / LEARNED_FILE
    try:
        faq.reload()
    except KnowledgeError as error:
        problems = "\n".join(str(problem) for problem in error.problems)
        return render_text(
            CONSOLE_TAUGHT_NOT_LOADED.format(
                message=result.message, where=where, problems=problems
            )
        )
    return render_text(CONSOLE_TAUGHT.format(message=result.message, where=where))


def _chat_reply(line: str, buttons: list[Button], answering: Answering) -> Reply | None:
    """What the console shows for one input line; None for an empty line."""
    faq = answering.faq
    if line.isdigit() and 1 <= int(line) <= len(buttons):
        return _press(buttons[int(line) - 1], answering)
    if line in ("/start", "/menu"):
        return render_welcome(faq.kb) if line == "/start" else render_menu(faq.kb)
    if line == "/help":
        return render_help()
    command, _, rest = line.partition(" ")
    if command == "/teach":
        return _teach(rest.strip(), faq)
    if not line:
        return None
    return answering.ask(Incoming(line, CONSOLE, conversation=CONSOLE)).reply


def cmd_chat(args: argparse.Namespace) -> int:
    """An interactive console chat showing what the bot would send."""
    answering = Answering(_faq(args))
    echo = not sys.stdin.isatty()  # piped questions are not echoed by the terminal
    print(CONSOLE_BANNER)
    reply: Reply | None = render_welcome(answering.faq.kb)
    buttons: list[Button] = []
    while True:
        if reply is not None:
            buttons = []
            print("\n" + _show(reply, buttons) + "\n")
        try:
            line = input(CONSOLE_PROMPT).strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if echo:
            print(line)
        if line.lower() in CHAT_QUIT:
            return 0
        reply = _chat_reply(line, buttons, answering)


def cmd_kb_check(args: argparse.Namespace) -> int:
    """Validate the knowledge base and print every problem as file:line: message."""
    directory = Path(args.directory or args.knowledge or default_knowledge_dir(environment()))
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
    if terms_file(directory) == GENERIC_TERMS:
        fitted = faq.matcher.fitted
        print(
            f"note: no {LEXICON_DIR}/out_of_scope.yaml: the bot's generic out-of-scope words "
            f"are used ({len(fitted.lexicon.out_of_scope)}, and {len(fitted.terms)} that "
            "entries use set aside); a file with 'terms: []' there uses none"
        )
    print(f"note: {len(kb.declined)} questions to decline; {len(notes)} warning(s)")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Accuracy on a labelled question file, the frozen holdout and follow-ups in dialogues."""
    dialogue_file = args.dialogues or DEFAULT_DIALOGUE_FILE
    holdout_file = args.holdout or DEFAULT_HOLDOUT_FILE
    dialogues = None
    holdout = None
    if args.holdout is not None or holdout_file.is_file():
        holdout = load_labelled(holdout_file)
    if args.dialogues is not None or dialogue_file.is_file():
        try:
            dialogues = load_dialogues(dialogue_file)
        except DialogueFileError as error:
            print(error, file=sys.stderr)
            return 2
    path = Path(args.file)
    if not path.is_file():
        print(
            f"No question file at {path}. Name a labelled question file "
            "(questions: [{q: ..., expect: entry-id}]), e.g. tests/data/questions/personas.yaml.",
            file=sys.stderr,
        )
        return 2
    questions = load_labelled(path)
    faq = _faq(args)
    report = evaluate(faq, questions)
    print(format_report(report))
    if holdout is not None:
        # Figures only: listing the frozen holdout's misses would invite tuning against it.
        frozen = evaluate(faq, holdout)
        print(f"\nfrozen holdout ({holdout_file}; never tuned against):")
        print(
            f"holdout:      top-1 {frozen.top1_rate:.1%} ({frozen.top1}/{frozen.in_scope}), "
            f"refusal {frozen.refusal_rate:.1%} ({frozen.refused}/{frozen.out_of_scope})"
        )
        if args.holdout is None and DEFAULT_DIALOGUE_HOLDOUT.is_file():
            talks = evaluate_dialogues(faq, load_dialogues(DEFAULT_DIALOGUE_HOLDOUT))
            print(
                f"follow-ups:   {talks.rate:.1%} ({talks.right}/{talks.follow_ups}) right in "
                f"context ({DEFAULT_DIALOGUE_HOLDOUT})"
            )
    if dialogues is not None:
        print(f"\nfollow-up questions ({dialogue_file}):")
        print(format_dialogue_report(evaluate_dialogues(faq, dialogues)))
    topics = benchmarks(args.topics or DEFAULT_TOPICS)
    if topics:
        print(
            f"\nnew topics ({args.topics or DEFAULT_TOPICS}; shipped knowledge: {faq.directory}):"
        )
        for benchmark in topics:
            for score in score_topic(benchmark, faq.directory, faq.meaning, faq.thresholds):
                print(score.line(), flush=True)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """The /stats and /unanswered figures from the database, as text or CSV."""
    import asyncio

    from bot.config import load_settings
    from bot.storage.keys import hash_key
    from bot.storage.sqlite import SqliteStorage
    from bot.storage.stats import format_stats, format_unanswered, report_csv

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
        storage = SqliteStorage(
            settings.database, retention_days=settings.retention_days, key=hash_key(settings)
        )
        await storage.open()
        try:
            if not storage.available:
                return None
            stats = await storage.stats(args.days)
            groups = await storage.unanswered(args.limit, days=args.days)
        finally:
            await storage.close()
        if args.csv:
            return report_csv(stats, groups or ())
        unanswered = format_unanswered(groups) if groups is not None else UNREADABLE_GROUPS
        return format_stats(stats, titles) + "\n\n" + unanswered + "\n"

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


def cmd_demo(args: argparse.Namespace) -> int:
    """The real bot against a local fake Telegram: a private question, a group mention and a
    button press, with what came back."""
    from bot.demo import run_demo

    directory = args.knowledge or default_knowledge_dir(environment())
    return run_demo(Path(directory), args.question, keep=args.keep)


def cmd_bench(args: argparse.Namespace) -> int:
    """Measure speed, memory and accuracy against the targets; print one table. The benchmark
    is not installed with the package: it runs from a source checkout."""
    from bot.checkout import NotInCheckout, from_checkout

    try:
        from_checkout("benchmarks")
    except NotInCheckout:
        print(BENCH_NEEDS_CHECKOUT, file=sys.stderr)
        return 2
    from benchmarks.report import format_table, to_json
    from benchmarks.run import Options, run_bench

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
    ask.add_argument(
        "--conversation",
        action="store_true",
        help="stdin holds conversations: consecutive lines are one, a blank line starts the "
        "next; follow-ups are read against the last answered topic",
    )
    ask.add_argument("question", nargs="*")
    ask.set_defaults(handler=cmd_ask)
    commands.add_parser("chat", help="try the bot in the console").set_defaults(handler=cmd_chat)
    demo = commands.add_parser(
        "demo",
        help="the real bot against a local fake Telegram, no token (from a checkout)",
        description="Start a local fake Telegram Bot API (tests/fakebotapi) and the real bot "
        "against it, then send a private question, a group @mention and a button press and "
        "print what the bot sent back. Needs no token and no network; runs from a checkout.",
    )
    demo.add_argument("question", nargs="*", help=f"private questions (default: {DEMO_QUESTION})")
    demo.add_argument(
        "--keep", action="store_true", help="keep the fake and the bot running until Ctrl-C"
    )
    demo.set_defaults(handler=cmd_demo)
    kb = commands.add_parser("kb", help="knowledge base tools")
    kb_commands = kb.add_subparsers(dest="kb_command", metavar="KB_COMMAND", required=True)
    check = kb_commands.add_parser("check", help="validate the knowledge base")
    check.add_argument("directory", nargs="?")
    check.set_defaults(handler=cmd_kb_check)
    evaluation = commands.add_parser("eval", help="accuracy on a labelled question file")
    evaluation.add_argument("file", nargs="?", default=str(DEFAULT_EVAL_FILE))
    evaluation.add_argument(
        "--dialogues",
        type=Path,
        help=f"follow-up accuracy on this dialogue file (default: {DEFAULT_DIALOGUE_FILE}, "
        "when it exists)",
    )
    evaluation.add_argument(
        "--holdout",
        type=Path,
        help=f"also the figures on this frozen holdout file (default: {DEFAULT_HOLDOUT_FILE}, "
        "when it exists)",
    )
    evaluation.add_argument(
        "--topics",
        type=Path,
        help=f"new-topic benchmarks in this folder (default: {DEFAULT_TOPICS}, when it exists)",
    )
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
    except QuestionFileError as error:
        print("The question file cannot be used:", file=sys.stderr)
        _print_problems(error)
        return 1
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
