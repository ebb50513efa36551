"""Reading a streamed NDJSON body: chunks bounded by a stall timeout, split into lines, each
line decoded as one JSON object. Knows nothing of httpx: it reads any async stream of bytes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from ollama_tui.ollama.errors import Stalled, StreamBroken


async def split_lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Yield the non-blank lines of an NDJSON body, each without its newline.

    Splits on b"\\n" only: httpx's aiter_lines also splits on every str.splitlines()
    boundary, such as U+0085, which Go writes raw inside JSON strings (and U+2028, which
    other encoders do). Lines have no length limit, and a UTF-8 sequence split across
    chunks is whole again once its line is complete.
    """
    pending: list[bytes] = []
    async with aclosing(chunks):
        async for chunk in chunks:
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
                    yield line
    rest = b"".join(pending)
    if rest.strip():
        yield rest


async def stall_bounded(chunks: AsyncIterator[bytes], seconds: float) -> AsyncIterator[bytes]:
    """The body's chunks; once one has brought data, waiting `seconds` for the next raises
    Stalled (there is no limit before: loading a model can take a minute)."""
    timer: _StallTimer | None = None
    async with aclosing(chunks):
        try:
            while True:
                if timer is not None:
                    timer.start()
                try:
                    chunk = await anext(chunks)
                except StopAsyncIteration:
                    return
                except asyncio.CancelledError:
                    if timer is not None and timer.expired():
                        raise Stalled(seconds) from None
                    raise
                if timer is not None:
                    timer.stop()
                elif chunk:
                    timer = _StallTimer(seconds)
                yield chunk
        finally:
            if timer is not None:
                timer.close()


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
