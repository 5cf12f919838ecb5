"""The fake Telegram: chats, messages, the update queue, the call log and the Bot API methods.

Everything here runs on the server's event loop thread, so there are no locks. Message dicts
are never changed in place (an edit stores a new dict), so the call log keeps what each call
returned at the time without copying.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import struct
import time
from bisect import bisect_right
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from typing import Any

from .telegram_html import EntityError, parse_html, strip_text, utf16_len

JSON = dict[str, Any]

JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "reply_parameters",
        "link_preview_options",
        "media",
        "commands",
        "scope",
        "results",
        "allowed_updates",
        "button",
        "message_ids",
        "menu_button",
        "rights",
        "reaction",
    }
)
INT_FIELDS = frozenset(
    {
        "chat_id",
        "from_chat_id",
        "message_id",
        "reply_to_message_id",
        "offset",
        "limit",
        "timeout",
        "user_id",
        "cache_time",
        "message_thread_id",
    }
)
BOOL_FIELDS = frozenset(
    {
        "show_alert",
        "disable_notification",
        "protect_content",
        "drop_pending_updates",
        "is_personal",
        "allow_sending_without_reply",
        "disable_web_page_preview",
        "has_spoiler",
        "for_channels",
    }
)
DEFAULT_ALLOWED = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
FILE_PREFIX = "AgACfake"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
_COMMAND = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
_MENTION = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{5,32}")


class ApiError(Exception):
    """A Bot API error answer: HTTP status = error_code."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        """The Telegram-shaped JSON answer."""
        out: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            out["parameters"] = self.parameters
        return out


class ControlError(Exception):
    """A test used the control API wrongly (no such message, no such button, ...)."""


def bad(description: str) -> ApiError:
    """A 400 Bad Request."""
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class Upload:
    """One file part of a multipart request."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class Fault:
    """An injected failure for the next `count` calls of a method ("*" = any but getUpdates)."""

    kind: str  # "error" | "hang" | "drop" | "pass" (answered as usual: spaces other faults out)
    count: int = 1
    code: int = 500
    description: str = "Internal Server Error"
    retry_after: int | None = None
    seconds: float = 0.0
    execute: bool = False


@dataclass
class StoredFile:
    """A file the bot uploaded, or a file id it named."""

    file_id: str
    file_unique_id: str
    data: bytes | None
    width: int = 512
    height: int = 512
    filename: str = ""
    mime_type: str = ""
    path: str = ""

    def size(self) -> int:
        """Bytes, 0 when the content is unknown."""
        return len(self.data) if self.data is not None else 0


@dataclass
class _Waiter:
    check: Callable[[], bool]
    future: asyncio.Future[bool]


def normalize_params(raw: dict[str, Any]) -> JSON:
    """Decode JSON-valued fields sent as strings and numbers/booleans sent as text."""
    out: JSON = {}
    for key, value in raw.items():
        if isinstance(value, str):
            if key in JSON_FIELDS:
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
            elif key in INT_FIELDS and re.fullmatch(r"-?\d+", value.strip()):
                value = int(value)
            elif key in BOOL_FIELDS:
                value = value.strip().lower() in ("true", "1")
        out[key] = value
    return out


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, JPEG, GIF or WebP image, None if it is none of these."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        return int(w), int(h)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        w, h = struct.unpack("<HH", data[6:10])
        return int(w), int(h)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return 512, 512
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(w), int(h)
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            (length,) = struct.unpack(">H", data[i + 2 : i + 4])
            i += 2 + length
        return None
    return None


def _u16_slice(text: str, offset: int, length: int) -> str:
    raw = text.encode("utf-16-le")
    return raw[2 * offset : 2 * (offset + length)].decode("utf-16-le", "replace")


def _auto_entities(text: str) -> list[JSON]:
    out: list[JSON] = []
    for kind, pattern in (("bot_command", _COMMAND), ("mention", _MENTION)):
        for m in pattern.finditer(text):
            out.append(
                {
                    "type": kind,
                    "offset": utf16_len(text[: m.start()]),
                    "length": utf16_len(m.group(0)),
                }
            )
    out.sort(key=lambda e: int(e["offset"]))
    return out


def _buttons(msg: JSON) -> list[JSON]:
    markup = msg.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def _without_reply(msg: JSON) -> JSON:
    return {k: v for k, v in msg.items() if k != "reply_to_message"}


class FakeTelegram:
    """State and Bot API methods of one fake bot."""

    def __init__(
        self,
        token: str,
        *,
        username: str = "esscard_test_bot",
        first_name: str = "ESSCard Test Bot",
        privacy_mode: bool = True,
        strict_chats: bool = True,
    ) -> None:
        self.token = token
        head = token.split(":", 1)[0]
        self.bot_id = int(head) if head.isdigit() else 1000001
        self.username = username
        self.first_name = first_name
        self.privacy_mode = privacy_mode
        self.strict_chats = strict_chats
        self._update_id = 100000
        self._seq = 0
        self._counter = 0
        self._waiters: list[_Waiter] = []
        self._poller: asyncio.Future[bool] | None = None
        self.reset()

    # ----------------------------------------------------------------- state

    def reset(self) -> None:
        """Forget chats, messages, updates, calls, files and faults (ids keep increasing)."""
        self.users: dict[int, JSON] = {}
        self.chats: dict[int, JSON] = {}
        self.messages: dict[tuple[int, int], JSON] = {}
        self._deleted: dict[tuple[int, int], JSON] = {}
        self._next_mid: dict[int, int] = {}
        self._admin: set[int] = set()
        self._gone: dict[int, str] = {}
        self._bot_posted: set[int] = set()
        self.queue: deque[JSON] = deque()
        self.allowed_updates: frozenset[str] = DEFAULT_ALLOWED
        self.webhook_url = ""
        self.commands: dict[str, list[JSON]] = {}
        self.settings: dict[str, JSON] = {}
        self.files: dict[str, StoredFile] = {}
        self.file_paths: dict[str, StoredFile] = {}
        self.callback_queries: dict[str, JSON] = {}
        self.inline_queries: dict[str, JSON] = {}
        self.faults: dict[str, deque[Fault]] = {}
        self.calls: list[JSON] = []
        self._call_seqs: list[int] = []
        self._calls_by_chat: dict[int, tuple[list[int], list[JSON]]] = {}
        self._bm_seqs: list[int] = []
        self._bm_keys: list[tuple[int, int]] = []
        self._bm_by_chat: dict[int, tuple[list[int], list[tuple[int, int]]]] = {}
        self._call_chat: int | None = None
        self._notify()

    @property
    def seq(self) -> int:
        """The sequence number of the last logged call."""
        return self._seq

    @property
    def bot_user(self) -> JSON:
        """The bot as a User object."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }

    def _next(self) -> int:
        self._counter += 1
        return self._counter

    def user(self, user_id: int, info: JSON | None = None) -> JSON:
        """The User object for an id, created (and updated from `info`) on demand."""
        known = self.users.get(user_id)
        if known is None or info:
            known = {
                "id": user_id,
                "is_bot": False,
                "first_name": f"User{user_id}",
                "username": f"user{user_id}",
                "language_code": "zh-hans",
                **(known or {}),
                **(info or {}),
            }
            known["id"] = user_id
            known = {k: v for k, v in known.items() if v is not None}
            self.users[user_id] = known
        return known

    def chat_for(self, spec: Any, user: JSON) -> JSON:
        """Resolve a chat spec of a control call: None (private), an id, or a Chat dict."""
        if spec is None or spec == user["id"]:
            chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
            if user.get("username"):
                chat["username"] = user["username"]
            self.chats[chat["id"]] = chat
            return chat
        if isinstance(spec, dict):
            chat_id = int(spec["id"])
            kind = spec.get("type") or (
                "supergroup" if str(chat_id).startswith("-100") else "group"
            )
            chat = {"id": chat_id, "type": kind, "title": spec.get("title") or f"Group {chat_id}"}
            chat.update({k: v for k, v in spec.items() if k not in ("id", "type", "title")})
            if kind == "private":
                raise ControlError("a private chat is given by its user, not as a chat dict")
            self.chats[chat_id] = chat
            return chat
        chat_id = int(spec)
        if chat_id in self.chats:
            return self.chats[chat_id]
        if chat_id > 0:
            raise ControlError(f"user {user['id']} cannot write in the private chat {chat_id}")
        return self.chat_for({"id": chat_id}, user)

    def _store(self, chat: JSON, sender: JSON, fields: JSON) -> JSON:
        chat_id = chat["id"]
        mid = self._next_mid.get(chat_id, 0) + 1
        self._next_mid[chat_id] = mid
        msg = {"message_id": mid, "from": sender, "chat": chat, "date": int(time.time())}
        msg.update(fields)
        self.messages[(chat_id, mid)] = msg
        return msg

    def message(self, chat_id: int, message_id: int) -> JSON | None:
        """A message's current state (deleted ones carry "deleted": true)."""
        key = (chat_id, message_id)
        msg = self.messages.get(key)
        if msg is None and key in self._deleted:
            return {**self._deleted[key], "deleted": True}
        return msg

    # ---------------------------------------------------------------- updates

    def _enqueue(self, kind: str, payload: JSON, deliver: bool = True, reason: str = "") -> JSON:
        update_id = 0
        if deliver and kind not in self.allowed_updates:
            deliver, reason = False, f"{kind} is not in allowed_updates"
        update: JSON = {kind: payload}
        if deliver:
            self._update_id += 1
            update_id = self._update_id
            update = {"update_id": update_id, kind: payload}
            self.queue.append(update)
            if self._poller is not None and not self._poller.done():
                self._poller.set_result(True)
        return {
            "update_id": update_id,
            "seq": self._seq,
            "delivered": deliver,
            "reason": reason,
            "update": update,
        }

    def push_raw(self, update: JSON) -> JSON:
        """Queue an update given as JSON (its update_id is replaced)."""
        kinds = [k for k in update if k != "update_id"]
        if len(kinds) != 1:
            raise ControlError("an update has exactly one field besides update_id")
        return self._enqueue(kinds[0], update[kinds[0]])

    def push_message(
        self,
        user_id: int,
        text: str | None = None,
        *,
        chat: Any = None,
        reply_to: int | None = None,
        entities: list[JSON] | None = None,
        user: JSON | None = None,
        deliver: bool | None = None,
        extra: JSON | None = None,
    ) -> JSON:
        """A user writes in a private chat or a group; privacy mode decides if the bot sees it."""
        sender = self.user(user_id, user)
        where = self.chat_for(chat, sender)
        fields: JSON = {}
        if text is not None:
            fields["text"] = text
            ents = _auto_entities(text) if entities is None else entities
            for ent in ents:
                if ent.get("type") == "text_mention" and "user" not in ent:
                    ent["user"] = self.bot_user
            if ents:
                fields["entities"] = ents
        if reply_to is not None:
            target = self.messages.get((where["id"], int(reply_to)))
            if target is None:
                raise ControlError(f"no message {reply_to} in chat {where['id']} to reply to")
            fields["reply_to_message"] = _without_reply(target)
        fields.update(extra or {})
        msg = self._store(where, sender, fields)
        reason = self._privacy(where, msg)
        if deliver is None:
            deliver = not reason
        if where["id"] in self._gone:
            deliver, reason = False, f"the bot is not in the chat ({self._gone[where['id']]})"
        return self._enqueue("message", msg, deliver, reason)

    def _privacy(self, chat: JSON, msg: JSON) -> str:
        """Why privacy mode hides this group message from the bot, "" if it does not."""
        if chat["type"] not in ("group", "supergroup"):
            return ""
        if not self.privacy_mode or chat["id"] in self._admin:
            return ""
        reply = msg.get("reply_to_message")
        if reply and reply.get("from", {}).get("id") == self.bot_id:
            return ""
        text = msg.get("text") or msg.get("caption") or ""
        for ent in msg.get("entities") or msg.get("caption_entities") or []:
            if ent.get("type") != "bot_command":
                continue
            command = _u16_slice(text, ent["offset"], ent["length"])
            if "@" in command:
                if command.split("@", 1)[1].lower() == self.username.lower():
                    return ""
            elif chat["id"] in self._bot_posted:
                return ""
        return "privacy mode: not a command for the bot nor a reply to it"

    def push_callback(
        self,
        chat_id: int,
        message_id: int,
        *,
        data: str | None = None,
        button_text: str | None = None,
        user_id: int | None = None,
        check: bool = True,
    ) -> JSON:
        """A user presses an inline button of a bot message."""
        msg = self.messages.get((int(chat_id), int(message_id)))
        if msg is None:
            raise ControlError(f"no message {message_id} in chat {chat_id}")
        if msg["from"]["id"] != self.bot_id:
            raise ControlError("only buttons of the bot's own messages can be pressed")
        buttons = [b for b in _buttons(msg) if "callback_data" in b]
        found = next(
            (
                b
                for b in buttons
                if (data is None or b["callback_data"] == data)
                and (button_text is None or b["text"] == button_text)
            ),
            None,
        )
        if found is None and (check or data is None):
            shown = [(b["text"], b["callback_data"]) for b in buttons]
            raise ControlError(
                f"message {message_id} has no button with callback_data={data!r} "
                f"text={button_text!r}; its buttons: {shown}"
            )
        chosen = found["callback_data"] if found is not None else data
        if user_id is None:
            if msg["chat"]["type"] != "private":
                raise ControlError("say which user presses a button in a group (user_id)")
            user_id = msg["chat"]["id"]
        query_id = f"{self.bot_id}{self._next():010d}"
        query = {
            "id": query_id,
            "from": self.user(int(user_id)),
            "message": msg,
            "chat_instance": str((msg["chat"]["id"] * 2654435761) % 10**18),
            "data": chosen,
        }
        self.callback_queries[query_id] = {"query": query, "answer": None}
        return self._enqueue("callback_query", query)

    def push_inline(
        self, user_id: int, query: str, *, offset: str = "", chat_type: str | None = "sender"
    ) -> JSON:
        """A user types `@bot query` in some chat."""
        query_id = f"{self.bot_id}{self._next():010d}"
        payload = {"id": query_id, "from": self.user(int(user_id)), "query": query}
        payload["offset"] = offset
        if chat_type:
            payload["chat_type"] = chat_type
        self.inline_queries[query_id] = {"query": payload, "answer": None}
        return self._enqueue("inline_query", payload)

    def push_member(
        self, chat: Any, user_id: int, *, status: str = "member", old_status: str | None = None
    ) -> JSON:
        """The bot's status in a chat changes: added to a group, made admin, removed, blocked."""
        actor = self.user(int(user_id))
        where = self.chat_for(chat, actor)
        if old_status is None:
            old_status = "member" if status in ("left", "kicked") else "left"
        payload = {
            "chat": where,
            "from": actor,
            "date": int(time.time()),
            "old_chat_member": self._member(old_status),
            "new_chat_member": self._member(status),
        }
        chat_id = where["id"]
        self._admin.discard(chat_id)
        self._gone.pop(chat_id, None)
        if status == "administrator":
            self._admin.add(chat_id)
        elif status in ("left", "kicked"):
            if where["type"] == "private":
                self._gone[chat_id] = "Forbidden: bot was blocked by the user"
            elif status == "kicked":
                kind = "supergroup" if where["type"] == "supergroup" else "group"
                self._gone[chat_id] = f"Forbidden: bot was kicked from the {kind} chat"
            else:
                self._gone[chat_id] = "Forbidden: bot is not a member of the group chat"
        return self._enqueue("my_chat_member", payload)

    def _member(self, status: str) -> JSON:
        out: JSON = {"status": status, "user": self.bot_user}
        if status == "kicked":
            out["until_date"] = 0
        if status == "administrator":
            out["can_be_edited"] = False
            out["is_anonymous"] = False
            for right in (
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
            ):
                out[right] = right in ("can_manage_chat", "can_delete_messages")
        return out

    # ------------------------------------------------------------ the call log

    def begin_call(self) -> int:
        """Start a logged call: its sequence number."""
        self._seq += 1
        self._call_chat = None
        return self._seq

    def attribute(self, params: JSON) -> None:
        """Credit the current call to the chat its chat_id names, if that chat is known."""
        raw = params.get("chat_id")
        if isinstance(raw, int) and raw in self.chats:
            self._call_chat = raw

    def end_call(self, seq: int, method: str, params: JSON, outcome: JSON) -> None:
        """Log a finished call and wake the tests waiting for it."""
        entry: JSON = {
            "seq": seq,
            "method": method,
            "params": params,
            "chat_id": self._call_chat,
            "time": time.time(),
        }
        entry.update(outcome)
        self.calls.append(entry)
        self._call_seqs.append(seq)
        if self._call_chat is not None:
            seqs, entries = self._calls_by_chat.setdefault(self._call_chat, ([], []))
            seqs.append(seq)
            entries.append(entry)
        self._notify()

    def _bot_message_created(self, msg: JSON) -> None:
        key = (msg["chat"]["id"], msg["message_id"])
        self._bot_posted.add(key[0])
        self._bm_seqs.append(self._seq)
        self._bm_keys.append(key)
        seqs, keys = self._bm_by_chat.setdefault(key[0], ([], []))
        seqs.append(self._seq)
        keys.append(key)

    def list_calls(
        self, chat_id: int | None = None, method: str | None = None, since: int = 0
    ) -> list[JSON]:
        """Logged calls after `since`, optionally of one chat and one method."""
        if chat_id is None:
            seqs, entries = self._call_seqs, self.calls
        else:
            seqs, entries = self._calls_by_chat.get(chat_id, ([], []))
        found = entries[bisect_right(seqs, since) :]
        if method:
            wanted = method.lower()
            found = [e for e in found if e["method"].lower() == wanted]
        return found

    def count_bot_messages(self, chat_id: int | None = None, since: int = 0) -> int:
        """How many messages the bot sent (in a chat) after `since`."""
        seqs = self._bm_seqs if chat_id is None else self._bm_by_chat.get(chat_id, ([], []))[0]
        return len(seqs) - bisect_right(seqs, since)

    def bot_messages(self, chat_id: int | None = None, since: int = 0) -> list[JSON]:
        """The messages the bot sent after `since`, in their current state."""
        if chat_id is None:
            seqs, keys = self._bm_seqs, self._bm_keys
        else:
            seqs, keys = self._bm_by_chat.get(chat_id, ([], []))
        out = []
        for key in keys[bisect_right(seqs, since) :]:
            msg = self.message(*key)
            if msg is not None:
                out.append(msg)
        return out

    async def wait(self, check: Callable[[], bool], timeout: float) -> bool:
        """Wait until `check()` holds (re-checked after every logged call) or time runs out."""
        if check():
            return True
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        waiter = _Waiter(check, future)
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return check()
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _notify(self) -> None:
        for waiter in self._waiters:
            if not waiter.future.done() and waiter.check():
                waiter.future.set_result(True)

    # ----------------------------------------------------------------- faults

    def add_fault(self, method: str, fault: Fault) -> None:
        """Queue a fault for a method name (case-insensitive) or "*"."""
        self.faults.setdefault(method.lower(), deque()).append(fault)

    def take_fault(self, method: str) -> Fault | None:
        """The fault the next call of `method` must suffer, if any (and use it up)."""
        name = method.lower()
        for key in (name, "*"):
            if key == "*" and name == "getupdates":
                break
            pending = self.faults.get(key)
            if pending:
                fault = pending[0]
                fault.count -= 1
                if fault.count <= 0:
                    pending.popleft()
                return fault
        return None

    # ------------------------------------------------------------- helpers

    def _chat(self, p: JSON, key: str = "chat_id") -> JSON:
        raw = p.get(key)
        if raw is None or raw == "":
            raise bad(f"{key} is empty")
        chat: JSON | None = None
        if isinstance(raw, str) and raw.startswith("@"):
            name = raw[1:].lower()
            chat = next(
                (c for c in self.chats.values() if str(c.get("username", "")).lower() == name),
                None,
            )
        else:
            try:
                chat_id = int(raw)
            except (TypeError, ValueError):
                raise bad("chat not found") from None
            chat = self.chats.get(chat_id)
            if chat is None and not self.strict_chats:
                if chat_id > 0:
                    chat = self.chat_for(None, self.user(chat_id))
                else:
                    chat = self.chat_for({"id": chat_id}, self.user(1))
        if chat is None:
            raise bad("chat not found")
        self._call_chat = chat["id"]
        return chat

    def _writable(self, chat: JSON) -> None:
        gone = self._gone.get(chat["id"])
        if gone:
            raise ApiError(403, gone)

    @staticmethod
    def _int(p: JSON, key: str, default: int | None = None) -> int:
        raw = p.get(key)
        if raw is None or raw == "":
            if default is None:
                raise bad(f"{key} is empty")
            return default
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise bad(f"invalid {key} specified") from None

    @staticmethod
    def _json(p: JSON, key: str) -> Any:
        raw = p.get(key)
        if isinstance(raw, str):
            try:
                return json.loads(raw)
            except ValueError:
                raise bad(f"can't parse {key} JSON object") from None
        return raw

    def _format(self, p: JSON, text: str, prefix: str, limit: int) -> JSON:
        """Text and entities as Telegram stores them, under the keys `prefix`/`prefix_entities`."""
        mode = str(p.get("parse_mode") or "").lower()
        ent_key = "entities" if prefix == "text" else "caption_entities"
        entities = self._json(p, ent_key) or []
        if mode == "html":
            try:
                text, entities = parse_html(text)
            except EntityError as err:
                raise bad(f"can't parse entities: {err}") from None
        elif mode not in ("", "markdown", "markdownv2"):
            raise bad(f"unsupported parse_mode {p.get('parse_mode')}")
        text, entities = strip_text(text, entities)
        if prefix == "text" and not text:
            raise bad("message text is empty")
        if utf16_len(text) > limit:
            raise bad("message is too long" if prefix == "text" else "message caption is too long")
        out: JSON = {}
        if text:
            out[prefix] = text
            if entities:
                out[ent_key] = entities
        return out

    def _markup(self, p: JSON) -> JSON | None:
        """Validate reply_markup; return it if it is an inline keyboard (the only one echoed)."""
        markup = self._json(p, "reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            return None
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad("can't parse inline keyboard button: InlineKeyboardMarkup expected")
        for button in (b for r in rows for b in r):
            if not isinstance(button, dict) or not button.get("text"):
                raise bad("can't parse inline keyboard button: Text buttons are unallowed")
            actions = set(button) - {"text"}
            if not actions:
                raise bad("text buttons are unallowed in the inline keyboard")
            if "callback_data" in button:
                size = len(str(button["callback_data"]).encode())
                if not 1 <= size <= 64:
                    raise bad("BUTTON_DATA_INVALID")
            if "url" in button and not re.match(r"(https?|tg)://\S+$", str(button["url"])):
                raise bad(f"inline keyboard button URL '{button['url']}' is invalid")
        return {"inline_keyboard": rows}

    def _reply(self, p: JSON, chat: JSON) -> JSON:
        params = self._json(p, "reply_parameters")
        if params is None and p.get("reply_to_message_id") not in (None, ""):
            params = {"message_id": p["reply_to_message_id"]}
        if not params:
            return {}
        allow = bool(
            params.get("allow_sending_without_reply") or p.get("allow_sending_without_reply")
        )
        target_chat = int(params.get("chat_id") or chat["id"])
        target = self.messages.get((target_chat, int(params.get("message_id") or 0)))
        if target is None:
            if allow:
                return {}
            raise bad("message to be replied not found")
        return {"reply_to_message": _without_reply(target)}

    def _send(self, chat: JSON, p: JSON, fields: JSON, markup: bool = True) -> JSON:
        self._writable(chat)
        body = self._reply(p, chat)
        body.update(fields)
        if markup:
            keyboard = self._markup(p)
            if keyboard:
                body["reply_markup"] = keyboard
        msg = self._store(chat, self.bot_user, body)
        self._bot_message_created(msg)
        return msg

    def _file(
        self, value: Any, files: dict[str, Upload], field_name: str, kind: str
    ) -> StoredFile:
        upload: Upload | None = None
        if value is None or value == "":
            upload = files.get(field_name)
            if upload is None:
                raise bad(f"there is no {field_name} in the request")
        elif isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value[len("attach://") :])
            if upload is None:
                raise bad(f"wrong HTTP URL specified: file {value} is not in the request")
        if upload is not None:
            return self._store_upload(upload, kind)
        name = str(value)
        known = self.files.get(name)
        if known is not None:
            return known
        if re.match(r"https?://", name) or name.startswith(FILE_PREFIX):
            digest = hashlib.sha256(name.encode()).hexdigest()
            stored = StoredFile(name, "AQAD" + digest[:16], None)
            self.files[name] = stored
            return stored
        raise bad("wrong file identifier/HTTP URL specified")

    def _store_upload(self, upload: Upload, kind: str) -> StoredFile:
        data = upload.data
        width, height = 0, 0
        if kind == "photo":
            size = image_size(data)
            if size is None:
                raise bad("IMAGE_PROCESS_FAILED")
            width, height = size
            scale = min(1.0, 1280 / max(width, height, 1))
            width, height = max(1, round(width * scale)), max(1, round(height * scale))
        digest = hashlib.sha256(data).hexdigest()
        file_id = f"{FILE_PREFIX}{kind[:3]}{digest[:40]}"
        stored = self.files.get(file_id)
        if stored is None:
            ext = upload.filename.rsplit(".", 1)[-1] if "." in upload.filename else "bin"
            stored = StoredFile(
                file_id,
                "AQAD" + digest[:16],
                data,
                width,
                height,
                upload.filename,
                upload.content_type,
                f"{kind}s/file_{len(self.file_paths)}.{ext}",
            )
            self.files[file_id] = stored
            self.file_paths[stored.path] = stored
        return stored

    def _media(self, kind: str, stored: StoredFile) -> Any:
        if kind == "photo":
            w, h = stored.width, stored.height
            scale = min(1.0, 90 / max(w, h, 1))
            small_id = stored.file_id + "_s"
            if small_id not in self.files:
                self.files[small_id] = StoredFile(
                    small_id, stored.file_unique_id + "s", stored.data, w, h, path=stored.path
                )
            small = {
                "file_id": small_id,
                "file_unique_id": stored.file_unique_id + "s",
                "width": max(1, round(w * scale)),
                "height": max(1, round(h * scale)),
            }
            if stored.data is not None:
                small["file_size"] = stored.size() // 4
            big = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "width": w,
                "height": h,
            }
            if stored.data is not None:
                big["file_size"] = stored.size()
            return [small, big]
        out: JSON = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        if kind == "video":
            out.update(width=stored.width or 640, height=stored.height or 360, duration=1)
        if stored.filename:
            out["file_name"] = stored.filename
        if stored.mime_type:
            out["mime_type"] = stored.mime_type
        if stored.data is not None:
            out["file_size"] = stored.size()
        return out

    def _edit_target(self, p: JSON) -> tuple[tuple[int, int], JSON] | None:
        if p.get("inline_message_id"):
            return None
        chat = self._chat(p)
        key = (chat["id"], self._int(p, "message_id"))
        msg = self.messages.get(key)
        if msg is None:
            raise bad("message to edit not found")
        if msg["from"]["id"] != self.bot_id:
            raise bad("message can't be edited")
        return key, msg

    def _commit_edit(self, key: tuple[int, int], old: JSON, new: JSON) -> JSON:
        if {k: v for k, v in new.items() if k != "edit_date"} == {
            k: v for k, v in old.items() if k != "edit_date"
        }:
            raise bad(NOT_MODIFIED)
        new["edit_date"] = int(time.time())
        self.messages[key] = new
        return new

    # ------------------------------------------------------------- Bot API

    def getMe(self, p: JSON, files: dict[str, Upload]) -> Any:
        """The bot's User, with the getMe-only fields."""
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def getUpdates(self, p: JSON, files: dict[str, Upload]) -> Any:
        """Long polling: confirm by offset, wait up to `timeout` s, return up to `limit`."""
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = self._int(p, "offset", 0)
        limit = min(max(self._int(p, "limit", 100), 1), 100)
        try:
            timeout = max(float(p.get("timeout") or 0), 0.0)
        except (TypeError, ValueError):
            raise bad("invalid timeout specified") from None
        allowed = self._json(p, "allowed_updates")
        if allowed is not None:
            self.allowed_updates = frozenset(allowed) if allowed else DEFAULT_ALLOWED
        if offset > 0:
            while self.queue and self.queue[0]["update_id"] < offset:
                self.queue.popleft()
        elif offset < 0:
            while len(self.queue) > -offset:
                self.queue.popleft()
        if not self.queue and timeout > 0:
            if self._poller is not None and not self._poller.done():
                self._poller.set_exception(
                    ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; make sure that only "
                        "one bot instance is running",
                    )
                )
            poller: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            self._poller = poller
            try:
                await asyncio.wait({poller}, timeout=timeout)
            finally:
                if self._poller is poller:
                    self._poller = None
            if poller.done():
                poller.result()
            else:
                poller.cancel()
        return list(islice(self.queue, limit))

    def deleteWebhook(self, p: JSON, files: dict[str, Upload]) -> Any:
        """Forget the webhook; maybe drop pending updates."""
        self.webhook_url = ""
        if p.get("drop_pending_updates"):
            self.queue.clear()
        return True

    def setWebhook(self, p: JSON, files: dict[str, Upload]) -> Any:
        """Remember the URL (no update is ever posted to it)."""
        self.webhook_url = str(p.get("url") or "")
        if p.get("drop_pending_updates"):
            self.queue.clear()
        return True

    def getWebhookInfo(self, p: JSON, files: dict[str, Upload]) -> Any:
        """WebhookInfo with the pending count."""
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.queue),
        }

    def _commands_key(self, p: JSON) -> str:
        scope = self._json(p, "scope") or {"type": "default"}
        return json.dumps([scope, str(p.get("language_code") or "")], sort_keys=True)

    def setMyCommands(self, p: JSON, files: dict[str, Upload]) -> Any:
        """Store a command list per scope and language."""
        commands = self._json(p, "commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad("commands must be a list of at most 100 BotCommand")
        for command in commands:
            name = str(command.get("command", "")) if isinstance(command, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise bad("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(p)
        self.commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def deleteMyCommands(self, p: JSON, files: dict[str, Upload]) -> Any:
        """Drop a scope's command list."""
        self.commands.pop(self._commands_key(p), None)
        return True

    def getMyCommands(self, p: JSON, files: dict[str, Upload]) -> Any:
        """A scope's command list."""
        return self.commands.get(self._commands_key(p), [])

    def _setting(self, p: JSON, name: str) -> Any:
        self.settings[name] = dict(p)
        return True

    def setMyDescription(self, p: JSON, files: dict[str, Upload]) -> Any:
        """Stored in settings."""
        return self._setting(p, "description")

    def setMyShortDescription(self, p: JSON, files: dict[str, Upload]) -> Any:
        """Stored in settings."""
        return self._setting(p, "short_description")

    def setMyName(self, p: JSON, files: dict[str, Upload]) -> Any:
        """Stored in settings."""
        return self._setting(p, "name")

    def setChatMenuButton(self, p: JSON, files: dict[str, Upload]) -> Any:
        """Stored in settings."""
        return self._setting(p, "menu_button")

    def setMyDefaultAdministratorRights(self, p: JSON, files: dict[str, Upload]) -> Any:
        """Stored in settings."""
        return self._setting(p, "default_administrator_rights")

    def getMyDescription(self, p: JSON, files: dict[str, Upload]) -> Any:
        """What setMyDescription stored."""
        stored = self.settings.get("description", {})
        return {"description": stored.get("description", "")}

    def getMyShortDescription(self, p: JSON, files: dict[str, Upload]) -> Any:
        """What setMyShortDescription stored."""
        stored = self.settings.get("short_description", {})
        return {"short_description": stored.get("short_description", "")}

    def getMyName(self, p: JSON, files: dict[str, Upload]) -> Any:
        """What setMyName stored, else the first name."""
        return {"name": self.settings.get("name", {}).get("name", self.first_name)}

    def getChatMenuButton(self, p: JSON, files: dict[str, Upload]) -> Any:
        """What setChatMenuButton stored, else the default button."""
        stored = self.settings.get("menu_button", {})
        return self._json(stored, "menu_button") or {"type": "default"}

    def sendMessage(self, p: JSON, files: dict[str, Upload]) -> Any:
        """A text message, HTML checked and turned into entities like Telegram does."""
        chat = self._chat(p)
        fields = self._format(p, str(p.get("text") or ""), "text", 4096)
        options = self._json(p, "link_preview_options")
        if options:
            fields["link_preview_options"] = options
        return self._send(chat, p, fields)

    def sendPhoto(self, p: JSON, files: dict[str, Upload]) -> Any:
        """A photo from an upload, attach:// name, file_id or URL."""
        chat = self._chat(p)
        stored = self._file(p.get("photo"), files, "photo", "photo")
        fields: JSON = {"photo": self._media("photo", stored)}
        fields.update(self._format(p, str(p.get("caption") or ""), "caption", 1024))
        if p.get("has_spoiler"):
            fields["has_media_spoiler"] = True
        return self._send(chat, p, fields)

    def sendDocument(self, p: JSON, files: dict[str, Upload]) -> Any:
        """A document from an upload, attach:// name, file_id or URL."""
        chat = self._chat(p)
        stored = self._file(p.get("document"), files, "document", "document")
        fields: JSON = {"document": self._media("document", stored)}
        fields.update(self._format(p, str(p.get("caption") or ""), "caption", 1024))
        return self._send(chat, p, fields)

    def sendMediaGroup(self, p: JSON, files: dict[str, Upload]) -> Any:
        """An album of 2-10 photos/documents/videos: one message each."""
        chat = self._chat(p)
        self._writable(chat)
        media = self._json(p, "media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise bad("media group must contain 2-10 items")
        prepared = []
        for item in media:
            if not isinstance(item, dict) or item.get("type") not in (
                "photo",
                "document",
                "video",
                "audio",
            ):
                raise bad("unsupported media type in the media group")
            kind = item["type"]
            stored = self._file(item.get("media"), files, "media", kind)
            fields: JSON = {kind: self._media(kind, stored)}
            fields.update(self._format(item, str(item.get("caption") or ""), "caption", 1024))
            prepared.append(fields)
        group_id = str(10**17 + self._next())
        out = []
        for fields in prepared:
            fields["media_group_id"] = group_id
            out.append(self._send(chat, p, fields, markup=False))
        return out

    def editMessageText(self, p: JSON, files: dict[str, Upload]) -> Any:
        """New text (and keyboard: none given removes it); "not modified" if nothing changes."""
        target = self._edit_target(p)
        fields = self._format(p, str(p.get("text") or ""), "text", 4096)
        markup = self._markup(p)
        if target is None:
            return True
        key, old = target
        if "text" not in old:
            raise bad("there is no text in the message to edit")
        new = {
            k: v
            for k, v in old.items()
            if k not in ("text", "entities", "reply_markup", "link_preview_options")
        }
        new.update(fields)
        if markup:
            new["reply_markup"] = markup
        return self._commit_edit(key, old, new)

    def editMessageCaption(self, p: JSON, files: dict[str, Upload]) -> Any:
        """New caption (and keyboard) of a media message."""
        target = self._edit_target(p)
        fields = self._format(p, str(p.get("caption") or ""), "caption", 1024)
        markup = self._markup(p)
        if target is None:
            return True
        key, old = target
        if "text" in old:
            raise bad("there is no caption in the message to edit")
        new = {
            k: v
            for k, v in old.items()
            if k not in ("caption", "caption_entities", "reply_markup")
        }
        new.update(fields)
        if markup:
            new["reply_markup"] = markup
        return self._commit_edit(key, old, new)

    def editMessageReplyMarkup(self, p: JSON, files: dict[str, Upload]) -> Any:
        """New inline keyboard (none given removes it)."""
        target = self._edit_target(p)
        markup = self._markup(p)
        if target is None:
            return True
        key, old = target
        new = {k: v for k, v in old.items() if k != "reply_markup"}
        if markup:
            new["reply_markup"] = markup
        return self._commit_edit(key, old, new)

    def deleteMessage(self, p: JSON, files: dict[str, Upload]) -> Any:
        """Delete a message (kept for the tests with "deleted": true)."""
        chat = self._chat(p)
        key = (chat["id"], self._int(p, "message_id"))
        msg = self.messages.pop(key, None)
        if msg is None:
            raise bad("message to delete not found")
        self._deleted[key] = msg
        return True

    def answerCallbackQuery(self, p: JSON, files: dict[str, Upload]) -> Any:
        """Answer a pressed button once."""
        query = self.callback_queries.get(str(p.get("callback_query_id") or ""))
        if query is None or query["answer"] is not None:
            raise bad("query is too old and response timeout expired or query ID is invalid")
        self._call_chat = query["query"]["message"]["chat"]["id"]
        text = str(p.get("text") or "")
        if len(text) > 200:
            raise bad("MESSAGE_TOO_LONG")
        query["answer"] = dict(p)
        return True

    def answerInlineQuery(self, p: JSON, files: dict[str, Upload]) -> Any:
        """Answer an inline query once with at most 50 results of unique ids."""
        query = self.inline_queries.get(str(p.get("inline_query_id") or ""))
        if query is None or query["answer"] is not None:
            raise bad("query is too old and response timeout expired or query ID is invalid")
        results = self._json(p, "results")
        if not isinstance(results, list) or len(results) > 50:
            raise bad("RESULTS_TOO_MUCH" if isinstance(results, list) else "results is empty")
        ids = [str(r.get("id", "")) if isinstance(r, dict) else "" for r in results]
        if any(not i or len(i.encode()) > 64 for i in ids):
            raise bad("RESULT_ID_INVALID")
        if len(set(ids)) != len(ids):
            raise bad("RESULT_ID_DUPLICATE")
        for result in results:
            if "type" not in result:
                raise bad("can't parse InlineQueryResult: type expected")
        query["answer"] = dict(p)
        return True

    def sendChatAction(self, p: JSON, files: dict[str, Upload]) -> Any:
        """Typing... (only validated)."""
        chat = self._chat(p)
        self._writable(chat)
        if p.get("action") not in CHAT_ACTIONS:
            raise bad("wrong parameter action in request")
        return True

    def getFile(self, p: JSON, files: dict[str, Upload]) -> Any:
        """A File with a path served under /file/bot<token>/."""
        stored = self.files.get(str(p.get("file_id") or ""))
        if stored is None:
            raise bad("invalid file_id")
        out: JSON = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        if stored.data is not None:
            out["file_size"] = stored.size()
            out["file_path"] = stored.path
        return out

    def getChat(self, p: JSON, files: dict[str, Upload]) -> Any:
        """A ChatFullInfo with the required fields."""
        chat = self._chat(p)
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
            },
        }

    def close(self, p: JSON, files: dict[str, Upload]) -> Any:
        """Always fine here."""
        return True

    def logOut(self, p: JSON, files: dict[str, Upload]) -> Any:
        """Always fine here."""
        return True


METHODS = [
    "getMe",
    "getUpdates",
    "deleteWebhook",
    "setWebhook",
    "getWebhookInfo",
    "setMyCommands",
    "deleteMyCommands",
    "getMyCommands",
    "setMyDescription",
    "setMyShortDescription",
    "setMyName",
    "setChatMenuButton",
    "setMyDefaultAdministratorRights",
    "getMyDescription",
    "getMyShortDescription",
    "getMyName",
    "getChatMenuButton",
    "sendMessage",
    "sendPhoto",
    "sendDocument",
    "sendMediaGroup",
    "editMessageText",
    "editMessageCaption",
    "editMessageReplyMarkup",
    "deleteMessage",
    "answerCallbackQuery",
    "answerInlineQuery",
    "sendChatAction",
    "getFile",
    "getChat",
    "close",
    "logOut",
]
"""The Bot API methods the fake implements, by their canonical names."""

CANONICAL = {name.lower(): name for name in METHODS}
