"""Reading a streamed NDJSON body: chunks bounded by a stall timeout, split into lines, each
line decoded as one JSON object. Knows nothing of httpx: it reads any async stream of bytes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from ollama_tui.ollama.errors import Stalled, StreamBroken


async def read_objects(
    chunks: AsyncIterator[bytes], stall_seconds: float
) -> AsyncIterator[dict[str, Any]]:
    """The JSON objects of an NDJSON body, one per non-blank line; once a chunk has brought
    data, waiting `stall_seconds` for the next raises Stalled (there is no limit before:
    loading a model can take a minute). A line that is not a JSON object raises StreamBroken.

    Splits on b"\\n" only: httpx's aiter_lines also splits on every str.splitlines()
    boundary, such as U+0085, which Go writes raw inside JSON strings (and U+2028, which
    other encoders do). Lines have no length limit, and a UTF-8 sequence split across
    chunks is whole again once its line is complete.

    One generator for the timing, the splitting and the decoding: a reply is a chunk per
    token, and each generator between the socket and the reply costs every token a hop.
    """
    timer: _StallTimer | None = None
    pending: list[bytes] = []
    async with aclosing(chunks):
        try:
            while True:
                if timer is not None:
                    timer.start()
                try:
                    chunk = await anext(chunks)
                except StopAsyncIteration:
                    break
                except asyncio.CancelledError:
                    if timer is not None and timer.expired():
                        raise Stalled(stall_seconds) from None
                    raise
                if timer is not None:
                    timer.stop()
                elif chunk:
                    timer = _StallTimer(stall_seconds)
                if chunk.endswith(b"\n") and not pending and chunk.count(b"\n") == 1:
                    if chunk.strip():  # the usual chunk: one whole line
                        yield json_object(chunk[:-1])
                    continue
                if b"\n" not in chunk:
                    pending.append(chunk)
                    continue
                if pending:
                    pending.append(chunk)
                    chunk = b"".join(pending)
                    pending.clear()
                *complete, rest = chunk.split(b"\n")
                if rest:
                    pending.append(rest)
                for line in complete:
                    if line.strip():
                        yield json_object(line)
        finally:
            if timer is not None:
                timer.close()
    rest = b"".join(pending)
    if rest.strip():
        yield json_object(rest)


_DECODER = json.JSONDecoder()


def json_object(raw: bytes) -> dict[str, Any]:
    """One line (or a whole answer) as a JSON object; anything else raises StreamBroken."""
    text = raw.decode("utf-8", errors="replace")
    try:
        # json.loads without its two whitespace scans (a reply parses one line per token).
        value, end = _DECODER.raw_decode(text)
    except ValueError:
        end = -1
    if end != len(text):  # whitespace around the value, or not JSON: as json.loads decides
        try:
            value = json.loads(text)
        except ValueError:
            raise StreamBroken.malformed(text) from None
    if not isinstance(value, dict):
        raise StreamBroken.malformed(text)
    return value


class _StallTimer:
    """Cancels the task reading a stream once one wait for data has lasted `seconds`.

    What `asyncio.timeout(seconds)` around each read does, with one timer for the whole stream:
    a read only notes when it starts and stops waiting, and the timer, when it fires while a
    later wait is still short of its limit, is set again for that wait's deadline. A reply is
    one chunk per token, and a timeout scope per chunk cost ~6 µs of the ~12 µs the client
    spent per token besides httpx's own parsing.
    """

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a stream must be read inside a task")
        self._task = task
        self._cancelling = 0
        self._waiting_since: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._fired = False

    def start(self) -> None:
        """A read begins waiting."""
        now = self._loop.time()
        self._waiting_since = now
        self._cancelling = self._task.cancelling()
        if self._timer is None:
            self._timer = self._loop.call_at(now + self._seconds, self._check)

    def stop(self) -> None:
        """The read has its data: the task is no longer waiting on the stream."""
        self._waiting_since = None

    def expired(self) -> bool:
        """Whether a CancelledError out of the read is this timer's alone (decided as
        asyncio.timeout does: nobody else has cancelled the task meanwhile)."""
        return self._fired and self._task.uncancel() <= self._cancelling

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check(self) -> None:
        self._timer = None
        if self._waiting_since is None:
            return  # the consumer has the task; the next read sets the timer again
        deadline = self._waiting_since + self._seconds
        if deadline > self._loop.time():
            self._timer = self._loop.call_at(deadline, self._check)
        else:
            self._fired = True
            self._task.cancel()
