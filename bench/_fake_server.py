"""The tests' fake Ollama with two additions for benchmarks, run in its own process.

* A user message `bench-reply shape=SHAPE tokens=N` is answered with `reply_text(SHAPE, N)`
  (bench/_common.py), streamed one token per NDJSON line, `--token-delay` seconds apart
  (0: as fast as the server can write), on a fixed schedule: token n is due n × delay after
  the first, so time the server loses to a busy machine is made up, as a model's GPU would.
* A request with `stream: false` (the app summarising earlier messages) gets a one-line answer.
* `GET /bench/last` answers, for the last streamed reply, `end`: time.monotonic() right after
  the last byte (the terminating chunk) was handed to the socket, `start`: when the request
  arrived, and `tokens`: how many tokens were sent.

Prints its URL on the first line of stdout, then serves until terminated.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import reply_text

from tests.fake_ollama import FakeOllama, Script

_SPEC = re.compile(r"bench-reply shape=(\w+) tokens=(\d+)")


class BenchOllama(FakeOllama):
    """FakeOllama that answers benchmark requests and records when each reply ended."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.last: dict[str, float] = {}
        self._due: float | None = None
        """When the next token is due, while a paced reply streams."""

    async def _pause(self, seconds, gone):  # type: ignore[no-untyped-def,override]
        if seconds <= 0 or self._due is None:
            return await super()._pause(seconds, gone)
        self._due += seconds
        return await super()._pause(max(0.0, self._due - time.monotonic()), gone)

    def _plan(self, chat, script, hold):  # type: ignore[no-untyped-def]
        users = [m for m in chat.messages if m["role"] == "user"]
        match = _SPEC.search(str(users[-1].get("content") or "")) if users else None
        if match and script is None:
            text = reply_text(match.group(1), int(match.group(2)))
            script = Script(text, None, None, 10, None, None)
        elif not chat.stream and script is None:  # e.g. the app summarising a long history
            script = Script(
                "A short summary of the conversation so far.", None, None, 10, None, None
            )
        return super()._plan(chat, script, hold)

    async def _stream(self, conn, request, chat, plan, started):  # type: ignore[no-untyped-def]
        self._due = time.monotonic() if self.token_delay > 0 else None
        try:
            result = await super()._stream(conn, request, chat, plan, started)
        finally:
            self._due = None
        self.last = {
            "end": time.monotonic(),
            "start": started / 1e9,
            "tokens": len(plan.pieces),
        }
        return result

    async def _dispatch(self, conn, request):  # type: ignore[no-untyped-def]
        if request.path == "/bench/last":
            return await self._respond_json(conn, request, self.last)
        return await super()._dispatch(conn, request)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--token-delay", type=float, default=0.0)
    args = parser.parse_args()
    server = BenchOllama(token_delay=args.token_delay).start()
    print(server.url, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
