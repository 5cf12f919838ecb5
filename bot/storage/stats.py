"""Admin figures (/stats, /unanswered, ``esscard-bot report``): data, grouping and plain text.

Nothing here touches a database: the storage fills these dataclasses, and the functions below
turn them into Chinese text for a Telegram message or CSV for a spreadsheet.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

BEIJING_HOURS = 8
"""Busiest hours are shown in Beijing time (UTC+8), where the users are."""
SIMILARITY = 75
"""rapidfuzz ratio (0-100) of normalised texts at or above which questions are grouped."""
MAX_SHOWN_CHARS = 60
DEFAULT_STATS_DAYS = 7
DEFAULT_UNANSWERED = 10
MAX_DAYS = 3650
MAX_UNANSWERED = 50
STATS_USAGE = "用法：/stats [天数]，例如 /stats 30（默认最近 7 天）。"
UNANSWERED_USAGE = "用法：/unanswered [条数]，例如 /unanswered 20（默认 10 条，最多 50 条）。"


@dataclass(frozen=True)
class EntryFigures:
    """How often one entry was served and how people rated it."""

    entry_id: str
    answers: int = 0
    """Questions answered directly with this entry."""
    chosen: int = 0
    """Times it was picked from "did you mean"."""
    up: int = 0
    down: int = 0

    @property
    def served(self) -> int:
        """Answers plus picks."""
        return self.answers + self.chosen


@dataclass(frozen=True)
class Stats:
    """The figures of /stats over the last ``days`` days."""

    days: int
    since: dt.datetime
    until: dt.datetime
    questions: int = 0
    """Questions asked (small talk not counted)."""
    answered: int = 0
    suggested: int = 0
    fallback: int = 0
    small_talk: int = 0
    """Bare greetings and thanks: counted apart, never among the unanswered."""
    users: int = 0
    none_of_these: int = 0
    private: int = 0
    """Questions in which personal data was found and hidden."""
    entries: tuple[EntryFigures, ...] = ()
    """Every entry served or rated, most served first."""
    hours: tuple[tuple[int, int], ...] = ()
    """(hour of day in Beijing time, questions), busiest first."""
    faults: Mapping[str, int] = field(default_factory=dict)
    """Storage errors since the bot started, by kind."""
    readable: bool = True
    """False when the figures could not be read: then the zeros above mean nothing."""
    problem: str = ""
    """Why they could not be read (a kind of storage fault)."""
    dropped: int = 0
    """Writes given up on since the bot started (after their tries)."""
    retrying: int = 0
    """Writes waiting to be tried again."""
    replaced: int = 0
    """Times the database file was deleted or replaced while the bot ran."""
    replaced_at: dt.datetime | None = None

    def rate(self, count: int) -> float:
        """*count* as a share of all questions (0 when there are none)."""
        return count / self.questions if self.questions else 0.0

    @property
    def answer_rate(self) -> float:
        """Share of questions answered directly."""
        return self.rate(self.answered)

    @property
    def suggest_rate(self) -> float:
        """Share of questions answered with "did you mean"."""
        return self.rate(self.suggested)

    @property
    def fallback_rate(self) -> float:
        """Share of questions the bot could not answer."""
        return self.rate(self.fallback)


@dataclass(frozen=True)
class UnansweredQuestion:
    """One question the bot could not answer, or whose suggestions were all wrong."""

    question_id: int
    at: dt.datetime
    text: str
    normalized: str
    none_of_these: bool = False


@dataclass(frozen=True)
class Group:
    """Similar unanswered questions, newest first."""

    text: str
    """The newest question of the group, as asked (redacted)."""
    count: int
    last_at: dt.datetime
    first_at: dt.datetime
    examples: tuple[str, ...] = ()
    """Other distinct phrasings in the group, newest first."""
    none_of_these: int = 0
    """How many of them came from pressing "none of these"."""
    question_ids: tuple[int, ...] = ()


def group_questions(
    questions: Iterable[UnansweredQuestion],
    *,
    threshold: float = SIMILARITY,
    max_examples: int = 3,
) -> list[Group]:
    """Cluster near-duplicate questions (rapidfuzz ratio on normalised text), newest first."""
    ordered = sorted(questions, key=lambda q: (q.at, q.question_id), reverse=True)
    leaders: list[str] = []
    members: list[list[UnansweredQuestion]] = []
    for question in ordered:
        key = question.normalized or question.text
        match = process.extractOne(key, leaders, scorer=fuzz.ratio, score_cutoff=threshold)
        if match is None:
            leaders.append(key)
            members.append([question])
        else:
            members[match[2]].append(question)
    groups = []
    for items in members:
        newest = items[0]
        examples: list[str] = []
        seen = {newest.normalized or newest.text}
        for item in items[1:]:
            key = item.normalized or item.text
            if key not in seen and len(examples) < max_examples:
                seen.add(key)
                examples.append(item.text)
        groups.append(
            Group(
                text=newest.text,
                count=len(items),
                last_at=newest.at,
                first_at=items[-1].at,
                examples=tuple(examples),
                none_of_these=sum(item.none_of_these for item in items),
                question_ids=tuple(item.question_id for item in items),
            )
        )
    return groups


def parse_count(text: str | None, default: int, maximum: int) -> int | None:
    """The number after /stats or /unanswered: *default* when absent, None when unusable."""
    value = (text or "").strip()
    if not value:
        return default
    value = value.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= maximum:
        return None
    return int(value)


def _percent(share: float) -> str:
    return f"{share * 100:.0f}%"


def _short(text: str, limit: int = MAX_SHOWN_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _beijing(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.timezone(dt.timedelta(hours=BEIJING_HOURS)))


def format_stats(
    stats: Stats, titles: Mapping[str, str] | None = None, *, top: int = 10, hours: int = 3
) -> str:
    """/stats as plain Chinese text; *titles* maps entry ids to titles."""
    titles = titles or {}
    lines = [f"最近 {stats.days} 天的统计（截至 {_beijing(stats.until):%m-%d %H:%M} 北京时间）"]
    if not stats.readable:
        lines.append(
            f"⚠️ 数据库现在读不出来（{stats.problem}），所以这里没有数字：这不等于没人提问。"
            "机器人照常回答问题，原因见日志（搜索 Storage problem）。"
        )
    elif not stats.questions and not stats.entries and not stats.small_talk:
        lines.append("这段时间还没有人提问。")
    else:
        lines.append(f"提问 {stats.questions} 次，来自 {stats.users} 位用户。")
        lines.append(
            f"直接回答 {_percent(stats.answer_rate)}（{stats.answered}）· "
            f"给出建议 {_percent(stats.suggest_rate)}（{stats.suggested}）· "
            f"未能回答 {_percent(stats.fallback_rate)}（{stats.fallback}）"
        )
        lines.append(
            f"选「都不是」{stats.none_of_these} 次；含个人信息（已隐去）{stats.private} 次。"
        )
        if stats.small_talk:
            lines.append(f"另有问好、道谢 {stats.small_talk} 次，不算在提问里。")
    served = [figures for figures in stats.entries if figures.served][:top]
    if served:
        lines += ["", "回答最多的问题："]
        for number, figures in enumerate(served, start=1):
            title = titles.get(figures.entry_id, figures.entry_id)
            picked = f"（其中选中 {figures.chosen}）" if figures.chosen else ""
            lines.append(
                f"{number}. {title}：{figures.served} 次{picked}  "
                f"👍 {figures.up} 👎 {figures.down}"
            )
    rated_only = [f for f in stats.entries if not f.served and (f.up or f.down)]
    if rated_only:
        lines += ["", "其他被评价的问题："]
        for figures in rated_only[:top]:
            title = titles.get(figures.entry_id, figures.entry_id)
            lines.append(f"• {title}  👍 {figures.up} 👎 {figures.down}")
    disliked = [f for f in stats.entries if f.down > f.up]
    if disliked:
        lines += ["", "👎 比 👍 多、值得改进："]
        lines += [f"• {titles.get(f.entry_id, f.entry_id)}" for f in disliked[:top]]
    if stats.hours:
        busiest = " · ".join(
            f"{hour:02d}:00-{(hour + 1) % 24:02d}:00 {count} 次"
            for hour, count in stats.hours[:hours]
        )
        lines += ["", f"最忙的时段（北京时间）：{busiest}"]
    lines += _storage_lines(stats)
    return "\n".join(lines)


def _storage_lines(stats: Stats) -> list[str]:
    """What went wrong with storage since the bot started, if anything."""
    lines = []
    if stats.replaced:
        when = f"，最近一次 {_beijing(stats.replaced_at):%m-%d %H:%M}" if stats.replaced_at else ""
        lines.append(
            f"⚠️ 数据库文件在运行中被删除或替换了 {stats.replaced} 次{when}，已重新打开"
            "（没有了就新建）：之前的记录不在现在的文件里。"
        )
    if stats.dropped:
        lines.append(f"⚠️ 本次运行以来有 {stats.dropped} 条记录重试后仍没能保存，已放弃。")
    if stats.retrying:
        lines.append(f"另有 {stats.retrying} 条记录正在等待重试。")
    if stats.faults:
        faults = "，".join(f"{kind} {count} 次" for kind, count in sorted(stats.faults.items()))
        lines.append(f"⚠️ 本次运行以来的存储错误：{faults}（机器人照常回答）。")
    return ["", *lines] if lines else []


def format_unanswered(groups: Sequence[Group], *, examples: int = 2) -> str:
    """/unanswered as plain Chinese text, newest group first."""
    if not groups:
        return "没有未能回答的问题。"
    lines = ["未能回答的问题（最新的在前，相似的已合并）："]
    for number, group in enumerate(groups, start=1):
        when = _beijing(group.last_at).strftime("%m-%d %H:%M")
        count = f" ×{group.count}" if group.count > 1 else ""
        none = f"，其中 {group.none_of_these} 次选了「都不是」" if group.none_of_these else ""
        lines.append(f"{number}. {_short(group.text)}{count}（最近 {when}{none}）")
        if group.examples[:examples]:
            lines.append("   类似：" + "；".join(_short(t, 30) for t in group.examples[:examples]))
    lines += ["", "教我新问法：/teach 问题 => 条目id；撤销上一条：/teach undo"]
    return "\n".join(lines)


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def report_csv(stats: Stats, groups: Sequence[Group] = ()) -> str:
    """Both reports as one long-format CSV: ``section,key,metric,value``."""
    rows: list[tuple[object, ...]] = [("section", "key", "metric", "value")]
    summary = {
        "days": stats.days,
        "since": stats.since.isoformat(),
        "until": stats.until.isoformat(),
        "questions": stats.questions,
        "users": stats.users,
        "answered": stats.answered,
        "suggested": stats.suggested,
        "fallback": stats.fallback,
        "small_talk": stats.small_talk,
        "answer_rate": round(stats.answer_rate, 4),
        "suggest_rate": round(stats.suggest_rate, 4),
        "fallback_rate": round(stats.fallback_rate, 4),
        "none_of_these": stats.none_of_these,
        "private": stats.private,
        "readable": int(stats.readable),
        "dropped": stats.dropped,
        "retrying": stats.retrying,
        "replaced": stats.replaced,
    }
    rows += [("summary", "", metric, value) for metric, value in summary.items()]
    for figures in stats.entries:
        for metric in ("answers", "chosen", "up", "down"):
            rows.append(("entry", figures.entry_id, metric, getattr(figures, metric)))
    rows += [("hour", f"{hour:02d}", "questions", count) for hour, count in stats.hours]
    for group in groups:
        rows.append(("unanswered", group.text, "count", group.count))
        rows.append(("unanswered", group.text, "none_of_these", group.none_of_these))
        rows.append(("unanswered", group.text, "last_at", group.last_at.isoformat()))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows([tuple(_cell(value) for value in row) for row in rows])
    return out.getvalue()
