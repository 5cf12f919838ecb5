"""A stdlib (urllib) client of the fake's /_test control API, for tests and benchmarks.

    api = FakeBotApi(url)
    pushed = api.send_text(1001, "社保卡丢了怎么办")
    (reply,) = api.wait_for(1001, 1, since=pushed.seq)
    api.press(reply, "more")

Every method blocks. In an async test whose bot runs on the same event loop, use the
`api.aio` twin (`await api.aio.wait_for(...)`), which runs the same call in a thread.
"""

from __future__ import annotations

import asyncio
import functools
import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


class FakeBotApiError(RuntimeError):
    """The control API refused a call (bad arguments, no such message or button, ...)."""


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
        """The callback or inline query id, if the push was one."""
        for kind in ("callback_query", "inline_query"):
            if kind in self.update:
                return str(self.update[kind]["id"])
        return None


def group(chat_id: int = -1001234567890, title: str = "测试群", kind: str = "supergroup") -> JSON:
    """A group or supergroup chat spec for `chat=`."""
    return {"id": chat_id, "type": kind, "title": title}


def entity(text: str, part: str, kind: str = "text_mention", **extra: Any) -> JSON:
    """An entity over the first `part` in `text` (UTF-16 offsets); text_mention means the bot."""

    def units(s: str) -> int:
        return len(s.encode("utf-16-le")) // 2

    start = text.index(part)
    return {"type": kind, "offset": units(text[:start]), "length": units(part), **extra}


class FakeBotApi:
    """Drive and inspect a fake Bot API server through its control API."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    # ------------------------------------------------------------------ transport

    def _call(self, route: str, payload: JSON | None = None, timeout: float | None = None) -> Any:
        body = json.dumps(payload or {}, ensure_ascii=False).encode()
        request = urllib.request.Request(
            f"{self.url}/_test/{route}",
            data=body,
            headers={"Content-Type": "application/json", "Connection": "close"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as err:
            try:
                answer = json.loads(err.read())
            except ValueError:
                raise FakeBotApiError(f"{route}: HTTP {err.code}") from err
        if answer.get("timed_out"):
            raise WaitTimeout(answer["description"], answer.get("result") or [])
        if not answer.get("ok"):
            raise FakeBotApiError(f"{route}: {answer.get('description')}")
        return answer["result"]

    @staticmethod
    def _pushed(raw: JSON) -> Pushed:
        return Pushed(raw["update_id"], raw["seq"], raw["delivered"], raw["reason"], raw["update"])

    # ------------------------------------------------------------------ what users do

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        chat: int | JSON | None = None,
        reply_to: int | JSON | None = None,
        entities: list[JSON] | None = None,
        user: JSON | None = None,
        deliver: bool | None = None,
        extra: JSON | None = None,
    ) -> Pushed:
        """User `user_id` writes `text` in their private chat, or in `chat` (id or group()).

        `reply_to` is a message id or dict in that chat; entities default to the commands and
        @mentions found in the text; `user` sets first_name/username/language_code. In a group
        with privacy mode on, the bot only gets commands and replies to it (see .delivered).
        """
        if isinstance(reply_to, dict):
            reply_to = int(reply_to["message_id"])
        payload: JSON = {"user_id": user_id, "text": text, "chat": chat, "reply_to": reply_to}
        for key, value in (("entities", entities), ("user", user), ("extra", extra)):
            if value is not None:
                payload[key] = value
        if deliver is not None:
            payload["deliver"] = deliver
        return self._pushed(self._call("push/message", payload))

    def send_many(self, messages: list[JSON]) -> list[Pushed]:
        """Push many messages in one request; each dict takes send_text's keyword names."""
        return [self._pushed(raw) for raw in self._call("push/messages", {"messages": messages})]

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

        The message's current keyboard must have it unless check=False; in a group, say who
        presses it (user_id). The answer shows up as an answerCallbackQuery call.
        """
        payload: JSON = {
            "chat_id": message["chat"]["id"],
            "message_id": message["message_id"],
            "data": data,
            "button_text": text,
            "user_id": user_id,
            "check": check,
        }
        return self._pushed(self._call("push/callback", payload))

    def inline(self, user_id: int, query: str, *, offset: str = "") -> Pushed:
        """User `user_id` types `@bot query`."""
        payload = {"user_id": user_id, "query": query, "offset": offset}
        return self._pushed(self._call("push/inline", payload))

    def member(self, chat: int | JSON, user_id: int, status: str = "member") -> Pushed:
        """my_chat_member: the bot is added ("member", "administrator"), removed or blocked.

        "administrator" lets the bot read every group message; "kicked"/"left" make sends to
        the chat fail with 403 (in a private chat: the user blocked the bot).
        """
        payload = {"chat": chat, "user_id": user_id, "status": status}
        return self._pushed(self._call("push/member", payload))

    def push_update(self, update: JSON) -> Pushed:
        """Queue any update JSON as is (update_id is assigned)."""
        return self._pushed(self._call("push/update", {"update": update}))

    # ------------------------------------------------------------------ what the bot did

    def seq(self) -> int:
        """The sequence number of the last Bot API call (a `since` mark)."""
        return int(self._call("seq"))

    def sent(
        self, chat_id: int | None = None, *, method: str | None = None, since: int = 0
    ) -> list[JSON]:
        """Logged Bot API calls (no getUpdates): seq, method, params, chat_id, time, ok, result."""
        return list(self._call("calls", {"chat_id": chat_id, "method": method, "since": since}))

    def messages(self, chat_id: int | None = None, *, since: int = 0) -> list[JSON]:
        """Messages the bot sent (in a chat) after `since`, in their current (edited) state."""
        return list(self._call("messages", {"chat_id": chat_id, "since": since}))

    def message(self, chat_id: int, message_id: int) -> JSON | None:
        """One message's current state."""
        result = self._call("message", {"chat_id": chat_id, "message_id": message_id})
        return dict(result) if result else None

    def wait_for(
        self, chat_id: int | None, count: int = 1, timeout: float = 10.0, *, since: int = 0
    ) -> list[JSON]:
        """Wait until the bot has sent `count` messages (in a chat; None = all chats) after
        `since`; return them all. Raises WaitTimeout (with .items) when time runs out."""
        payload = {
            "kind": "messages",
            "chat_id": chat_id,
            "count": count,
            "since": since,
            "timeout": timeout,
        }
        return list(self._call("wait", payload, timeout=timeout + 10))

    def wait_calls(
        self,
        method: str | None = None,
        count: int = 1,
        timeout: float = 10.0,
        *,
        chat_id: int | None = None,
        since: int = 0,
    ) -> list[JSON]:
        """Wait until `count` logged calls (of a method, in a chat) exist after `since`."""
        payload = {
            "kind": "calls",
            "method": method,
            "chat_id": chat_id,
            "count": count,
            "since": since,
            "timeout": timeout,
        }
        return list(self._call("wait", payload, timeout=timeout + 10))

    def ask(
        self,
        user_id: int,
        text: str,
        *,
        chat: int | JSON | None = None,
        count: int = 1,
        timeout: float = 10.0,
        **kwargs: Any,
    ) -> list[JSON]:
        """send_text, then wait for `count` bot messages in that chat sent after it."""
        pushed = self.send_text(user_id, text, chat=chat, **kwargs)
        if not pushed.delivered:
            raise FakeBotApiError(f"the bot never sees this message: {pushed.reason}")
        chat_id = pushed.update["message"]["chat"]["id"]
        return self.wait_for(chat_id, count, timeout, since=pushed.seq)

    def state(self) -> JSON:
        """Pending updates, commands, settings, chats, faults, query answers, ..."""
        return dict(self._call("state"))

    # ------------------------------------------------------------------ control

    def inject(
        self,
        kind: str,
        method: str = "*",
        *,
        count: int = 1,
        retry_after: int = 1,
        seconds: float = 30.0,
        code: int = 500,
        description: str | None = None,
        execute: bool = False,
    ) -> JSON:
        """Make the next `count` calls of `method` ("*": any but getUpdates) fail.

        kind: "429" (retry_after), "500", "error" (code, description, e.g. 403), "hang" (no
        answer for `seconds`, then the connection closes; execute=True runs the call late),
        "drop" (the connection closes at once), "pass" (answered as usual: queued between
        other faults, it spaces them out, e.g. to fail 3 calls in 10).
        """
        payload: JSON = {
            "kind": kind,
            "method": method,
            "count": count,
            "retry_after": retry_after,
            "seconds": seconds,
            "code": code,
            "execute": execute,
        }
        if description:
            payload["description"] = description
        return dict(self._call("fault", payload))

    def clear_faults(self) -> None:
        """Drop faults not used up yet."""
        self._call("faults/clear")

    def offline(self, seconds: float) -> None:
        """Stop listening (connections refused, open ones cut) for `seconds`."""
        self._call("offline", {"seconds": seconds})

    def reset(self) -> int:
        """Forget chats, messages, updates, calls and faults; returns the current seq."""
        return int(self._call("reset"))

    def config(
        self,
        *,
        privacy_mode: bool | None = None,
        strict_chats: bool | None = None,
        username: str | None = None,
    ) -> JSON:
        """Change privacy mode, chat strictness or the bot's username at run time."""
        payload: JSON = {"privacy_mode": privacy_mode, "strict_chats": strict_chats}
        if username:
            payload["username"] = username
        return dict(self._call("config", {k: v for k, v in payload.items() if v is not None}))

    @property
    def aio(self) -> AsyncFakeBotApi:
        """The same methods as coroutines (run in a worker thread)."""
        return AsyncFakeBotApi(self)


class AsyncFakeBotApi:
    """`await api.aio.wait_for(...)`: any FakeBotApi method, off the event loop."""

    def __init__(self, sync: FakeBotApi) -> None:
        self._sync = sync

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._sync, name)
        if not callable(target):
            return target

        @functools.wraps(target)
        async def run(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(target, *args, **kwargs)

        return run
