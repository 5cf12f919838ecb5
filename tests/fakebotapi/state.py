"""The fake Telegram of one bot: chats, messages, the update queue, the call log, the Bot API.

Only the methods the bot calls are here, each checked the way Telegram checks what the tests
rely on (HTML, lengths, known chats and messages, button data). Everything runs under
`changed` (an RLock-based condition the server threads and the tests share); stored messages
are never changed in place (an edit stores a new dict), so the call log keeps what each call
returned.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from .telegram_html import EntityError, parse_html, strip_text, utf16_len

JSON = dict[str, Any]
Files = dict[str, tuple[str, bytes]]
"""Uploads of a multipart request: field name -> (file name, content)."""

API = frozenset(
    [
        "getMe",
        "getUpdates",
        "setWebhook",
        "deleteWebhook",
        "setMyCommands",
        "sendMessage",
        "sendPhoto",
        "editMessageText",
        "answerCallbackQuery",
    ]
)
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)


class ApiError(Exception):
    """A Bot API error answer: HTTP status = error_code."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after

    def body(self) -> JSON:
        """The Telegram-shaped JSON answer."""
        out: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after:
            out["parameters"] = {"retry_after": self.retry_after}
        return out


def bad(description: str) -> ApiError:
    """A 400 Bad Request."""
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class Fault:
    """A failure for the next `count` calls of a method: "error" (code, description,
    retry_after), "hang" (no answer for `seconds`, then the connection closes), "drop" (closed
    at once) or "pass" (answered as usual: queued between faults, it spaces them out)."""

    kind: str
    count: int = 1
    code: int = 500
    description: str = "Internal Server Error"
    retry_after: int | None = None
    seconds: float = 30.0


class FakeTelegram:
    """State and Bot API methods of one fake bot."""

    def __init__(self, token: str, username: str = "esscard_test_bot") -> None:
        self.token = token
        head = token.split(":", 1)[0]
        self.bot_user: JSON = {
            "id": int(head) if head.isdigit() else 1000001,
            "is_bot": True,
            "first_name": "ESSCard Test Bot",
            "username": username,
        }
        self.changed = threading.Condition(threading.RLock())
        self.closed = False
        self.users: dict[int, JSON] = {}
        self.chats: dict[int, JSON] = {}
        self.admin_in: set[int] = set()
        """Groups where the bot is an administrator (privacy mode does not hide messages)."""
        self.messages: dict[tuple[int, int], JSON] = {}
        self.last_id: dict[int, int] = {}
        self.bot_messages: list[tuple[int, tuple[int, int]]] = []
        """(seq of the call that sent it, key in `messages`), in order."""
        self.queue: list[JSON] = []
        self.allowed: set[str] | None = None
        self.update_id = 100000
        self.webhook_url = ""
        self.calls: list[JSON] = []
        """The Bot API call log (getUpdates left out); a call's seq is its place in it, from 1."""
        self.faults: dict[str, list[Fault]] = {}
        self.callback_queries: dict[str, JSON] = {}
        """Query id -> {"chat": chat id, "answer": answerCallbackQuery's parameters or None}."""
        self.files: dict[str, bytes] = {}
        """Uploaded photos by the file_id given back."""

    @property
    def username(self) -> str:
        """The bot's username."""
        return str(self.bot_user["username"])

    @property
    def seq(self) -> int:
        """The sequence number of the last logged call."""
        return len(self.calls)

    def store(self, chat: JSON, sender: JSON, fields: JSON) -> JSON:
        """A new message in `chat` (ids count up per chat)."""
        mid = self.last_id[chat["id"]] = self.last_id.get(chat["id"], 0) + 1
        msg = {"message_id": mid, "from": sender, "chat": chat, "date": int(time.time()), **fields}
        self.messages[(chat["id"], mid)] = msg
        return msg

    # ------------------------------------------------------------ calls, faults, the log

    def take_fault(self, method: str) -> Fault | None:
        """The fault the next call of `method` must suffer, if any (and use it up)."""
        with self.changed:
            pending = self.faults.get(method)
            if not pending:
                return None
            fault = pending[0]
            fault.count -= 1
            if fault.count <= 0:
                pending.pop(0)
            return fault

    def call(self, method: str, params: JSON, files: Files) -> tuple[int, JSON]:
        """Run one Bot API method: HTTP status and answer, logged unless it is getUpdates."""
        with self.changed:
            try:
                if method not in API:
                    raise ApiError(404, "Not Found: method not found")
                status, outcome = 200, {"ok": True, "result": getattr(self, method)(params, files)}
            except ApiError as err:
                status, outcome = err.code, err.body()
            except Exception as err:  # a bug of the fake: said, not hidden
                status = 500
                outcome = {"ok": False, "error_code": 500, "description": f"fake bug: {err!r}"}
            if method != "getUpdates":
                self.log(method, params, files, outcome)
            return status, outcome

    def log(self, method: str, params: JSON, files: Files, outcome: JSON) -> None:
        """Log a call (uploads as their name and size) and wake whoever waits for one."""
        with self.changed:
            chat = params.get("chat_id")
            if method == "answerCallbackQuery":
                chat = self.callback_queries.get(str(params.get("callback_query_id")), {}).get(
                    "chat"
                )
            uploads = {
                key: {"upload": name, "size": len(data)} for key, (name, data) in files.items()
            }
            self.calls.append(
                {
                    "seq": len(self.calls) + 1,
                    "method": method,
                    "params": {**params, **uploads},
                    "chat_id": chat if isinstance(chat, int) else None,
                    "time": time.time(),
                    **outcome,
                }
            )
            self.changed.notify_all()

    # ------------------------------------------------------------ the Bot API

    def getMe(self, p: JSON, files: Files) -> Any:
        """The bot, with privacy mode on (as BotFather leaves it)."""
        extra = {"can_join_groups": True, "can_read_all_group_messages": False}
        return {**self.bot_user, **extra, "supports_inline_queries": True}

    def getUpdates(self, p: JSON, files: Files) -> Any:
        """Long polling: confirm by offset, wait up to `timeout` s, return up to 100."""
        if "allowed_updates" in p:
            self.allowed = set(p["allowed_updates"]) or None
        self.queue = [u for u in self.queue if u["update_id"] >= int(p.get("offset") or 0)]
        self.changed.wait_for(lambda: self.queue or self.closed, float(p.get("timeout") or 0))
        return self.queue[:100]

    def setWebhook(self, p: JSON, files: Files) -> Any:
        """Remember the URL (nothing is ever posted to it)."""
        self.deleteWebhook(p, files)
        self.webhook_url = str(p["url"])
        return True

    def deleteWebhook(self, p: JSON, files: Files) -> Any:
        """Forget the webhook; maybe drop pending updates."""
        self.webhook_url = ""
        if p.get("drop_pending_updates"):
            self.queue.clear()
        return True

    def setMyCommands(self, p: JSON, files: Files) -> Any:
        """Checked like Telegram checks command names and descriptions."""
        for command in p["commands"]:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command["command"]):
                raise bad("BOT_COMMAND_INVALID")
            if not 1 <= len(command["description"].strip()) <= 256:
                raise bad("BOT_COMMAND_DESCRIPTION_INVALID")
        return True

    def sendMessage(self, p: JSON, files: Files) -> Any:
        """A text message, HTML checked and turned into entities like Telegram does."""
        return self._send(p, self._text(p, "text", 4096))

    def sendPhoto(self, p: JSON, files: Files) -> Any:
        """A photo uploaded, or sent again by the file_id it got."""
        if "photo" in files:
            data = files["photo"][1]
            file_id = "AgACfake" + hashlib.sha256(data).hexdigest()[:32]
            self.files[file_id] = data
        elif p.get("photo") in self.files:
            file_id = p["photo"]
        else:
            raise bad("wrong file identifier/HTTP URL specified")
        size = {"file_unique_id": file_id[-12:], "width": 512, "height": 512}
        photo = [{"file_id": file_id, **size, "file_size": len(self.files[file_id])}]
        return self._send(p, {"photo": photo, **self._text(p, "caption", 1024)})

    def editMessageText(self, p: JSON, files: Files) -> Any:
        """New text and keyboard (none given removes it); "not modified" if nothing changes."""
        key = (self._chat(p)["id"], int(p["message_id"]))
        old = self.messages.get(key)
        if old is None or old["from"] != self.bot_user or "text" not in old:
            raise bad("message to edit not found")
        kept = {k: v for k, v in old.items() if k not in ("text", "entities", "reply_markup")}
        new = {**kept, **self._text(p, "text", 4096), **self._markup(p)}
        if new == old:
            raise bad(NOT_MODIFIED)
        self.messages[key] = {**new, "edit_date": int(time.time())}
        return self.messages[key]

    def answerCallbackQuery(self, p: JSON, files: Files) -> Any:
        """Answer a pressed button, once."""
        query = self.callback_queries.get(str(p.get("callback_query_id")))
        if query is None or query["answer"] is not None:
            raise bad("query is too old and response timeout expired or query ID is invalid")
        if len(str(p.get("text") or "")) > 200:
            raise bad("MESSAGE_TOO_LONG")
        query["answer"] = p
        return True

    # ------------------------------------------------------------ helpers

    def _chat(self, p: JSON) -> JSON:
        chat = self.chats.get(p.get("chat_id"))  # type: ignore[arg-type]
        if chat is None:
            raise bad("chat not found")
        return chat

    def _text(self, p: JSON, key: str, limit: int) -> JSON:
        """Text (or caption) and entities as Telegram stores them."""
        entity_key = "entities" if key == "text" else "caption_entities"
        text, entities = str(p.get(key) or ""), p.get(entity_key) or []
        if str(p.get("parse_mode")).lower() == "html":
            try:
                text, entities = parse_html(text)
            except EntityError as err:
                raise bad(f"can't parse entities: {err}") from None
        text, entities = strip_text(text, entities)
        if key == "text" and not text:
            raise bad("message text is empty")
        if utf16_len(text) > limit:
            raise bad("message is too long" if key == "text" else "message caption is too long")
        return {k: v for k, v in ((key, text), (entity_key, entities)) if v}

    def _markup(self, p: JSON) -> JSON:
        rows = (p.get("reply_markup") or {}).get("inline_keyboard")
        if rows is None:
            return {}
        for button in (button for row in rows for button in row):
            if "callback_data" in button and not 1 <= len(button["callback_data"].encode()) <= 64:
                raise bad("BUTTON_DATA_INVALID")
        return {"reply_markup": {"inline_keyboard": rows}}

    def _send(self, p: JSON, fields: JSON) -> JSON:
        chat = self._chat(p)
        body: JSON = {}
        ref = p.get("reply_parameters")
        if ref:
            target = self.messages.get((int(ref.get("chat_id") or chat["id"]), ref["message_id"]))
            if target is not None:
                body["reply_to_message"] = {
                    k: v for k, v in target.items() if k != "reply_to_message"
                }
            elif not ref.get("allow_sending_without_reply"):
                raise bad("message to be replied not found")
        msg = self.store(chat, self.bot_user, {**body, **fields, **self._markup(p)})
        self.bot_messages.append((self.seq + 1, (chat["id"], msg["message_id"])))
        return msg
