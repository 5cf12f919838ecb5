"""`python -m tests.fakebotapi --port N --token T`: run the fake as a process.

Prints `FAKEBOTAPI_URL=http://127.0.0.1:PORT` (flushed) once it listens; stops on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal

from .server import DEFAULT_TOKEN, FakeBotApiServer


def main(argv: list[str] | None = None) -> None:
    """Parse the options and serve until a signal."""
    parser = argparse.ArgumentParser(prog="python -m tests.fakebotapi", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", default=os.environ.get("TELEGRAM_BOT_TOKEN") or DEFAULT_TOKEN)
    parser.add_argument("--username", default="esscard_test_bot")
    parser.add_argument(
        "--no-privacy", action="store_true", help="the bot sees every group message"
    )
    parser.add_argument(
        "--lenient-chats", action="store_true", help="sending to an unseen chat id works"
    )
    args = parser.parse_args(argv)
    server = FakeBotApiServer(
        args.token,
        host=args.host,
        port=args.port,
        username=args.username,
        privacy_mode=not args.no_privacy,
        strict_chats=not args.lenient_chats,
    )

    async def run() -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await server.serve(lambda url: print(f"FAKEBOTAPI_URL={url}", flush=True))

    asyncio.run(run())


if __name__ == "__main__":
    main()
