"""What a test does to the fake: users write, press buttons and add the bot to groups; faults;
and what the bot did (the call log, its messages), with waits.

    api = server.client()
    pushed = api.send_text(1001, "社保卡丢了怎么办")
    (reply,) = api.wait_for(1001, 1, since=pushed.seq)
    api.press(reply, text="👍 有用")

It works in the test's process, on the fake's own state (results are the fake's dicts: read
them, do not change them); the server offers the same methods over HTTP under /_test/.
"""

from __future__ import annotations

import re
import time
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .state import JSON, Fault
from .telegram_html import utf16_len

if TYPE_CHECKING:
    from .server import FakeBotApiServer

_COMMAND = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
_MENTION = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{5,32}")
_RIGHTS = [
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
]


class FakeBotApiError(RuntimeError):
    """A test used the fake wrongly (no such message, no such button, ...)."""


class WaitTimeout(AssertionError):
    """A wait ran out of time; `.items` holds what had arrived."""

    def __init__(self, message: str, items: list[JSON]) -> None:
        super().__init__(message)
        self.items = items


@dataclass
class Pushed:
    """What a push did: its update (id 0 and delivered False if the bot never sees it)."""

    update_id: int
    seq: int
    delivered: bool
    reason: str
    update: JSON = field(default_factory=dict)

    @property
    def message(self) -> JSON | None:
        """The user's message, if the push was one."""
        return self.update.get("message")

    @property
    def query_id(self) -> str | None:
        """The callback query id, if the push was a button press."""
        query = self.update.get("callback_query")
        return str(query["id"]) if query else None


def group(chat_id: int = -1001234567890, title: str = "测试群", kind: str = "supergroup") -> JSON:
    """A group or supergroup chat for `chat=`."""
    return {"id": chat_id, "type": kind, "title": title}


def entity(text: str, part: str, kind: str = "mention") -> JSON:
    """An entity over the first `part` in `text` (UTF-16 offsets, as Telegram counts)."""
    start = text.index(part)
    return {"type": kind, "offset": utf16_len(text[:start]), "length": utf16_len(part)}


def _entities(text: str) -> list[JSON]:
    """The bot_command and mention entities Telegram finds in a text."""
    found = [
        {"type": kind, "offset": utf16_len(text[: m.start()]), "length": utf16_len(m.group(0))}
        for kind, pattern in (("bot_command", _COMMAND), ("mention", _MENTION))
        for m in pattern.finditer(text)
    ]
    return sorted(found, key=lambda e: int(e["offset"]))


class FakeBotApi:
    """Drive and inspect a fake Bot API server; waits last `timeout` s unless told."""

    CONTROL = frozenset(
        [
            "send_text",
            "send_many",
            "press",
            "member",
            "ask",
            "seq",
            "sent",
            "messages",
            "wait_for",
            "wait_calls",
            "state",
            "inject",
            "clear_faults",
            "offline",
        ]
    )
    """The methods offered over HTTP (POST /_test/<name>, keyword arguments as JSON)."""

    def __init__(self, server: FakeBotApiServer, timeout: float = 10.0) -> None:
        self.server = server
        self.tg = server.telegram
        self.timeout = timeout

    # ------------------------------------------------------------ what users do

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        chat: JSON | None = None,
        reply_to: int | JSON | None = None,
        entities: list[JSON] | None = None,
        user: JSON | None = None,
    ) -> Pushed:
        """User `user_id` writes `text` in their private chat, or in `chat` (a group()).

        `reply_to` is a message (id) in that chat; entities default to the commands and
        @mentions in the text; `user` sets first_name etc. In a group where the bot is no
        admin, privacy mode keeps all but commands and replies to the bot from it.
        """
        tg = self.tg
        with tg.changed:
            sender = self._user(user_id, user)
            where = self._chat(chat, sender)
            fields: JSON = {"text": text}
            found = _entities(text) if entities is None else entities
            if found:
                fields["entities"] = found
            if reply_to is not None:
                mid = reply_to["message_id"] if isinstance(reply_to, dict) else reply_to
                target = tg.messages.get((where["id"], int(mid)))
                if target is None:
                    raise FakeBotApiError(f"no message {mid} in chat {where['id']} to reply to")
                fields["reply_to_message"] = {
                    k: v for k, v in target.items() if k != "reply_to_message"
                }
            msg = tg.store(where, sender, fields)
            return self._push("message", msg, self._hidden(where, msg))

    def send_many(self, messages: list[JSON]) -> list[Pushed]:
        """send_text for each dict of its arguments."""
        return [self.send_text(**message) for message in messages]

    def press(
        self,
        message: JSON,
        data: str | None = None,
        *,
        text: str | None = None,
        user_id: int | None = None,
        check: bool = True,
    ) -> Pushed:
        """Press the button with callback_data `data` (or label `text`) of a bot message.

        Its current keyboard must have it unless check=False (a forged press); in a group,
        say who presses it (user_id). The answer shows up as an answerCallbackQuery call.
        """
        tg = self.tg
        with tg.changed:
            msg = tg.messages.get((message["chat"]["id"], message["message_id"]))
            if msg is None or msg["from"] != tg.bot_user:
                raise FakeBotApiError("only buttons of the bot's own messages can be pressed")
            rows = (msg.get("reply_markup") or {}).get("inline_keyboard", [])
            buttons = [b for row in rows for b in row if "callback_data" in b]
            chosen = next(
                (
                    b["callback_data"]
                    for b in buttons
                    if data in (None, b["callback_data"]) and text in (None, b["text"])
                ),
                None if check or data is None else data,
            )
            if chosen is None:
                shown = [(b["text"], b["callback_data"]) for b in buttons]
                raise FakeBotApiError(f"no button {data!r} {text!r}; the buttons: {shown}")
            if user_id is None:
                if msg["chat"]["type"] != "private":
                    raise FakeBotApiError("say which user presses a button in a group (user_id)")
                user_id = msg["chat"]["id"]
            query_id = f"{tg.bot_user['id']}{len(tg.callback_queries) + 1:08d}"
            tg.callback_queries[query_id] = {"chat": msg["chat"]["id"], "answer": None}
            query = {
                "id": query_id,
                "from": self._user(user_id),
                "message": msg,
                "chat_instance": str(msg["chat"]["id"]),
                "data": chosen,
            }
            return self._push("callback_query", query)

    def member(self, chat: JSON, user_id: int, status: str = "member") -> Pushed:
        """my_chat_member: the bot is added to a group ("member", "administrator": then it
        reads every message there) or removed ("left", "kicked")."""
        tg = self.tg
        with tg.changed:
            actor = self._user(user_id)
            where = self._chat(chat, actor)
            if status == "administrator":
                tg.admin_in.add(where["id"])
            else:
                tg.admin_in.discard(where["id"])
            old = "member" if status in ("left", "kicked") else "left"
            payload = {
                "chat": where,
                "from": actor,
                "date": int(time.time()),
                "old_chat_member": self._member(old),
                "new_chat_member": self._member(status),
            }
            return self._push("my_chat_member", payload)

    def ask(
        self,
        user_id: int,
        text: str,
        *,
        chat: JSON | None = None,
        count: int = 1,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> list[JSON]:
        """send_text, then wait for `count` bot messages in that chat sent after it."""
        pushed = self.send_text(user_id, text, chat=chat, **kwargs)
        if not pushed.delivered:
            raise FakeBotApiError(f"the bot never sees this message: {pushed.reason}")
        chat_id = pushed.update["message"]["chat"]["id"]
        return self.wait_for(chat_id, count, timeout, since=pushed.seq)

    # ------------------------------------------------------------ what the bot did

    def seq(self) -> int:
        """The sequence number of the last Bot API call (a `since` mark)."""
        return self.tg.seq

    def sent(
        self, chat_id: int | None = None, *, method: str | None = None, since: int = 0
    ) -> list[JSON]:
        """Logged Bot API calls (no getUpdates) after `since`: seq, method, params, chat_id,
        time, ok, then result or error_code and description (or the fault)."""
        with self.tg.changed:
            return [
                call
                for call in self.tg.calls[since:]
                if chat_id in (None, call["chat_id"]) and method in (None, call["method"])
            ]

    def messages(self, chat_id: int | None = None, *, since: int = 0) -> list[JSON]:
        """Messages the bot sent (in a chat) after `since`, as they are now (edited)."""
        tg = self.tg
        with tg.changed:
            start = bisect_right(tg.bot_messages, since, key=lambda sent: sent[0])
            keys = [key for _, key in tg.bot_messages[start:]]
            return [tg.messages[key] for key in keys if chat_id in (None, key[0])]

    def wait_for(
        self,
        chat_id: int | None,
        count: int = 1,
        timeout: float | None = None,
        *,
        since: int = 0,
    ) -> list[JSON]:
        """Wait until the bot has sent `count` messages (in a chat; None: any) after `since`;
        all of them. Raises WaitTimeout (with .items) when time runs out."""
        what = f"{count} messages in chat {chat_id} after call {since}"
        return self._wait(lambda: self.messages(chat_id, since=since), count, timeout, what)

    def wait_calls(
        self,
        method: str | None = None,
        count: int = 1,
        timeout: float | None = None,
        *,
        chat_id: int | None = None,
        since: int = 0,
    ) -> list[JSON]:
        """Wait until `count` logged calls (of a method, in a chat) exist after `since`."""
        what = f"{count} {method} calls in chat {chat_id} after call {since}"
        found = lambda: self.sent(chat_id, method=method, since=since)  # noqa: E731
        return self._wait(found, count, timeout, what)

    def state(self) -> JSON:
        """Pending updates, the webhook, faults not used up, answers to button presses."""
        tg = self.tg
        with tg.changed:
            return {
                "username": tg.username,
                "webhook_url": tg.webhook_url,
                "pending_updates": len(tg.queue),
                "faults": {m: [vars(f) for f in queue] for m, queue in tg.faults.items() if queue},
                "callback_answers": {q: v["answer"] for q, v in tg.callback_queries.items()},
            }

    # ------------------------------------------------------------ faults

    def inject(
        self,
        kind: str,
        method: str,
        *,
        count: int = 1,
        retry_after: int = 1,
        seconds: float = 30.0,
        code: int = 500,
        description: str | None = None,
    ) -> None:
        """Make the next `count` calls of `method` fail. kind: "429" (retry_after), "500",
        "error" (code, description), "hang" (`seconds`), "drop" or "pass" (see Fault)."""
        if kind == "429":
            text = description or f"Too Many Requests: retry after {retry_after}"
            fault = Fault("error", count, 429, text, retry_after)
        elif kind in ("500", "error"):
            fallback = "Internal Server Error" if code >= 500 else f"Error {code}"
            fault = Fault("error", count, code, description or fallback)
        elif kind in ("hang", "drop", "pass"):
            fault = Fault(kind, count, seconds=seconds)
        else:
            raise FakeBotApiError(f"unknown fault {kind!r} (429, 500, error, hang, drop, pass)")
        with self.tg.changed:
            self.tg.faults.setdefault(method, []).append(fault)

    def clear_faults(self) -> None:
        """Drop faults not used up yet."""
        with self.tg.changed:
            self.tg.faults.clear()

    def offline(self, seconds: float) -> None:
        """Stop listening (connections refused, open ones cut) for `seconds`."""
        self.server.go_offline(seconds)

    # ------------------------------------------------------------ helpers

    def _wait(
        self, items: Callable[[], list[JSON]], count: int, timeout: float | None, what: str
    ) -> list[JSON]:
        limit = self.timeout if timeout is None else timeout
        with self.tg.changed:
            if self.tg.changed.wait_for(lambda: len(items()) >= count, limit):
                return items()
            got = items()
        raise WaitTimeout(f"waited {limit} s for {what}; got {len(got)}", got)

    def _user(self, user_id: int, info: JSON | None = None) -> JSON:
        """The User of an id, made (and updated from `info`) on demand."""
        default = {"is_bot": False, "first_name": f"User{user_id}", "username": f"user{user_id}"}
        known = self.tg.users.get(user_id) or {
            "id": user_id,
            **default,
            "language_code": "zh-hans",
        }
        self.tg.users[user_id] = {**known, **(info or {}), "id": user_id}
        return self.tg.users[user_id]

    def _chat(self, spec: JSON | None, user: JSON) -> JSON:
        """The user's private chat (None), or the group a group() dict describes."""
        if spec is None:
            chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        else:
            chat = {"title": f"Group {spec['id']}", "type": "supergroup", **spec}
        self.tg.chats[chat["id"]] = chat
        return chat

    def _hidden(self, chat: JSON, msg: JSON) -> str:
        """Why privacy mode keeps this message from the bot, "" if it does not."""
        if chat["type"] == "private" or chat["id"] in self.tg.admin_in:
            return ""
        if (msg.get("reply_to_message") or {}).get("from") == self.tg.bot_user:
            return ""
        units = msg["text"].encode("utf-16-le")
        for ent in msg.get("entities", []):
            if ent["type"] == "bot_command":
                start, end = 2 * ent["offset"], 2 * (ent["offset"] + ent["length"])
                addressee = units[start:end].decode("utf-16-le").partition("@")[2]
                if addressee.lower() in ("", self.tg.username.lower()):
                    return ""
        return "privacy mode: not a command for the bot nor a reply to it"

    def _member(self, status: str) -> JSON:
        out: JSON = {"status": status, "user": self.tg.bot_user}
        if status == "kicked":
            out["until_date"] = 0
        if status == "administrator":
            out.update(can_be_edited=False, is_anonymous=False)
            out.update({right: right in _RIGHTS[:2] for right in _RIGHTS})
        return out

    def _push(self, kind: str, payload: JSON, reason: str = "") -> Pushed:
        tg = self.tg
        if not reason and tg.allowed is not None and kind not in tg.allowed:
            reason = f"{kind} is not in allowed_updates"
        update: JSON = {kind: payload}
        if not reason:
            tg.update_id += 1
            update = {"update_id": tg.update_id, **update}
            tg.queue.append(update)
            tg.changed.notify_all()
        return Pushed(update.get("update_id", 0), tg.seq, not reason, reason, update)
