"""End to end: the real bot process (``python -m bot run``) against the local fake Bot API.

Three phases on one bot process, after a warm-up question from every user:

- burst: every question is queued at once; answered messages a second is the capacity;
- paced: the questions arrive at a steady rate (the target); reply latency is measured there,
  since under a burst it is mostly time spent waiting in the queue;
- flood: one group sends ``/ask@bot`` commands at 20 a second (Telegram lets the bot answer
  20 a minute there) while one private user asks a question a second; the private replies'
  latency shows whether the group stalls other chats.

A question's reply is its chat's next ``sendMessage`` (in a private chat the bot sends one text
message per question; photos follow as ``sendPhoto``). Lost: questions without one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.checkout import child_env, fake_api
from bot.core.privacy import redact

FIRST_USER = 700_000_001
FLOOD_USER = 600_000_001
FLOOD_ASKER = 600_000_002
FLOOD_CHAT_ID = -1_009_990_000_001
FLOOD_CHAT = {"id": FLOOD_CHAT_ID, "type": "supergroup", "title": "bench flood"}
CHUNK = 100
"""Questions pushed per request to the fake (the bot fetches at most 100 updates a call)."""


@dataclass
class Phase:
    """What one phase of questions measured."""

    pushed: int
    answered: int = 0
    lost: int = 0
    extra: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    bot_cpu_seconds: float | None = None
    bench_cpu_seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Answered messages a second, from the first question to the last reply."""
        return self.answered / self.seconds if self.seconds > 0 else 0.0


@dataclass
class Flood:
    """What the flood phase measured: the private replies, and what the group got."""

    commands: int
    seconds: float
    private_asked: int = 0
    latencies: list[float] = field(default_factory=list)
    group_messages: int = 0

    @property
    def private_lost(self) -> int:
        """Private questions without a reply."""
        return self.private_asked - len(self.latencies)


@dataclass
class E2eResult:
    """The phases and how the bot process started and ended."""

    burst: Phase
    paced: Phase
    flood: Flood | None
    offered_rate: float
    users: int
    start_seconds: float
    exit_code: int | None
    log_tail: str


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a running process (Linux ``/proc``), else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    return (int(fields[11]) + int(fields[12])) / ticks


class _Run:
    """One bot process talking to one fake server."""

    def __init__(
        self, api: Any, process: subprocess.Popen[bytes], wait_timeout: type[Exception]
    ) -> None:
        self.api = api
        self.process = process
        self.wait_timeout = wait_timeout

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"the bot exited with code {self.process.returncode}")

    def wait_replies(self, count: int, since: int, timeout: float) -> None:
        """Wait for *count* sendMessage calls after *since*, checking the bot is alive."""
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                self.api.wait_calls("sendMessage", count, min(2.0, left), since=since)
                return
            except self.wait_timeout:
                continue

    def phase(
        self, messages: Sequence[tuple[int, str]], rate: float | None, timeout: float
    ) -> Phase:
        """Push *messages* (all at once, or *rate* a second) and pair replies with them."""
        api = self.api
        since = int(api.seq())
        pushed_at: dict[int, list[float]] = defaultdict(list)  # a private chat's id is its user's
        cpu_before = _cpu_seconds(self.process.pid)
        bench_before = time.process_time()
        step = CHUNK if rate is None else max(1, min(CHUNK, round(rate / 10)))
        start = time.time()
        for number in range(0, len(messages), step):
            if rate is not None:
                delay = start + number / rate - time.time()
                if delay > 0:
                    time.sleep(delay)
            chunk = messages[number : number + step]
            now = time.time()
            api.send_many([{"user_id": user, "text": text} for user, text in chunk])
            for user, _ in chunk:
                pushed_at[user].append(now)
        self.wait_replies(len(messages), since, timeout)
        result = Phase(pushed=len(messages))
        cpu_after = _cpu_seconds(self.process.pid)
        if cpu_before is not None and cpu_after is not None:
            result.bot_cpu_seconds = cpu_after - cpu_before
        result.bench_cpu_seconds = time.process_time() - bench_before
        time.sleep(0.3)  # late duplicates, if any, show up as extra
        replied: dict[int, list[float]] = defaultdict(list)
        for call in api.sent(method="sendMessage", since=since):
            if call.get("ok") and call.get("chat_id") is not None:
                replied[int(call["chat_id"])].append(float(call["time"]))
        last = start
        for chat, times in pushed_at.items():
            replies = sorted(replied.get(chat, []))
            result.answered += min(len(times), len(replies))
            result.lost += max(0, len(times) - len(replies))
            result.extra += max(0, len(replies) - len(times))
            result.latencies += [r - p for p, r in zip(sorted(times), replies, strict=False)]
            if replies:
                last = max(last, replies[min(len(times), len(replies)) - 1])
        result.seconds = last - start
        return result

    def flood(self, commands: int, seconds: float, questions: Sequence[str]) -> Flood:
        """One group sends *commands* over *seconds* while one user asks privately."""
        api = self.api
        result = Flood(commands, seconds)
        bot = str(api.state()["username"])
        since = int(api.seq())
        asked: list[float] = []
        ticks = max(1, round(seconds * 2))  # a batch every half second
        start = time.time()
        for tick in range(ticks):
            delay = start + tick / 2 - time.time()
            if delay > 0:
                time.sleep(delay)
            batch = range(tick * commands // ticks, (tick + 1) * commands // ticks)
            texts = [f"/ask@{bot} {questions[n % len(questions)]}" for n in batch]
            api.send_many([{"user_id": FLOOD_USER, "chat": FLOOD_CHAT, "text": t} for t in texts])
            if tick % 2 == 0:
                asked.append(time.time())
                api.send_text(FLOOD_ASKER, questions[tick % len(questions)])
        result.private_asked = len(asked)
        self.wait_replies_in(FLOOD_ASKER, len(asked), since, timeout=30)
        replies = sorted(
            float(call["time"])
            for call in api.sent(FLOOD_ASKER, method="sendMessage", since=since)
            if call.get("ok")
        )
        result.latencies = [reply - push for push, reply in zip(asked, replies, strict=False)]
        time.sleep(0.5)  # the group's last admitted answers
        result.group_messages = len(api.messages(FLOOD_CHAT_ID, since=since))
        return result

    def wait_replies_in(self, chat: int, count: int, since: int, timeout: float) -> None:
        """Wait for *count* sendMessage calls to *chat* after *since* (at most *timeout*)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                self.api.wait_calls("sendMessage", count, 2.0, chat_id=chat, since=since)
                return
            except self.wait_timeout:
                continue


def bench_questions(questions: Sequence[str]) -> list[str]:
    """Questions fit for the run: no personal data (which adds a privacy notice)."""
    return [q for q in questions if q.strip() and not q.startswith("/") and not redact(q).found]


def run_e2e(
    knowledge: Path,
    questions: Sequence[str],
    *,
    messages: int,
    users: int,
    offered_rate: float,
    flood: int = 0,
    flood_seconds: float = 10.0,
) -> E2eResult:
    """Start the fake and the bot, run the warm-up and the phases (the flood only with
    *flood* commands), stop both."""
    module = fake_api()
    usable = bench_questions(questions)
    if not usable:
        raise RuntimeError("no usable questions")
    traffic = [(FIRST_USER + n % users, usable[n % len(usable)]) for n in range(messages)]
    server = module.FakeBotApiServer(module.DEFAULT_TOKEN)
    server.start()
    with tempfile.TemporaryDirectory(prefix="esscard-bench-") as folder:
        env = child_env(
            {
                "TELEGRAM_BOT_TOKEN": module.DEFAULT_TOKEN,
                "TELEGRAM_API_BASE_URL": server.bot_api_url,
                "BOT_MAX_RATE": "0",
                "BOT_DATABASE": str(Path(folder) / "bench.sqlite3"),
                "BOT_KNOWLEDGE_DIR": str(knowledge.resolve()),
                "BOT_LOG_LEVEL": "WARNING",
                "BOT_SEMANTIC": "off",
                "BOT_ADMIN_IDS": "",
                "BOT_WEBHOOK_URL": "",
            }
        )
        log_path = Path(folder) / "bot.log"
        with log_path.open("wb") as log:
            started = time.perf_counter()
            process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                cwd=folder,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            run = _Run(server.client(timeout=60), process, module.WaitTimeout)
            stride = max(1, len(usable) // users)  # spread over the entries
            try:
                warm_up = [
                    (FIRST_USER + n, usable[n * stride % len(usable)]) for n in range(users)
                ]
                first = run.phase(warm_up, None, 60)
                start_seconds = time.perf_counter() - started
                if first.lost:
                    raise RuntimeError(f"the bot answered {first.answered} of {users} warm-ups")
                timeout = max(30.0, messages / 20)
                burst = run.phase(traffic, None, timeout)
                paced = run.phase(traffic, offered_rate, timeout + messages / offered_rate)
                flooded = run.flood(flood, flood_seconds, usable) if flood else None
            except RuntimeError as error:
                last = log_path.read_text(encoding="utf-8", errors="replace").strip()
                last_line = last.splitlines()[-1][:200] if last else "no log"
                raise RuntimeError(f"{error}; the bot's log ends: {last_line}") from error
            finally:
                exit_code = _stop(process)
                server.stop()
        tail = log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
    return E2eResult(burst, paced, flooded, offered_rate, users, start_seconds, exit_code, tail)


def _stop(process: subprocess.Popen[bytes]) -> int | None:
    """Stop the bot as a service manager would (SIGTERM), killing it if it hangs."""
    if process.poll() is not None:
        return process.returncode
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return None
