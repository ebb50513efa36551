"""OllamaClient: the app's one way to talk to an Ollama server, over a pooled httpx client."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import ssl
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import aclosing, asynccontextmanager
from types import TracebackType
from typing import Any, Self

import httpx

from ollama_tui.ollama.answers import (
    chat_done,
    chat_reply,
    model_details,
    model_summaries,
    pull_progress,
    running_models,
    text,
)
from ollama_tui.ollama.chat_wire import chat_body, parse_tool_calls
from ollama_tui.ollama.embeddings import embedding_vectors
from ollama_tui.ollama.errors import (
    ModelNotFound,
    NotAnEmbeddingModel,
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
    RunningModel,
    ThinkingDelta,
    ToolCalls,
)
from ollama_tui.ollama.ndjson import json_object, read_objects


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
        # Once a reply has started, `stall_timeout` bounds each wait instead (`read_objects`).
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
            event_hooks={"request": [_log_request], "response": [_log_response]},
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
        async with self._ndjson("/api/chat", body, model=model) as replies:
            async for reply in replies:
                if "error" in reply:  # the server failed after it had started
                    raise StreamError(str(reply["error"]))
                # Thinking before content, as the server produces them; empty pieces are skipped.
                message = reply.get("message")
                if isinstance(message, dict):
                    if (thinking := message.get("thinking")) and (thinking := text(thinking)):
                        yield ThinkingDelta(thinking)
                    if (content := message.get("content")) and (content := text(content)):
                        yield ContentDelta(content)
                    if (calls := message.get("tool_calls")) and (calls := parse_tool_calls(calls)):
                        yield ToolCalls(calls)
                if reply.get("done") is True:
                    done = chat_done(reply)
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
        return chat_reply(reply)

    async def pull(self, model: str) -> AsyncIterator[PullProgress]:
        """Download a model, yielding the server's progress lines up to the "success" one.

        A failure the server reports mid-way raises PullFailed. Cancelling the consumer (or
        closing this generator) closes the connection, which stops the download.
        """
        succeeded = False
        async with self._ndjson("/api/pull", {"model": model, "stream": True}, model=None) as lines:
            async for line in lines:
                if "error" in line:
                    raise PullFailed(model, str(line["error"]))
                progress = pull_progress(line)
                succeeded = progress.status == "success"
                yield progress
        if not succeeded:
            raise PullFailed(model, "the download ended before it finished")

    async def list_models(self) -> list[ModelSummary]:
        """The installed models, in the server's order (newest first).

        Read in a thread: a server with 100,000 models sends 40 MB, whose decoding would
        otherwise hold the event loop for seconds (the UI would not answer meanwhile)."""
        response = await self._send("GET", "/api/tags")
        return await asyncio.to_thread(lambda: model_summaries(json_object(response.content)))

    async def ps(self) -> list[RunningModel]:
        """The models loaded in memory, the one with the longest time left first."""
        data = await self._request("GET", "/api/ps")
        return running_models(data)

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
        return model_details(model, data)

    async def embed(self, model: str, texts: Sequence[str]) -> list[list[float]]:
        """One L2-normalised vector per text, in order, from one request (a batch)."""
        body: dict[str, object] = {"model": model, "input": list(texts)}
        data = await self._request("POST", "/api/embed", body=body, model=model)
        return embedding_vectors(data, len(texts))

    async def version(self) -> str:
        """The server's version string, e.g. "0.32.15"."""
        data = await self._request("GET", "/api/version")
        version = text(data.get("version"))
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
        return json_object(response.content)

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

    @asynccontextmanager
    async def _ndjson(
        self, path: str, body: dict[str, object], *, model: str | None
    ) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        """POST `body`; inside the block, the NDJSON lines of the answer as JSON objects.

        Statuses and network failures map as for any request. A line carrying `error` (the
        server's way to fail after it has started) is the reader's to raise. The lines are
        read in the block rather than yielded from here: a generator less between the socket
        and a reply's tokens.
        """
        try:
            async with self._http.stream("POST", path, json=body) as response:
                if not response.is_success:
                    await response.aread()
                    raise self._status_error(response, model=model)
                # Raw bytes unless the body is encoded: a layer less for every token.
                encoded = response.headers.get("content-encoding", "identity") != "identity"
                body_chunks = response.aiter_bytes() if encoded else response.aiter_raw()
                async with aclosing(read_objects(body_chunks, self.stall_timeout)) as objects:
                    yield objects
        except httpx.TransportError as exc:
            raise self._transport_error(exc, streaming=True) from exc

    def _status_error(self, response: httpx.Response, *, model: str | None) -> OllamaError:
        """Map a non-2xx answer to the matching error, with the server's text."""
        status = response.status_code
        detail, from_json = _error_detail(response)
        if status == 404 and model is not None and from_json and "not found" in detail:
            return ModelNotFound(model, self.base_url)
        if status == 501 and model is not None and "support embeddings" in detail:
            return NotAnEmbeddingModel(model)
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


_log = logging.getLogger(__name__)
_bodies = logging.getLogger("ollama_tui.ollama.bodies")


async def _log_request(request: httpx.Request) -> None:
    """Note when a request left; its body only where the user asked for bodies in the log."""
    request.extensions["ollama_tui.sent"] = time.monotonic()
    if _bodies.isEnabledFor(logging.DEBUG) and request.content:
        _bodies.debug("%s %s body: %s", request.method, request.url.path, request.content[:4096])


async def _log_response(response: httpx.Response) -> None:
    """Method, path, status and time to the headers; never headers, keys or message text."""
    if _log.isEnabledFor(logging.DEBUG):
        sent = response.request.extensions.get("ollama_tui.sent")
        took = f" in {(time.monotonic() - sent) * 1000:.0f} ms" if sent is not None else ""
        request = response.request
        _log.debug(
            "%s %s%s -> %d%s",
            request.method,
            request.url.host,
            request.url.path,
            response.status_code,
            took,
        )
