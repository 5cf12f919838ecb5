"""The fake's HTTP side (standard library threads): the Bot API and a control API.

`FakeBotApiServer(token).start()` serves on 127.0.0.1 and returns its URL; a bot uses
`base_url=server.bot_api_url`. `POST /_test/<name>` with a JSON object of keyword arguments
calls `FakeBotApi.<name>` (send_text, press, member, messages, sent, wait_for, inject, ...) and
answers {"ok": true, "result": ...}, e.g.
    curl -s URL/_test/send_text -d '{"user_id": 1003, "text": "养老认证怎么在手机上做"}'
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from dataclasses import asdict
from email.message import Message
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

from .client import FakeBotApi, FakeBotApiError, Pushed, WaitTimeout
from .state import JSON, FakeTelegram, Files

DEFAULT_TOKEN = "123456789:AAFakeTokenForEsscardBotTests_0123456"
Answer = tuple[int, Any] | None
"""HTTP status and JSON body, or None: close the connection without an answer."""


def parse_params(body: bytes, content_type: str) -> tuple[JSON, Files]:
    """A Bot API request's parameters (JSON-valued ones decoded) and its uploads."""
    raw: dict[str, Any] = {}
    files: Files = {}
    if content_type.startswith("multipart/form-data"):
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        parts: list[Message] = BytesParser().parsebytes(head + body).get_payload()  # type: ignore[assignment]
        for part in parts:
            name = str(part.get_param("name", header="content-disposition"))
            data = part.get_payload(decode=True)
            assert isinstance(data, bytes)
            filename = part.get_filename()
            if filename is None:
                raw[name] = data.decode()
            else:
                files[name] = (filename, data)
    elif content_type.startswith("application/json"):
        raw = json.loads(body)
    else:
        raw = dict(parse_qsl(body.decode(), keep_blank_values=True))
    return {key: _decoded(key, value) for key, value in raw.items()}, files


def _decoded(key: str, value: Any) -> Any:
    """PTB sends objects, numbers and booleans as JSON text; texts and ids stay strings."""
    if isinstance(value, str) and key not in ("text", "caption"):
        number = (
            key in ("chat_id", "message_id", "offset", "timeout") and value.lstrip("-").isdigit()
        )
        if number or value[:1] in ("[", "{") or value in ("true", "false"):
            with contextlib.suppress(ValueError):
                return json.loads(value)
    return value


class FakeBotApiServer:
    """A fake Telegram Bot API for one bot token, with a control API under /_test/."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        username: str = "esscard_test_bot",
    ) -> None:
        self.telegram = FakeTelegram(token, username)
        self.host, self.port = host, port
        self._control = FakeBotApi(self)
        self._httpd: _Http | None = None
        self._open: dict[socket.socket, int] = {}
        self._lock = threading.Lock()
        self._reopen: threading.Timer | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:PORT."""
        return f"http://{self.host}:{self.port}"

    @property
    def bot_api_url(self) -> str:
        """What to give PTB as base_url (the token follows)."""
        return f"{self.url}/bot"

    @property
    def token(self) -> str:
        """The only token the server accepts."""
        return self.telegram.token

    def client(self, timeout: float = 10.0) -> FakeBotApi:
        """The test's side of the fake; its waits last `timeout` s unless told."""
        return FakeBotApi(self, timeout)

    def start(self) -> str:
        """Serve in background threads; the base URL."""
        self.go_online()
        return self.url

    def stop(self) -> None:
        """Stop serving and end the long polls."""
        self.go_offline()
        with self.telegram.changed:
            self.telegram.closed = True
            self.telegram.changed.notify_all()

    def __enter__(self) -> FakeBotApiServer:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def go_online(self) -> None:
        """Listen (again, on the same port)."""
        with self._lock:
            if self._reopen is not None:
                self._reopen.cancel()
            if self._httpd is None:
                self._httpd = httpd = _Http((self.host, self.port), _Handler)
                httpd.owner = self
                self.port = int(httpd.server_address[1])
                threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()

    def go_offline(self, seconds: float | None = None) -> None:
        """Refuse connections and cut open ones (but the caller's), for `seconds` or until
        go_online()."""
        with self._lock:
            if self._reopen is not None:
                self._reopen.cancel()
            httpd, self._httpd = self._httpd, None
            if httpd is not None:
                httpd.shutdown()
                httpd.server_close()
            for sock, thread in list(self._open.items()):
                if thread != threading.get_ident():
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
            if seconds:
                self._reopen = threading.Timer(seconds, self.go_online)
                self._reopen.start()

    def bot_call(self, token: str, method: str, body: bytes, content_type: str) -> Answer:
        """One Bot API request, faults first."""
        tg = self.telegram
        if token != tg.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        params, files = parse_params(body, content_type)
        fault = tg.take_fault(method)
        if fault is not None and fault.kind in ("hang", "drop"):
            tg.log(method, params, files, {"ok": False, "fault": fault.kind})
            if fault.kind == "hang":
                time.sleep(fault.seconds)
            return None
        if fault is not None and fault.kind == "error":
            parameters = {"retry_after": fault.retry_after} if fault.retry_after else {}
            error = {"ok": False, "error_code": fault.code, "description": fault.description}
            outcome = {**error, "parameters": parameters} if parameters else error
            tg.log(method, params, files, outcome)
            return fault.code, outcome
        return tg.call(method, params, files)

    def control(self, name: str, body: bytes) -> Answer:
        """One /_test/ request: a FakeBotApi method with the JSON object's arguments."""
        if name not in FakeBotApi.CONTROL:
            routes = ", ".join(sorted(FakeBotApi.CONTROL))
            return 404, {"ok": False, "description": f"no control route {name!r}; have {routes}"}
        try:
            result = getattr(self._control, name)(**json.loads(body or b"{}"))
        except WaitTimeout as timeout:
            items = timeout.items
            return 200, {
                "ok": False,
                "timed_out": True,
                "description": str(timeout),
                "result": items,
            }
        except (FakeBotApiError, TypeError, KeyError, ValueError) as err:
            return 400, {"ok": False, "description": f"{type(err).__name__}: {err}"}
        return 200, {
            "ok": True,
            "result": asdict(result) if isinstance(result, Pushed) else result,
        }


class _Http(ThreadingHTTPServer):
    daemon_threads = True
    owner: FakeBotApiServer

    def handle_error(self, request: object, client_address: object) -> None:
        """A connection cut by going offline or by the bot is expected: stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Http

    def setup(self) -> None:
        super().setup()
        self.server.owner._open[self.connection] = threading.get_ident()

    def finish(self) -> None:
        self.server.owner._open.pop(self.connection, None)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        """A Bot API or control call."""
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = self.path.partition("?")[0]
        owner = self.server.owner
        answer: Answer = 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        if path.startswith("/bot"):
            token, _, method = path[4:].partition("/")
            answer = owner.bot_call(token, method, body, self.headers.get("Content-Type", ""))
        elif path.startswith("/_test/"):
            answer = owner.control(path[len("/_test/") :], body)
        if answer is None:
            self.close_connection = True
            return
        status, payload = answer
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST
