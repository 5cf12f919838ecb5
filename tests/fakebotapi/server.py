"""The HTTP side: Bot API routes, file downloads and the /_test control API, on asyncio streams.

`FakeBotApiServer(token=...).start()` runs it on 127.0.0.1 in a background thread and returns
its base URL; a bot then uses `base_url=f"{url}/bot"` and `base_file_url=f"{url}/file/bot"`.

Control API (POST a JSON object, or GET with a query string; answers {"ok", "result"}):
  push/message   {user_id, text, chat?, reply_to?, entities?, user?, deliver?, extra?}
  push/messages  {messages: [push/message objects]}
  push/callback  {chat_id, message_id, data?, button_text?, user_id?, check?}
  push/inline    {user_id, query, offset?, chat_type?}
  push/member    {chat, user_id, status?, old_status?}         (my_chat_member)
  push/update    {update}                                      (raw, update_id assigned)
  calls          {chat_id?, method?, since?}                   (the Bot API call log)
  messages       {chat_id?, since?}    message {chat_id, message_id}    seq    state
  wait           {kind: messages|calls, chat_id?, method?, since?, count, timeout}
  fault          {method?: "*", kind: 429|500|error|hang|drop|pass, count?, retry_after?,
                  seconds?, code?, description?, execute?}       faults/clear
  offline        {seconds}             reset             config {privacy_mode?, strict_chats?}
Pushes answer {update_id, seq, delivered, reason, update}; `seq` is the number of the last
logged Bot API call, so "what the bot sent after this push" is `since=seq`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from email.message import Message
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

from .client import FakeBotApi
from .state import CANONICAL, JSON, ApiError, ControlError, FakeTelegram, Fault, Upload
from .state import normalize_params as _normalize

log = logging.getLogger(__name__)
T = TypeVar("T")
DEFAULT_TOKEN = "123456789:AAFakeTokenForEsscardBotTests_0123456"
MAX_WAIT = 300.0
_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


@dataclass
class Request:
    """One parsed HTTP request."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    @property
    def keep_alive(self) -> bool:
        """HTTP/1.1 keep-alive unless the client said close."""
        return self.headers.get("connection", "").lower() != "close"


@dataclass
class Response:
    """One HTTP answer; `after` runs once it is written (and the connection closed)."""

    status: int
    body: bytes
    content_type: str = "application/json"
    close: bool = False
    after: Callable[[], Awaitable[None]] | None = None


def json_response(status: int, payload: Any) -> Response:
    """A JSON answer."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(status, body)


def parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, Upload]]:
    """Split multipart/form-data into text fields and file uploads."""
    header = Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise ValueError("multipart body without boundary")
    fields: dict[str, str] = {}
    files: dict[str, Upload] = {}
    for part in body.split(b"--" + boundary.encode())[1:]:
        if part.startswith(b"--"):
            break
        if part.startswith(b"\r\n"):
            part = part[2:]
        head, _, content = part.partition(b"\r\n\r\n")
        if content.endswith(b"\r\n"):
            content = content[:-2]
        info = Message()
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, sep, value = line.partition(":")
            if sep:
                info[key.strip()] = value.strip()
        name = info.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        filename = info.get_filename()
        if filename is None:
            fields[name] = content.decode("utf-8", "replace")
        else:
            kind = info.get_content_type() if info.get("content-type") else ""
            files[name] = Upload(filename, kind or "application/octet-stream", content)
    return fields, files


def _describe(params: JSON, files: dict[str, Upload]) -> JSON:
    out = dict(params)
    for name, upload in files.items():
        out.setdefault(
            name,
            {
                "upload": upload.filename,
                "content_type": upload.content_type,
                "size": len(upload.data),
                "sha256": hashlib.sha256(upload.data).hexdigest(),
            },
        )
    return out


def _int(args: JSON, key: str, default: int | None = None) -> int | None:
    raw = args.get(key)
    if raw is None or raw == "":
        return default
    return int(raw)


def _bool(args: JSON, key: str, default: bool | None = None) -> bool | None:
    raw = args.get(key)
    if raw is None or raw == "":
        return default
    if isinstance(raw, str):
        return raw.lower() in ("1", "true", "yes")
    return bool(raw)


def _fault(args: JSON) -> Fault:
    """A Fault from control args: kind is 429, 500, error, hang, drop or pass."""
    kind = str(args.get("kind", "500")).lower()
    count = _int(args, "count", 1) or 1
    if kind == "429":
        retry = _int(args, "retry_after", 1) or 1
        return Fault(
            "error",
            count,
            429,
            str(args.get("description") or f"Too Many Requests: retry after {retry}"),
            retry_after=retry,
        )
    if kind in ("500", "error"):
        code = _int(args, "code", 500) or 500
        default = "Internal Server Error" if code >= 500 else f"Error {code}"
        return Fault("error", count, code, str(args.get("description") or default))
    if kind in ("hang", "timeout"):
        seconds = float(args.get("seconds") or 30)
        return Fault("hang", count, seconds=seconds, execute=bool(_bool(args, "execute", False)))
    if kind in ("drop", "pass"):
        return Fault(kind, count)
    raise ControlError(f"unknown fault kind {kind!r} (429, 500, error, hang, drop, pass)")


class FakeBotApiServer:
    """A fake Telegram Bot API server for one bot token, with a control API under /_test/."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        username: str = "esscard_test_bot",
        first_name: str = "ESSCard Test Bot",
        privacy_mode: bool = True,
        strict_chats: bool = True,
    ) -> None:
        self.telegram = FakeTelegram(
            token,
            username=username,
            first_name=first_name,
            privacy_mode=privacy_mode,
            strict_chats=strict_chats,
        )
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.StreamWriter, asyncio.Task[None]] = {}
        self._reopen: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._control: dict[str, Callable[[JSON], Any]] = {
            "push/message": self._c_push_message,
            "push/messages": self._c_push_messages,
            "push/callback": self._c_push_callback,
            "push/inline": self._c_push_inline,
            "push/member": self._c_push_member,
            "push/update": lambda a: self.telegram.push_raw(a["update"]),
            "calls": self._c_calls,
            "messages": self._c_messages,
            "message": self._c_message,
            "wait": self._c_wait,
            "seq": lambda a: self.telegram.seq,
            "state": self._c_state,
            "fault": self._c_fault,
            "faults/clear": self._c_clear_faults,
            "offline": self._c_offline,
            "reset": self._c_reset,
            "config": self._c_config,
        }

    # -------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:PORT."""
        return f"http://{self.host}:{self.port}"

    @property
    def bot_api_url(self) -> str:
        """What to give PTB as base_url (the token follows)."""
        return f"{self.url}/bot"

    @property
    def file_url(self) -> str:
        """What to give PTB as base_file_url."""
        return f"{self.url}/file/bot"

    @property
    def token(self) -> str:
        """The only token the server accepts."""
        return self.telegram.token

    def start(self) -> str:
        """Serve in a background thread; return the base URL once listening."""
        if self._thread is not None:
            return self.url
        self._thread = threading.Thread(target=self._run_thread, name="fakebotapi", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fake Bot API server did not start in 10 s")
        if self._error is not None:
            raise RuntimeError(f"the fake Bot API server failed: {self._error}")
        return self.url

    def stop(self) -> None:
        """Stop the background server (idempotent)."""
        loop, stopping = self._loop, self._stopping
        if self._thread is None or loop is None or stopping is None:
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(stopping.set)
        self._thread.join(10)
        self._thread = None

    def __enter__(self) -> FakeBotApiServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def client(self, timeout: float = 10.0) -> FakeBotApi:
        """A FakeBotApi client for this server."""
        return FakeBotApi(self.url, timeout=timeout)

    def _run_thread(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self.serve())
        except BaseException as err:  # reported by start()
            self._error = err
            self._ready.set()
        finally:
            loop.close()

    async def serve(self, on_ready: Callable[[str], None] | None = None) -> None:
        """Listen until stop() (or the task is cancelled); usable from any event loop."""
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        await self._listen()
        self._ready.set()
        if on_ready is not None:
            on_ready(self.url)
        try:
            await self._stopping.wait()
        finally:
            await self._close_all()

    def call(self, fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run a coroutine function on the server's loop from another thread."""
        if self._loop is None:
            raise RuntimeError("the server is not running")
        return asyncio.run_coroutine_threadsafe(fn(), self._loop).result(30)

    def go_offline(self, seconds: float | None = None) -> None:
        """Refuse connections (for `seconds`, else until go_online()); from another thread."""
        self.call(lambda: self._offline(seconds))

    def go_online(self) -> None:
        """Listen again; from another thread."""
        self.call(self._online)

    async def _listen(self) -> None:
        if self._server is not None:
            return
        self._server = await asyncio.start_server(
            self._connection, self.host, self.port, limit=1 << 20, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _offline(self, seconds: float | None) -> None:
        if self._reopen is not None:
            self._reopen.cancel()
            self._reopen = None
        if self._server is not None:
            self._server.close()
            self._server = None
        current = asyncio.current_task()
        for writer, task in list(self._connections.items()):
            writer.transport.abort()
            if task is not current:
                task.cancel()
        if seconds is not None:
            loop = asyncio.get_running_loop()
            self._reopen = loop.call_later(seconds, lambda: loop.create_task(self._online()))

    async def _online(self) -> None:
        if self._reopen is not None:
            self._reopen.cancel()
            self._reopen = None
        await self._listen()

    async def _close_all(self) -> None:
        await self._offline(None)
        tasks = list(self._connections.values())
        if tasks:
            await asyncio.wait(tasks, timeout=2)

    # -------------------------------------------------------------- HTTP

    async def _connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[writer] = task
        try:
            while True:
                try:
                    request = await self._read(reader)
                except ValueError as err:
                    await self._write(
                        writer, json_response(400, {"ok": False, "description": str(err)}), False
                    )
                    break
                if request is None:
                    break
                response = await self._dispatch(request)
                if response is None:  # a dropped or hung call: close without answering
                    break
                keep = request.keep_alive and not response.close
                await self._write(writer, response, keep)
                if response.after is not None:
                    writer.transport.close()
                    await response.after()
                    break
                if not keep:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._connections.pop(writer, None)
            writer.close()

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> Request | None:
        line = await reader.readline()
        if not line:
            return None
        parts = line.decode("latin-1").split()
        if len(parts) != 3:
            raise ValueError("bad request line")
        headers: dict[str, str] = {}
        while True:
            raw = await reader.readline()
            if raw in (b"\r\n", b"\n", b""):
                break
            name, _, value = raw.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            chunks = []
            while True:
                size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
            body = b"".join(chunks)
        else:
            body = await reader.readexactly(int(headers.get("content-length") or 0))
        target = urlsplit(parts[1])
        return Request(parts[0].upper(), unquote(target.path), target.query, headers, body)

    @staticmethod
    async def _write(writer: asyncio.StreamWriter, response: Response, keep: bool) -> None:
        reason = _REASONS.get(response.status, "Error")
        head = (
            f"HTTP/1.1 {response.status} {reason}\r\n"
            f"Server: fakebotapi\r\n"
            f"Content-Type: {response.content_type}\r\n"
            f"Content-Length: {len(response.body)}\r\n"
            f"Connection: {'keep-alive' if keep else 'close'}\r\n\r\n"
        )
        writer.write(head.encode("latin-1") + response.body)
        await writer.drain()

    async def _dispatch(self, request: Request) -> Response | None:
        path = request.path
        try:
            if path.startswith("/bot"):
                token, _, method = path[4:].partition("/")
                params, files = self._params(request)
                return await self._bot_call(token, method.strip("/"), params, files)
            if path.startswith("/file/bot"):
                return self._file(path[len("/file/bot") :])
            if path.startswith("/_test/"):
                return await self._control_call(path[len("/_test/") :].strip("/"), request)
        except ValueError as err:
            return json_response(400, {"ok": False, "error_code": 400, "description": str(err)})
        return json_response(404, {"ok": False, "error_code": 404, "description": "Not Found"})

    @staticmethod
    def _params(request: Request) -> tuple[JSON, dict[str, Upload]]:
        params: JSON = dict(parse_qsl(request.query, keep_blank_values=True))
        files: dict[str, Upload] = {}
        kind = request.headers.get("content-type", "")
        if not request.body:
            return params, files
        if kind.startswith("application/json"):
            data = json.loads(request.body)
            if not isinstance(data, dict):
                raise ValueError("the JSON body must be an object")
            params.update(data)
        elif kind.startswith("multipart/form-data"):
            fields, files = parse_multipart(request.body, kind)
            params.update(fields)
        else:
            params.update(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
        return params, files

    # -------------------------------------------------------------- Bot API

    async def _bot_call(
        self, token: str, method: str, raw: JSON, files: dict[str, Upload]
    ) -> Response | None:
        tg = self.telegram
        if token != tg.token:
            return json_response(
                401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
            )
        params = _normalize(raw)
        name = CANONICAL.get(method.lower())
        if name is None:
            error = ApiError(404, "Not Found: method not found")
            self._log(method, params, files, error.body())
            return json_response(404, error.body())
        fault = tg.take_fault(name)
        if fault is not None and fault.kind != "pass":
            if fault.kind == "hang":
                await asyncio.sleep(fault.seconds)
            if fault.kind == "drop" or (fault.kind == "hang" and not fault.execute):
                self._log(name, params, files, {"ok": False, "fault": fault.kind})
                return None
            if fault.kind == "error":
                parameters = {"retry_after": fault.retry_after} if fault.retry_after else None
                error = ApiError(fault.code, fault.description, parameters)
                self._log(name, params, files, {**error.body(), "fault": "error"})
                return json_response(fault.code, error.body())
        logged = name != "getUpdates"
        seq = tg.begin_call() if logged else 0
        status = 200
        try:
            result = getattr(tg, name)(params, files)
            if inspect.isawaitable(result):
                result = await result
            outcome: JSON = {"ok": True, "result": result}
        except ApiError as err:
            status, outcome = err.code, err.body()
        except Exception as err:
            log.exception("fake Bot API failed in %s", name)
            status = 500
            outcome = {"ok": False, "error_code": 500, "description": f"fake server bug: {err!r}"}
        if logged:
            tg.end_call(seq, name, _describe(params, files), outcome)
        return json_response(status, outcome)

    def _log(self, method: str, params: JSON, files: dict[str, Upload], outcome: JSON) -> None:
        seq = self.telegram.begin_call()
        self.telegram.attribute(params)
        self.telegram.end_call(seq, method, _describe(params, files), outcome)

    def _file(self, rest: str) -> Response:
        token, _, path = rest.partition("/")
        if token != self.telegram.token:
            return json_response(
                401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
            )
        stored = self.telegram.file_paths.get(path)
        if stored is None or stored.data is None:
            return json_response(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        return Response(200, stored.data, stored.mime_type or "application/octet-stream")

    # -------------------------------------------------------------- control API

    async def _control_call(self, route: str, request: Request) -> Response:
        args: JSON = dict(parse_qsl(request.query, keep_blank_values=True))
        if request.body:
            data = json.loads(request.body)
            if not isinstance(data, dict):
                raise ValueError("the control API takes a JSON object")
            args.update(data)
        handler = self._control.get(route)
        if handler is None:
            routes = ", ".join(sorted(self._control))
            return json_response(
                404, {"ok": False, "description": f"no control route {route!r}; have {routes}"}
            )
        try:
            result = handler(args)
            if inspect.isawaitable(result):
                result = await result
        except (ControlError, KeyError, TypeError, ValueError) as err:
            return json_response(400, {"ok": False, "description": f"{type(err).__name__}: {err}"})
        if isinstance(result, Response):
            return result
        return json_response(200, {"ok": True, "result": result})

    def _c_push_message(self, a: JSON) -> JSON:
        return self.telegram.push_message(
            int(a["user_id"]),
            a.get("text"),
            chat=a.get("chat"),
            reply_to=_int(a, "reply_to"),
            entities=a.get("entities"),
            user=a.get("user"),
            deliver=_bool(a, "deliver"),
            extra=a.get("extra"),
        )

    def _c_push_messages(self, a: JSON) -> list[JSON]:
        return [self._c_push_message(item) for item in a["messages"]]

    def _c_push_callback(self, a: JSON) -> JSON:
        message = a.get("message")
        if isinstance(message, dict):
            chat_id, message_id = message["chat"]["id"], message["message_id"]
        else:
            chat_id, message_id = a["chat_id"], a["message_id"]
        return self.telegram.push_callback(
            int(chat_id),
            int(message_id),
            data=a.get("data"),
            button_text=a.get("button_text"),
            user_id=_int(a, "user_id"),
            check=bool(_bool(a, "check", True)),
        )

    def _c_push_inline(self, a: JSON) -> JSON:
        return self.telegram.push_inline(
            int(a["user_id"]),
            str(a.get("query", "")),
            offset=str(a.get("offset", "")),
            chat_type=a.get("chat_type", "sender"),
        )

    def _c_push_member(self, a: JSON) -> JSON:
        return self.telegram.push_member(
            a["chat"],
            int(a["user_id"]),
            status=str(a.get("status", "member")),
            old_status=a.get("old_status"),
        )

    def _c_calls(self, a: JSON) -> list[JSON]:
        return self.telegram.list_calls(
            _int(a, "chat_id"), a.get("method"), _int(a, "since", 0) or 0
        )

    def _c_messages(self, a: JSON) -> list[JSON]:
        return self.telegram.bot_messages(_int(a, "chat_id"), _int(a, "since", 0) or 0)

    def _c_message(self, a: JSON) -> JSON | None:
        return self.telegram.message(int(a["chat_id"]), int(a["message_id"]))

    async def _c_wait(self, a: JSON) -> Response:
        tg = self.telegram
        kind = str(a.get("kind", "messages"))
        chat_id = _int(a, "chat_id")
        since = _int(a, "since", 0) or 0
        count = _int(a, "count", 1) or 0
        method = a.get("method")
        timeout = min(float(a.get("timeout") or 10), MAX_WAIT)
        if kind == "messages":
            done = await tg.wait(lambda: tg.count_bot_messages(chat_id, since) >= count, timeout)
            items = tg.bot_messages(chat_id, since)
        elif kind == "calls":
            done = await tg.wait(
                lambda: len(tg.list_calls(chat_id, method, since)) >= count, timeout
            )
            items = tg.list_calls(chat_id, method, since)
        else:
            raise ControlError("kind is messages or calls")
        if done:
            return json_response(200, {"ok": True, "result": items})
        return json_response(
            200,
            {
                "ok": False,
                "timed_out": True,
                "description": f"waited {timeout} s for {count} {kind} "
                f"(chat {chat_id}, method {method}, since {since}); got {len(items)}",
                "result": items,
            },
        )

    def _c_state(self, a: JSON) -> JSON:
        tg = self.telegram
        return {
            "token_bot_id": tg.bot_id,
            "username": tg.username,
            "privacy_mode": tg.privacy_mode,
            "strict_chats": tg.strict_chats,
            "seq": tg.seq,
            "pending_updates": len(tg.queue),
            "allowed_updates": sorted(tg.allowed_updates),
            "webhook_url": tg.webhook_url,
            "listening": self._server is not None,
            "connections": len(self._connections),
            "commands": {key: value for key, value in tg.commands.items()},
            "settings": tg.settings,
            "chats": list(tg.chats.values()),
            "faults": {key: [vars(f) for f in queue] for key, queue in tg.faults.items() if queue},
            "callback_answers": {qid: q["answer"] for qid, q in tg.callback_queries.items()},
            "inline_answers": {qid: q["answer"] for qid, q in tg.inline_queries.items()},
            "time": time.time(),
        }

    def _c_fault(self, a: JSON) -> JSON:
        fault = _fault(a)
        self.telegram.add_fault(str(a.get("method") or "*"), fault)
        return vars(fault)

    def _c_clear_faults(self, a: JSON) -> bool:
        self.telegram.faults.clear()
        return True

    def _c_offline(self, a: JSON) -> Response:
        seconds = float(a.get("seconds") or 0)
        if not 0 < seconds <= MAX_WAIT:
            raise ControlError("offline needs 0 < seconds <= 300 (it is also the way back)")
        response = json_response(200, {"ok": True, "result": {"offline_for": seconds}})
        response.after = lambda: self._offline(seconds)
        return response

    def _c_reset(self, a: JSON) -> int:
        self.telegram.reset()
        return self.telegram.seq

    def _c_config(self, a: JSON) -> JSON:
        tg = self.telegram
        privacy = _bool(a, "privacy_mode")
        if privacy is not None:
            tg.privacy_mode = privacy
        strict = _bool(a, "strict_chats")
        if strict is not None:
            tg.strict_chats = strict
        if a.get("username"):
            tg.username = str(a["username"])
        if a.get("first_name"):
            tg.first_name = str(a["first_name"])
        return {
            "privacy_mode": tg.privacy_mode,
            "strict_chats": tg.strict_chats,
            "username": tg.username,
            "first_name": tg.first_name,
        }
