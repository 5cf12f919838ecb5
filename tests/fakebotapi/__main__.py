"""`python -m tests.fakebotapi --port N --token T`: run the fake as a process.

Prints `FAKEBOTAPI_URL=http://127.0.0.1:PORT` (flushed) once it listens; stops on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading

from .server import DEFAULT_TOKEN, FakeBotApiServer


def main(argv: list[str] | None = None) -> None:
    """Parse the options and serve until a signal."""
    parser = argparse.ArgumentParser(prog="python -m tests.fakebotapi", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", default=os.environ.get("TELEGRAM_BOT_TOKEN") or DEFAULT_TOKEN)
    parser.add_argument("--username", default="esscard_test_bot")
    args = parser.parse_args(argv)
    server = FakeBotApiServer(args.token, host=args.host, port=args.port, username=args.username)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(f"FAKEBOTAPI_URL={server.start()}", flush=True)
    while not stop.wait(0.5):
        pass
    server.stop()


if __name__ == "__main__":
    main()
