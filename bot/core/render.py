"""Rendering decisions and entries to neutral reply data (text, HTML, images, buttons)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field, replace
from enum import StrEnum

from bot.core.conversation import Turn
from bot.core.decision import Decision, Kind
from bot.core.knowledge import Entry, Image, KnowledgeBase

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
HOTLINE = "12333"
MAX_RELATED = 5
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^<>]*>")
_ATOM = re.compile(r"&[#a-zA-Z0-9]+;|.", re.DOTALL)
_MAX_ENTITY = len("&#x10ffff;")

FALLBACK_TEXT = (
    "抱歉，这个问题我手上的资料里没有确切的答案，我不想乱说误导您。\n"
    f"建议拨打人社服务热线 {HOTLINE}，或到当地社保经办机构咨询。\n"
    "也可以点「菜单」，看看我能回答哪些问题。"
)
SUGGEST_TEXT = "您是不是想问："
ASSUMED_TEXT = "（接着您刚才问的「{title}」来回答）"
OTHERS_TEXT = "如果问的不是这个，也可以点下面的问题："
UNANSWERED_TEXT = (
    "您还问到「{quoted}」：我手上的资料里没有这方面的内容，"
    f"请拨打人社服务热线 {HOTLINE} 或到当地社保经办机构咨询。"
)
MAX_QUOTED = 40
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
GREETING_TEXT = "您好！有关社保卡的问题，直接打字问我就行，比如「电子社保卡怎么领」。"
THANKS_TEXT = "不客气！还有问题随时问我。"
_GREETINGS = frozenset(
    [
        "你好",
        "您好",
        "你好啊",
        "您好啊",
        "在吗",
        "在不在",
        "有人吗",
        "哈喽",
        "嗨",
        "早",
        "早上好",
        "上午好",
        "下午好",
        "晚上好",
        "大家好",
        "hi",
        "hello",
        "hey",
        "你好小助手",
        "小助手你好",
    ]
)
_THANKS = frozenset(
    [
        "谢谢",
        "谢谢你",
        "谢谢您",
        "多谢",
        "感谢",
        "谢了",
        "好的",
        "好",
        "知道了",
        "明白了",
        "懂了",
        "收到",
        "ok",
        "okay",
        "好的谢谢",
        "好的谢谢你",
        "谢谢啦",
        "太感谢了",
        "非常感谢",
        "辛苦了",
        "thanks",
        "thankyou",
        "thx",
    ]
)
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
    title = f"《{source.title.strip('《》 ')}》" if source.title.strip("《》 ") else ""
    return f"来源：{source.outlet}{title}（{source.date}）。政策可能有更新，请以当地人社部门为准。"


def unanswered_note(rest: str) -> str:
    """What to say about the part of a message the answer does not cover."""
    quoted = rest if len(rest) <= MAX_QUOTED else rest[: MAX_QUOTED - 1] + "…"
    return UNANSWERED_TEXT.format(quoted=quoted)


def render_entry(
    entry: Entry, kb: KnowledgeBase, *, compact: bool = False, unanswered: str = ""
) -> Reply:
    """The full answer to one entry; *compact* leaves out related buttons (for groups), and
    a note follows about an *unanswered* further question."""
    steps = [f"{number}. {step}" for number, step in enumerate(entry.steps, start=1)]
    body = [entry.answer.strip(), *(["", *steps] if steps else [])]
    source = source_line(entry)
    note = ["", unanswered_note(unanswered)] if unanswered else []
    text = "\n".join([entry.title, "", *body, "", source, *note])
    markup = "\n".join(
        [
            f"<b>{_escape(entry.title)}</b>",
            "",
            *map(_escape, body),
            "",
            f"<i>{_escape(source)}</i>",
            *map(_escape, note),
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
        return render_entry(decision.entry, kb, compact=compact, unanswered=decision.unanswered)
    if decision.kind is Kind.SUGGEST:
        return render_suggestions(decision.suggestions)
    return render_small_talk(decision.analysis.normalized) or render_fallback()


def render_turn(turn: Turn, kb: KnowledgeBase, *, compact: bool = False) -> Reply:
    """The reply for one message of a conversation: when it was read against the last topic,
    it says which topic it assumed and offers the other candidates instead of related ones."""
    reply = render_decision(turn.decision, kb, compact=compact)
    if turn.assumed is None:
        return reply
    note = ASSUMED_TEXT.format(title=turn.assumed.title)
    others = [(Button(entry.title, Action.ENTRY, entry.id),) for entry in turn.alternatives]
    text, markup = f"{note}\n{reply.text}", f"{_escape(note)}\n{reply.html}"
    if others:
        listed = "\n".join(f"• {entry.title}" for entry in turn.alternatives)
        text += f"\n\n{OTHERS_TEXT}\n{listed}"
        markup += f"\n\n{_escape(OTHERS_TEXT)}"
    if others:  # in place of the related questions, to keep the buttons few
        rest = [row for row in reply.buttons if all(b.action is not Action.ENTRY for b in row)]
        return replace(reply, text=text, html=markup, buttons=(*others, *rest))
    return replace(reply, text=text, html=markup)


def render_small_talk(normalized: str) -> Reply | None:
    """A short friendly reply to a bare greeting or thanks (not a question); else None."""
    said = normalized.replace(" ", "")
    for words, text in ((_GREETINGS, GREETING_TEXT), (_THANKS, THANKS_TEXT)):
        if said in words:
            return Reply(text, _escape(text), kind=Kind.FALLBACK)
    return None


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


def _units(text: str) -> int:
    """Length in UTF-16 code units, the unit in which Telegram counts its limits."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


def _fit_chars(text: str, budget: int) -> int:
    """How many characters of *text* fit in *budget* UTF-16 units."""
    cut = min(len(text), max(budget, 0))
    while cut and (excess := _units(text[:cut]) - budget) > 0:
        cut -= max(1, excess // 2)
    return cut


def _fit(text: str, budget: int) -> int:
    """The longest prefix of *text* within *budget* units that ends outside an ``&entity;``."""
    cut = _fit_chars(text, budget)
    amp = text.rfind("&", max(0, cut - _MAX_ENTITY), cut)
    if amp != -1 and ";" not in text[amp:cut]:
        cut = amp
    return cut


def _visible(markup: str) -> str:
    """The text Telegram shows for *markup*: tags removed, entities decoded."""
    return html.unescape(_TAG.sub("", markup))


class _Splitter:
    """Packs markup into parts; tags open at a cut are closed and opened again after it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.open: list[tuple[str, str]] = []
        """(name, opening tag) of every tag open at the current position, outermost first."""
        self.closing = 0
        """Units of the closing tags the current part needs."""
        self.pieces: list[str] = []
        self.size = 0
        self.bare = True
        """Nothing but re-opened tags in the current part yet."""

    def flush(self) -> None:
        """End the current part and start the next with the tags still open."""
        if not self.bare:
            closing = "".join(f"</{name}>" for name, _ in reversed(self.open))
            self.parts.append("".join(self.pieces) + closing)
        self.pieces = [tag for _, tag in self.open]
        self.size = sum(_units(tag) for tag in self.pieces)
        self.bare = True

    def _track(self, tag: re.Match[str]) -> None:
        name = tag[2].lower()
        if not tag[1]:
            self.open.append((name, tag[0]))
            self.closing += len(name) + 3
        elif self.open:
            self.closing -= len(self.open.pop()[0]) + 3

    def _add(self, piece: str, units: int) -> None:
        self.pieces.append(piece)
        self.size += units
        self.bare = False

    def line(self, line: str) -> None:
        """Add one line, after a line break unless it starts a part."""
        tags = list(_TAG.finditer(line))
        units = _units(line)
        for attempt in range(2):
            separator = "" if self.bare else "\n"
            closing = self.closing + sum(
                -(len(tag[2]) + 3) if tag[1] else len(tag[2]) + 3 for tag in tags
            )
            if self.size + len(separator) + units + max(closing, 0) <= self.limit:
                self._add(separator + line, units + len(separator))
                for tag in tags:
                    self._track(tag)
                return
            if attempt == 0 and not self.bare:
                self.flush()
        # The line alone is too long for a part: cut it, tags whole, text between characters.
        position = 0
        for tag in tags:
            self.text(line[position : tag.start()])
            self.tag(tag)
            position = tag.end()
        self.text(line[position:])

    def text(self, text: str) -> None:
        while text:
            cut = _fit(text, self.limit - self.size - self.closing)
            if cut == 0:
                if not self.bare:
                    self.flush()
                    continue
                atom = _ATOM.match(text)  # not even one character fits: force progress
                cut = len(atom[0]) if atom else 1
            self._add(text[:cut], _units(text[:cut]))
            text = text[cut:]

    def tag(self, tag: re.Match[str]) -> None:
        cost = 0 if tag[1] else _units(tag[0]) + len(tag[2]) + 3
        if not self.bare and self.size + self.closing + cost > self.limit:
            self.flush()
        self._add(tag[0], _units(tag[0]))
        self._track(tag)


def split_html(markup: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split *markup* into messages of at most *limit* UTF-16 units, at line breaks if possible.

    Each part is well-formed on its own: a tag open where the markup is cut is closed at the
    end of the part and opened again at the start of the next. A line longer than *limit* is
    cut between characters, never inside a tag or an ``&entity;``. Parts that would show no
    text are left out.
    """
    if _units(markup) <= limit:
        return [markup]
    splitter = _Splitter(limit)
    for line in markup.split("\n"):
        splitter.line(line)
    splitter.flush()
    parts = splitter.parts
    return [part for part in parts if _visible(part).strip()] or parts[:1] or [""]


def truncate_caption(text: str, limit: int = CAPTION_LIMIT) -> str:
    """*text* cut to Telegram's caption limit (in UTF-16 units), with an ellipsis when cut."""
    return text if _units(text) <= limit else text[: _fit_chars(text, limit - 1)] + "…"
