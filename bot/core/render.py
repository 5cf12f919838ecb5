"""Rendering decisions and entries to neutral reply data (text, HTML, images, buttons)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from enum import StrEnum

from bot.core.decision import Decision, Kind
from bot.core.knowledge import Entry, Image, KnowledgeBase

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
HOTLINE = "12333"
MAX_RELATED = 3

FALLBACK_TEXT = (
    "抱歉，这个问题我手上的资料里没有确切的答案，我不想乱说误导您。\n"
    f"建议拨打人社服务热线 {HOTLINE}，或到当地社保经办机构咨询。\n"
    "也可以点「菜单」，看看我能回答哪些问题。"
)
SUGGEST_TEXT = "您是不是想问："
NONE_OF_THESE_TEXT = (
    f"好的，这个问题我暂时答不了。建议拨打人社服务热线 {HOTLINE} 咨询。\n"
    "您的问题我已记下，管理员会据此完善资料。"
)
WELCOME_TEXT = (
    "您好！我是社保卡小助手，可以回答电子社保卡、第三代社保卡，以及养老资格认证、"
    "工伤、失业金、社保查询缴费、网上找工作等问题。\n"
    "直接打字问我就行，比如：「电子社保卡怎么领」。也可以点下面的分类看看。"
)
HELP_TEXT = (
    "怎么用：\n"
    "• 直接发一句话提问，比如「养老资格认证怎么在手机上做」。\n"
    "• /menu 按分类浏览全部问题。\n"
    "• 在群里：@我 提问，回复我的消息，或发 /ask 问题。\n"
    "• 在任何聊天里输入 @我的用户名 加问题，可以把答案发给别人。\n"
    f"我只回答资料里有的内容；没把握的，会请您拨打 {HOTLINE} 核实。"
)
MENU_TEXT = "请选择一个分类："
PRIVACY_NOTICE = (
    "提醒：请不要在聊天里发送身份证号、手机号、银行卡号或验证码，这些信息我用不到。"
    "您刚才的消息里像有这类信息，我已在记录中把它隐去。"
)


class Action(StrEnum):
    """What a button does when pressed."""

    ENTRY = "entry"
    """Show the entry whose id is the button's value."""
    VOTE_UP = "up"
    VOTE_DOWN = "down"
    NONE_OF_THESE = "none"
    MENU = "menu"
    CATEGORY = "cat"
    """Open the category whose position in the menu is the button's value."""


@dataclass(frozen=True)
class Button:
    """A button under a message."""

    label: str
    action: Action
    value: str = ""


@dataclass(frozen=True)
class Reply:
    """A message to send, independent of any chat platform."""

    text: str
    """Plain text, for consoles and logs."""
    html: str
    """The same in Telegram's HTML subset, everything from the KB and the user escaped."""
    images: tuple[Image, ...] = ()
    buttons: tuple[tuple[Button, ...], ...] = ()
    kind: Kind | None = None
    entry_id: str | None = None
    suggestions: tuple[str, ...] = field(default=())


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def source_line(entry: Entry) -> str:
    """Where the answer comes from, and how old it is."""
    source = entry.source
    return f"来源：{source.outlet}（{source.date}）。政策可能有更新，请以当地人社部门为准。"


def render_entry(entry: Entry, kb: KnowledgeBase, *, compact: bool = False) -> Reply:
    """The full answer to one entry; *compact* leaves out related buttons (for groups)."""
    steps = [f"{number}. {step}" for number, step in enumerate(entry.steps, start=1)]
    body = [entry.answer.strip(), *(["", *steps] if steps else [])]
    source = source_line(entry)
    text = "\n".join([entry.title, "", *body, "", source])
    markup = "\n".join(
        [
            f"<b>{_escape(entry.title)}</b>",
            "",
            *map(_escape, body),
            "",
            f"<i>{_escape(source)}</i>",
        ]
    )
    rows: list[tuple[Button, ...]] = []
    if not compact:
        related = [kb.by_id[ref] for ref in entry.related if ref in kb.by_id][:MAX_RELATED]
        rows.extend((Button(other.title, Action.ENTRY, other.id),) for other in related)
    rows.append(
        (
            Button("👍 有用", Action.VOTE_UP, entry.id),
            Button("👎 没用", Action.VOTE_DOWN, entry.id),
        )
    )
    return Reply(text, markup, entry.images, tuple(rows), Kind.ANSWER, entry.id)


def render_fallback() -> Reply:
    """The honest "not covered" reply."""
    return Reply(
        FALLBACK_TEXT,
        _escape(FALLBACK_TEXT),
        buttons=((Button("📋 菜单", Action.MENU),),),
        kind=Kind.FALLBACK,
    )


def render_suggestions(suggestions: tuple[Entry, ...]) -> Reply:
    """A "did you mean" question with one button per candidate and a "none of these"."""
    rows = [(Button(entry.title, Action.ENTRY, entry.id),) for entry in suggestions]
    rows.append((Button("都不是", Action.NONE_OF_THESE),))
    lines = [SUGGEST_TEXT, *(f"• {entry.title}" for entry in suggestions)]
    return Reply(
        "\n".join(lines),
        _escape(SUGGEST_TEXT),
        buttons=tuple(rows),
        kind=Kind.SUGGEST,
        suggestions=tuple(entry.id for entry in suggestions),
    )


def render_decision(decision: Decision, kb: KnowledgeBase, *, compact: bool = False) -> Reply:
    """The reply for a decision."""
    if decision.kind is Kind.ANSWER and decision.entry is not None:
        return render_entry(decision.entry, kb, compact=compact)
    if decision.kind is Kind.SUGGEST:
        return render_suggestions(decision.suggestions)
    return render_fallback()


def render_menu(kb: KnowledgeBase) -> Reply:
    """The list of categories."""
    rows = tuple(
        (Button(category, Action.CATEGORY, str(position)),)
        for position, category in enumerate(kb.categories)
    )
    return Reply(MENU_TEXT, _escape(MENU_TEXT), buttons=rows)


def render_category(kb: KnowledgeBase, position: int) -> Reply:
    """The entries of one category, with a back button; the menu if *position* is stale."""
    if not 0 <= position < len(kb.categories):
        return render_menu(kb)
    category = kb.categories[position]
    rows = [(Button(entry.title, Action.ENTRY, entry.id),) for entry in kb.in_category(category)]
    rows.append((Button("⬅️ 返回", Action.MENU),))
    text = f"「{category}」下的问题："
    return Reply(text, _escape(text), buttons=tuple(rows))


def render_welcome(kb: KnowledgeBase) -> Reply:
    """The greeting for /start, with the category menu."""
    return Reply(WELCOME_TEXT, _escape(WELCOME_TEXT), buttons=render_menu(kb).buttons)


def render_help() -> Reply:
    """How to use the bot."""
    return Reply(HELP_TEXT, _escape(HELP_TEXT))


def render_text(text: str) -> Reply:
    """A plain message (notices, admin reports), escaped for HTML."""
    return Reply(text, _escape(text))


def split_html(markup: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split *markup* into messages of at most *limit* characters at line breaks.

    Rendered replies keep every tag within one line, so each part stays well-formed; a
    line longer than *limit* is cut between characters, never inside an ``&entity;``.
    """
    parts: list[str] = []
    current = ""
    for line in markup.split("\n"):
        while len(line) > limit:
            cut = limit
            amp = line.rfind("&", max(0, cut - 8), cut)
            if amp != -1 and ";" not in line[amp:cut]:
                cut = amp
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:cut])
            line = line[cut:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current.strip() or not parts:
        parts.append(current)
    return [part for part in parts if part.strip()] or [markup[:limit]]


def truncate_caption(text: str, limit: int = CAPTION_LIMIT) -> str:
    """*text* cut to Telegram's caption limit, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
