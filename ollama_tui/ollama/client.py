"""OllamaClient: the app's one way to talk to an Ollama server, over a pooled httpx client."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import ssl
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import aclosing
from types import TracebackType
from typing import Any, Self

import httpx

from ollama_tui.ollama.chat_wire import chat_body, parse_tool_calls
from ollama_tui.ollama.errors import (
    ModelNotFound,
    OllamaError,
    PullFailed,
    RequestRejected,
    ServerBusy,
    ServerError,
    Stalled,
    StreamBroken,
    StreamError,
    Unreachable,
)
from ollama_tui.ollama.events import (
    ChatDone,
    ChatEvent,
    ChatReply,
    ContentDelta,
    ModelDetails,
    ModelSummary,
    PullProgress,
    ReplyStats,
    RunningModel,
    ThinkingDelta,
    ToolCalls,
)
from ollama_tui.sanitize import sanitize


class OllamaClient:
    """Async client for the parts of the Ollama API a chat app needs; errors are OllamaError."""

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float = 5.0,
        stall_timeout: float = 60.0,
        headers: Mapping[str, str] | None = None,
        verify: bool | str = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.stall_timeout = stall_timeout
        # No read timeout on streams: loading a model can take a minute before the first byte.
        # Once a reply has started, `stall_timeout` bounds each wait instead (see _chunks).
        self._stream_timeout = httpx.Timeout(
            connect=connect_timeout, read=None, write=connect_timeout * 2, pool=connect_timeout
        )
        self._request_timeout = httpx.Timeout(
            connect=connect_timeout,
            read=stall_timeout,
            write=connect_timeout * 2,
            pool=connect_timeout,
        )
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=self._stream_timeout,
            headers=dict(headers) if headers else None,
            verify=_tls_verify(verify),
        )

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def chat(
        self,
        model: str,
        messages: list[dict[str, Any]],
        *,
        options: Mapping[str, object] | None = None,
        think: bool | str | None = None,
        keep_alive: str | float | None = None,
        tools: Sequence[Mapping[str, object]] | None = None,
        format: str | Mapping[str, object] | None = None,
    ) -> AsyncIterator[ChatEvent]:
        """Stream a reply: thinking and content deltas in arrival order, then one ChatDone.

        With empty `messages` the server only loads the model and the sole event is a ChatDone
        whose done_reason is "load". `tools` are offered to the model (Ollama's function
        definitions); the calls it makes arrive as one ToolCalls event. `format` is "json" or a
        JSON Schema the answer must follow. Use `contextlib.aclosing` when stopping early, so
        the connection is closed at once rather than when the generator is collected.
        """
        body = chat_body(
            model,
            messages,
            stream=True,
            options=options,
            think=think,
            keep_alive=keep_alive,
            tools=tools,
            format=format,
        )
        done: ChatDone | None = None
        replies = self._stream_objects("/api/chat", body, model=model, on_error=StreamError)
        async with aclosing(replies):
            async for reply in replies:
                # Thinking before content, as the server produces them; empty pieces are skipped.
                message = reply.get("message")
                if isinstance(message, dict):
                    if thinking := _text(message.get("thinking")):
                        yield ThinkingDelta(thinking)
                    if content := _text(message.get("content")):
                        yield ContentDelta(content)
                    if calls := parse_tool_calls(message.get("tool_calls")):
                        yield ToolCalls(calls)
                if reply.get("done") is True:
                    done = _chat_done(reply)
                    break
        if done is None:
            raise StreamBroken.incomplete()
        # Yielded after the response is closed, so a consumer that stops here leaks nothing.
        yield done

    async def chat_once(
        self,
        model: str,
        messages: list[dict[str, Any]],
        *,
        options: Mapping[str, object] | None = None,
        think: bool | str | None = None,
        keep_alive: str | float | None = None,
        format: str | Mapping[str, object] | None = None,
    ) -> ChatReply:
        """The whole reply in one answer (`stream: false`), e.g. for a summary nobody watches.

        Nothing arrives until generation ends, so there is no read timeout: cancel the awaiting
        task to give up, which closes the connection.
        """
        body = chat_body(
            model,
            messages,
            stream=False,
            options=options,
            think=think,
            keep_alive=keep_alive,
            format=format,
        )
        reply = await self._request(
            "POST", "/api/chat", body=body, model=model, timeout=self._stream_timeout
        )
        message = _mapping(reply.get("message"))
        done = _chat_done(reply)
        return ChatReply(
            content=_text(message.get("content")) or "",
            thinking=_text(message.get("thinking")) or "",
            done_reason=done.done_reason,
            stats=done.stats,
            tool_calls=parse_tool_calls(message.get("tool_calls")),
        )

    async def pull(self, model: str) -> AsyncIterator[PullProgress]:
        """Download a model, yielding the server's progress lines up to the "success" one.

        A failure the server reports mid-way raises PullFailed. Cancelling the consumer (or
        closing this generator) closes the connection, which stops the download.
        """
        succeeded = False
        lines = self._stream_objects(
            "/api/pull",
            {"model": model, "stream": True},
            model=None,
            on_error=lambda detail: PullFailed(model, detail),
        )
        async with aclosing(lines):
            async for line in lines:
                progress = PullProgress(
                    status=_text(line.get("status")) or "",
                    digest=_text(line.get("digest")),
                    total=_integer(line.get("total")),
                    completed=_integer(line.get("completed")),
                )
                succeeded = progress.status == "success"
                yield progress
        if not succeeded:
            raise PullFailed(model, "the download ended before it finished")

    async def list_models(self) -> list[ModelSummary]:
        """The installed models, in the server's order (newest first)."""
        data = await self._request("GET", "/api/tags")
        return [summary for item in _models(data) if (summary := _summary(item)) is not None]

    async def ps(self) -> list[RunningModel]:
        """The models loaded in memory, the one with the longest time left first."""
        data = await self._request("GET", "/api/ps")
        return [running for item in _models(data) if (running := _running(item)) is not None]

    async def unload(self, model: str) -> None:
        """Free the memory `model` holds now, rather than when its keep_alive runs out."""
        body: dict[str, object] = {"model": model, "messages": [], "keep_alive": 0}
        await self._request("POST", "/api/chat", body=body, model=model)

    async def delete(self, model: str) -> None:
        """Remove an installed model from the server's disk; ModelNotFound if it has none."""
        await self._send("DELETE", "/api/delete", body={"model": model}, model=model)

    async def show(self, model: str) -> ModelDetails:
        """Details of one model; ModelNotFound when the server does not have it."""
        data = await self._request("POST", "/api/show", body={"model": model}, model=model)
        details = _mapping(data.get("details"))
        return ModelDetails(
            name=sanitize(model),
            family=_text(details.get("family")),
            parameter_size=_text(details.get("parameter_size")),
            quantization=_text(details.get("quantization_level")),
            context_length=_context_length(data.get("model_info")),
            capabilities=_capabilities(data.get("capabilities")),
            parameters=_text(data.get("parameters")) or "",
            template=_text(data.get("template")) or "",
            license=_text(data.get("license")) or "",
            system=_text(data.get("system")) or "",
        )

    async def version(self) -> str:
        """The server's version string, e.g. "0.32.15"."""
        data = await self._request("GET", "/api/version")
        version = _text(data.get("version"))
        if version is None:
            raise StreamBroken.malformed(json.dumps(data))
        return version

    async def _request(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, object] | None = None,
        model: str | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> dict[str, Any]:
        """One non-streaming call whose answer must be a JSON object."""
        response = await self._send(method, path, body=body, model=model, timeout=timeout)
        return _json_object(response.content)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, object] | None = None,
        model: str | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> httpx.Response:
        """One non-streaming call; a failure or a non-2xx answer raises the matching error.

        `model` names the model the call is about, so a 404 becomes ModelNotFound.
        """
        try:
            response = await self._http.request(
                method, path, json=body, timeout=timeout or self._request_timeout
            )
        except httpx.TransportError as exc:
            raise self._transport_error(exc, streaming=False) from exc
        if not response.is_success:
            raise self._status_error(response, model=model)
        return response

    async def _stream_objects(
        self,
        path: str,
        body: dict[str, object],
        *,
        model: str | None,
        on_error: Callable[[str], OllamaError],
    ) -> AsyncIterator[dict[str, Any]]:
        """POST `body` and yield each NDJSON line of the answer as a JSON object.

        A line carrying `error` (the server's way to fail after it has started) raises
        `on_error(text)`; statuses and network failures map as for any request.
        """
        try:
            async with self._http.stream("POST", path, json=body) as response:
                if not response.is_success:
                    await response.aread()
                    raise self._status_error(response, model=model)
                async with aclosing(self._lines(response)) as lines:
                    async for line in lines:
                        value = _json_object(line)
                        if "error" in value:
                            raise on_error(str(value["error"]))
                        yield value
        except httpx.TransportError as exc:
            raise self._transport_error(exc, streaming=True) from exc

    async def _lines(self, response: httpx.Response) -> AsyncIterator[bytes]:
        """Yield the non-blank lines of an NDJSON body, each without its newline.

        Splits on b"\\n" only: httpx's aiter_lines also splits on every str.splitlines()
        boundary, such as U+0085, which Go writes raw inside JSON strings (and U+2028, which
        other encoders do). Lines have no length limit, and a UTF-8 sequence split across
        chunks is whole again once its line is complete.
        """
        pending: list[bytes] = []
        async with aclosing(self._chunks(response)) as chunks:
            async for chunk in chunks:
                if b"\n" not in chunk:
                    pending.append(chunk)
                    continue
                if pending:
                    pending.append(chunk)
                    chunk = b"".join(pending)
                    pending.clear()
                *lines, rest = chunk.split(b"\n")
                if rest:
                    pending.append(rest)
                for line in lines:
                    if line.strip():
                        yield line
        rest = b"".join(pending)
        if rest.strip():
            yield rest

    async def _chunks(self, response: httpx.Response) -> AsyncIterator[bytes]:
        """The body's chunks; once one has brought data, waiting `stall_timeout` for the next
        raises Stalled (there is no limit before: loading a model can take a minute)."""
        timer: _StallTimer | None = None
        async with aclosing(response.aiter_bytes()) as chunks:
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
                            raise Stalled(self.stall_timeout) from None
                        raise
                    if timer is not None:
                        timer.stop()
                    elif chunk:
                        timer = _StallTimer(self.stall_timeout)
                    yield chunk
            finally:
                if timer is not None:
                    timer.close()

    def _status_error(self, response: httpx.Response, *, model: str | None) -> OllamaError:
        """Map a non-2xx answer to the matching error, with the server's text."""
        status = response.status_code
        detail, from_json = _error_detail(response)
        if status == 404 and model is not None and from_json and "not found" in detail:
            return ModelNotFound(model, self.base_url)
        if status == 503:
            return ServerBusy(detail)
        if status >= 500:
            return ServerError(status, detail)
        return RequestRejected(status, detail)

    def _transport_error(self, exc: httpx.TransportError, *, streaming: bool) -> OllamaError:
        """Map an httpx network failure to the matching error."""
        if isinstance(exc, httpx.ReadTimeout):
            return Stalled(self.stall_timeout, streaming=streaming)
        if isinstance(
            exc,
            httpx.ConnectError
            | httpx.TimeoutException
            | httpx.ProxyError
            | httpx.UnsupportedProtocol,
        ):
            return Unreachable(self.base_url, _connect_failure(exc))
        return StreamBroken.dropped()


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


def _tls_verify(verify: bool | str) -> bool | ssl.SSLContext:
    """httpx wants an SSLContext for a CA bundle path (a str is deprecated)."""
    if isinstance(verify, bool):
        return verify
    try:
        if os.path.isdir(verify):
            return ssl.create_default_context(capath=verify)
        return ssl.create_default_context(cafile=verify)
    except (OSError, ssl.SSLError) as exc:
        raise OllamaError(
            f"cannot load TLS certificates from {verify} ({exc}); check the certificate path"
        ) from exc


def _connect_failure(exc: httpx.TransportError) -> str:
    """A few words on why the connection failed, from the OS error under httpx's."""
    if isinstance(exc, httpx.ConnectTimeout):
        return "connection timed out"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out sending the request"
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "host not found"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return "TLS certificate not trusted"
        cause = cause.__cause__ or cause.__context__
    return str(exc) or type(exc).__name__


def _error_detail(response: httpx.Response) -> tuple[str, bool]:
    """The server's error text, and whether it came from a JSON `error` field."""
    body = response.content
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict) and "error" in data:
        return str(data["error"]), True
    text = body.decode("utf-8", errors="replace").strip()
    return text or response.reason_phrase or "no details", False


_DECODER = json.JSONDecoder()


def _json_object(raw: bytes) -> dict[str, Any]:
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


def _chat_done(reply: dict[str, Any]) -> ChatDone:
    return ChatDone(done_reason=_text(reply.get("done_reason")), stats=ReplyStats.from_dict(reply))


def _models(data: dict[str, Any]) -> list[object]:
    """The `models` list of a /api/tags or /api/ps answer (null means none)."""
    models = data.get("models") or []
    if not isinstance(models, list):
        raise StreamBroken.malformed(f"models: {models!r}")
    return models


def _summary(item: object) -> ModelSummary | None:
    entry = _mapping(item)
    name = _text(entry.get("name")) or _text(entry.get("model"))
    if name is None:
        return None
    details = _mapping(entry.get("details"))
    return ModelSummary(
        name=name,
        size=_integer(entry.get("size")),
        parameter_size=_text(details.get("parameter_size")),
        quantization=_text(details.get("quantization_level")),
        family=_text(details.get("family")),
        modified_at=_text(entry.get("modified_at")),
        context_length=_integer(details.get("context_length")),
        capabilities=_capabilities(entry.get("capabilities")),
    )


def _running(item: object) -> RunningModel | None:
    entry = _mapping(item)
    name = _text(entry.get("name")) or _text(entry.get("model"))
    if name is None:
        return None
    return RunningModel(
        name=name,
        size=_integer(entry.get("size")),
        size_vram=_integer(entry.get("size_vram")),
        expires_at=_text(entry.get("expires_at")),
        context_length=_integer(entry.get("context_length")),
    )


def _context_length(model_info: object) -> int | None:
    """`<general.architecture>.context_length`, else any `*.context_length` key."""
    info = _mapping(model_info)
    architecture = info.get("general.architecture")
    if isinstance(architecture, str):
        length = _integer(info.get(f"{architecture}.context_length"))
        if length is not None:
            return length
    for key, value in info.items():
        if key.endswith(".context_length") and (length := _integer(value)) is not None:
            return length
    return None


def _capabilities(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(text for item in value if (text := _text(item)))


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    """A server string made safe for the terminal; None when absent or empty."""
    if not isinstance(value, str):
        return None
    return sanitize(value) or None


def _integer(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
