"""The fake Ollama server: lifecycle, scripting, HTTP routing and every endpoint."""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from email.utils import formatdate
from typing import Any

from tests.fake_ollama.catalogue import (
    DEFAULT_MODELS,
    MODEL_NAME,
    PULLABLE_MODELS,
    FakeModel,
    canonical_name,
    full_name,
    show_answer,
)
from tests.fake_ollama.chat_request import ChatRequest, check_images, check_options, parse_chat
from tests.fake_ollama.embeddings import (
    EMBED_FAULTS,
    EmbedScript,
    check_embedding_model,
    embed_answer,
    parse_embed,
)
from tests.fake_ollama.replies import (
    ERROR_TEXTS,
    FAULTS,
    HUGE_DELTA,
    STALL_SECONDS,
    Plan,
    Script,
    plan_reply,
)
from tests.fake_ollama.wire import (
    JSON_BARE,
    JSON_UTF8,
    NDJSON,
    TEXT_BARE,
    TEXT_UTF8,
    ApiError,
    BadRequest,
    ClientGone,
    Connection,
    LineWriter,
    Request,
    decode_body,
    go_json,
    go_time,
    phrase,
    stop_watching,
    typed,
)

DEFAULT_KEEP_ALIVE = 300.0
PULL_TICK = 0.06  # seconds between progress lines of a layer, as Ollama's download ticker
UNKNOWN_MANIFEST = "pull model manifest: file does not exist"

_ROUTES: dict[str, tuple[str, ...]] = {
    "/": ("GET", "HEAD"),
    "/api/version": ("GET", "HEAD"),
    "/api/tags": ("GET", "HEAD"),
    "/api/ps": ("GET",),
    "/api/show": ("POST",),
    "/api/chat": ("POST",),
    "/api/pull": ("POST",),
    "/api/delete": ("DELETE",),
    "/api/embed": ("POST",),
}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as received (header names lower-cased; json is None unless the body parsed)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any


class FakeOllama:
    """A fake Ollama on a loopback port, served from a background thread (see module docs)."""

    def __init__(
        self,
        *,
        models: Iterable[FakeModel] | None = None,
        token_delay: float = 0.005,
        load_delay: float = 0.0,
        version: str = "0.32.15",
        host: str = "127.0.0.1",
        port: int = 0,
        html_safe: bool = True,
        catalogue: Iterable[FakeModel] | None = None,
        pull_speed: float = 4e9,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.models = list(DEFAULT_MODELS if models is None else models)
        self.tls = tls  # serve https:// with this context, as Ollama behind a TLS proxy
        self.catalogue = list(PULLABLE_MODELS if catalogue is None else catalogue)
        self.pull_speed = pull_speed  # bytes a layer grows per second of a pull
        # When set, the server's clock for expires_at and a pulled model's modified_at.
        self.frozen_clock_ns: int | None = None
        # False writes < > & U+2028 U+2029 raw, as JSON encoders other than Go's (e.g. in a
        # proxy) may; a client must not split lines on U+2028.
        self.html_safe = html_safe
        # True sends streamed replies gzip-encoded (Content-Encoding), as a compressing proxy
        # in front of Ollama may; each line is flushed so it is readable as it arrives.
        self.gzip_streams = False
        self.token_delay = token_delay
        self.load_delay = load_delay
        self.version = version
        self.host = host
        self.port = port
        self.requests: list[RecordedRequest] = []
        self.streams_cancelled = 0
        self.embed_delay = 0.0  # seconds before each /api/embed answer
        self._embed_scripts: deque[EmbedScript | None] = deque()
        self.pulls_cancelled = 0
        self._changed = threading.Condition()
        self._scripts: deque[Script] = deque()
        self._holds: deque[tuple[int, threading.Event]] = deque()
        self._pull_holds: deque[tuple[int, threading.Event]] = deque()
        # name → (expiry ns, num_ctx, model); a deleted model stays loaded until it expires.
        self._loaded: dict[str, tuple[int, int, FakeModel]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    # -- lifecycle

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    def start(self) -> FakeOllama:
        """Listen (on `port`, or a free one) and serve from a background thread."""
        if self._loop is not None:
            raise RuntimeError("the fake Ollama server is already running")
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="fake-ollama", daemon=True)
        thread.start()
        try:
            self._server = asyncio.run_coroutine_threadsafe(self._listen(), loop).result(5)
        except BaseException:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()
            raise
        self._loop, self._thread = loop, thread
        return self

    def stop(self) -> None:
        """Close the listener and every open connection at once, as if the server died."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
        self._loop = self._thread = self._server = None

    def __enter__(self) -> FakeOllama:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def _listen(self) -> asyncio.Server:
        server = await asyncio.start_server(
            self._serve_connection, self.host, self.port, ssl=self.tls
        )
        self.port = server.sockets[0].getsockname()[1]
        return server

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._connections.values():
            writer.transport.abort()
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()

    # -- scripting and inspection (any thread)

    def queue_reply(
        self,
        text: str | None = None,
        *,
        thinking: str | None = None,
        fault: str | None = None,
        fault_after: int = 10,
        status: int | None = None,
        error: str | None = None,
        tool_calls: Sequence[tuple[str, dict[str, Any]]] | None = None,
    ) -> None:
        """Script the next /api/chat reply (FIFO); see the module docs for the fields."""
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; expected one of {sorted(FAULTS)}")
        calls = tuple(tool_calls) if tool_calls is not None else None
        with self._changed:
            self._scripts.append(Script(text, thinking, fault, fault_after, status, error, calls))

    def queue_embed(
        self, fault: str | None = None, *, status: int = 500, error: str | None = None
    ) -> None:
        """Script the next /api/embed answer (FIFO); None answers normally (see module docs)."""
        if fault is not None and fault not in EMBED_FAULTS:
            raise ValueError(f"unknown fault {fault!r}; expected one of {sorted(EMBED_FAULTS)}")
        with self._changed:
            self._embed_scripts.append(EmbedScript(fault, status, error) if fault else None)

    def embed_inputs(self) -> list[str]:
        """Every text sent to /api/embed so far, in order."""
        with self._changed:
            bodies = [r.json for r in self.requests if r.path == "/api/embed"]
        texts: list[str] = []
        for body in bodies:
            raw = body.get("input") if isinstance(body, dict) else None
            texts.extend([raw] if isinstance(raw, str) else raw or [])
        return texts

    def hold(self, n: int = 5) -> threading.Event:
        """Make the next reply pause after `n` tokens until the returned event is set."""
        release = threading.Event()
        with self._changed:
            self._holds.append((n, release))
        return release

    def hold_pull(self, n: int = 3) -> threading.Event:
        """Make the next pull pause after `n` lines until the returned event is set."""
        release = threading.Event()
        with self._changed:
            self._pull_holds.append((n, release))
        return release

    def chat_requests(self) -> list[dict[str, Any]]:
        """The parsed JSON bodies of every POST /api/chat so far."""
        with self._changed:
            return [
                r.json
                for r in self.requests
                if r.method == "POST" and r.path == "/api/chat" and isinstance(r.json, dict)
            ]

    def wait_until(
        self, predicate: Callable[[], bool], timeout: float = 5.0, what: str = "a condition"
    ) -> None:
        """Block until `predicate()` holds (re-checked on every server event) or time out."""
        with self._changed:
            if not self._changed.wait_for(predicate, timeout):
                raise TimeoutError(f"fake Ollama: timed out after {timeout} s waiting for {what}")

    def wait_for_requests(self, path: str, count: int, timeout: float = 5.0) -> None:
        """Block until at least `count` requests to `path` have arrived."""
        self.wait_until(
            lambda: sum(r.path == path for r in self.requests) >= count,
            timeout,
            f"{count} request(s) to {path}",
        )

    async def wait_until_async(
        self, predicate: Callable[[], bool], timeout: float = 5.0, what: str = "a condition"
    ) -> None:
        """wait_until without blocking the caller's event loop."""
        await asyncio.to_thread(self.wait_until, predicate, timeout, what)

    async def wait_for_requests_async(self, path: str, count: int, timeout: float = 5.0) -> None:
        """wait_for_requests without blocking the caller's event loop."""
        await asyncio.to_thread(self.wait_for_requests, path, count, timeout)

    def _encode(self, value: object) -> bytes:
        return go_json(value, html_safe=self.html_safe)

    def _record(self, request: Request) -> None:
        try:
            parsed = json.loads(request.body) if request.body else None
        except ValueError:
            parsed = None
        recorded = RecordedRequest(
            request.method, request.path, dict(request.headers), request.body, parsed
        )
        with self._changed:
            self.requests.append(recorded)
            self._changed.notify_all()

    def _note_cancelled(self) -> None:
        with self._changed:
            self.streams_cancelled += 1
            self._changed.notify_all()

    def _note_pull_cancelled(self) -> None:
        with self._changed:
            self.pulls_cancelled += 1
            self._changed.notify_all()

    def _now_ns(self) -> int:
        return time.time_ns() if self.frozen_clock_ns is None else self.frozen_clock_ns

    def _next_script(self) -> tuple[Script | None, tuple[int, threading.Event] | None]:
        with self._changed:
            script = self._scripts.popleft() if self._scripts else None
            hold = self._holds.popleft() if self._holds else None
        return script, hold

    # -- HTTP

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        conn = Connection(reader, writer)
        try:
            while True:
                try:
                    request = await conn.read_request()
                except BadRequest:
                    await conn.send(
                        b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
                        b"Connection: close\r\n\r\n400 Bad Request"
                    )
                    break
                if request is None:
                    break
                self._record(request)
                if not await self._dispatch(conn, request):
                    break
        except OSError:
            pass  # the client reset the connection
        except asyncio.CancelledError:
            pass  # stop(); ending quietly, as Python 3.11's start_server logs cancelled handlers
        finally:
            del self._connections[task]
            writer.close()

    async def _dispatch(self, conn: Connection, request: Request) -> bool:
        """Answer one request; return whether the connection stays open."""
        methods = _ROUTES.get(request.path)
        if methods is None:
            return await self._respond(conn, request, 404, b"404 page not found", TEXT_BARE)
        if request.method not in methods:
            return await self._respond(
                conn,
                request,
                405,
                b"405 method not allowed",
                TEXT_BARE,
                extra=[("Allow", ", ".join(methods))],
            )
        if request.path == "/":
            return await self._respond(conn, request, 200, b"Ollama is running", TEXT_UTF8)
        if request.path == "/api/version":
            return await self._respond_json(conn, request, {"version": self.version})
        if request.path == "/api/tags":
            return await self._respond_json(conn, request, self._tags())
        if request.path == "/api/ps":
            return await self._respond_json(conn, request, self._ps())
        try:
            if request.path == "/api/show":
                return await self._respond_json(conn, request, self._show(request.body))
            if request.path == "/api/delete":
                self._delete(request.body)
                return await self._respond(conn, request, 200, b"", None)
            if request.path == "/api/pull":
                return await self._pull(conn, request)
            if request.path == "/api/embed":
                return await self._embed(conn, request)
            return await self._chat(conn, request)
        except ApiError as exc:
            return await self._respond_error(conn, request, exc)

    async def _respond(
        self,
        conn: Connection,
        request: Request,
        status: int,
        body: bytes,
        content_type: str | None,
        *,
        extra: Sequence[tuple[str, str]] = (),
    ) -> bool:
        headers = [*extra, ("Content-Length", str(len(body)))]
        if content_type is not None:
            headers.insert(len(extra), ("Content-Type", content_type))
        payload = b"" if request.method == "HEAD" else body
        await conn.send(self._head(request, status, headers) + payload)
        return not request.wants_close

    async def _respond_json(self, conn: Connection, request: Request, value: object) -> bool:
        return await self._respond(conn, request, 200, self._encode(value), JSON_UTF8)

    async def _respond_error(self, conn: Connection, request: Request, exc: ApiError) -> bool:
        body = self._encode({"error": exc.message})
        return await self._respond(conn, request, exc.status, body, exc.content_type)

    @staticmethod
    def _head(request: Request, status: int, headers: Sequence[tuple[str, str]]) -> bytes:
        lines = [f"HTTP/1.1 {status} {phrase(status)}", f"Date: {formatdate(usegmt=True)}"]
        lines += [f"{name}: {value}" for name, value in headers]
        if request.wants_close:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    # -- models

    def _find(self, name: str, models: Iterable[FakeModel] | None = None) -> FakeModel | None:
        """The installed model (or the one in `models`) of that name."""
        wanted = full_name(name).lower()
        choices = self.models if models is None else models
        return next((m for m in choices if full_name(m.name).lower() == wanted), None)

    def _resolve(self, name: str) -> FakeModel:
        """Checks 2 and 3 of /api/chat: name present and valid, model installed."""
        if not name.strip():
            raise ApiError(400, "model is required")
        if not MODEL_NAME.fullmatch(name):
            raise ApiError(400, "invalid model name")
        model = self._find(name)
        if model is None:
            raise ApiError(404, f"model '{name}' not found")
        return model

    def _tags(self) -> dict[str, object]:
        return {
            "models": [
                {
                    "name": m.name,
                    "model": m.name,
                    "modified_at": m.modified_at,
                    "size": m.size,
                    "digest": m.digest,
                    "details": m.details(with_lengths=True),
                    "capabilities": list(m.capabilities),
                }
                for m in self.models
            ]
        }

    def _ps(self) -> dict[str, object]:
        """Models loaded by a chat and not yet expired, longest time left first."""
        now = self._now_ns()
        loaded = [entry for entry in self._loaded.values() if entry[0] > now]
        loaded.sort(key=lambda entry: entry[0], reverse=True)
        return {
            "models": [
                {
                    "name": m.name,
                    "model": m.name,
                    "size": m.size,
                    "digest": m.digest,
                    "details": m.details(with_lengths=False),
                    "expires_at": go_time(expiry, utc=False),
                    "size_vram": m.size,
                    "context_length": num_ctx,
                }
                for expiry, num_ctx, m in loaded
            ]
        }

    def _mark_loaded(self, model: FakeModel, chat: ChatRequest) -> None:
        keep_alive = DEFAULT_KEEP_ALIVE if chat.keep_alive is None else chat.keep_alive
        if keep_alive < 0:
            keep_alive = 292 * 365 * 86400.0  # "forever", as Go's max duration
        num_ctx = chat.options.get("num_ctx")
        self._loaded[model.name] = (
            self._now_ns() + int(keep_alive * 1e9),
            int(num_ctx) if isinstance(num_ctx, int | float) else 4096,
            model,
        )

    def _show(self, body: bytes) -> dict[str, object]:
        data = decode_body(body, "ShowRequest")
        name = data.get("model") or data.get("name") or ""
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, "model is required")
        if not MODEL_NAME.fullmatch(name):
            raise ApiError(400, "invalid model name")
        model = self._find(name)
        if model is None:
            raise ApiError(404, f"model '{canonical_name(name)}' not found")
        return show_answer(model)

    # -- /api/delete and /api/pull

    def _delete(self, body: bytes) -> None:
        data = decode_body(body, "DeleteRequest")
        name = data.get("model") or data.get("name") or ""
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, "model is required")
        if not MODEL_NAME.fullmatch(name):
            raise ApiError(400, f'name "{name}" is invalid')
        model = self._find(name)
        if model is None:
            raise ApiError(404, f"model '{name}' not found")
        with self._changed:
            self.models.remove(model)
            self._changed.notify_all()

    async def _pull(self, conn: Connection, request: Request) -> bool:
        """Progress as NDJSON (with `stream: false`, one answer at the end), as Ollama sends it."""
        data = decode_body(request.body, "PullRequest")
        name = data.get("model") or data.get("name") or ""
        if not isinstance(name, str) or not MODEL_NAME.fullmatch(name):
            raise ApiError(400, "invalid model name")
        stream = typed(data, "stream", bool, "bool", "PullRequest") is not False
        with self._changed:
            hold = self._pull_holds.popleft() if self._pull_holds else None
        gone = asyncio.create_task(conn.watch_for_close())
        out = LineWriter(conn, split=False)
        sent = 0

        async def emit(progress: dict[str, object]) -> None:
            nonlocal sent
            if stream:
                await out.line(self._encode(progress))
            sent += 1
            if hold is not None and sent == hold[0]:
                await self._wait_for_release(hold[1], gone)

        try:
            if stream:
                headers = [("Content-Type", NDJSON), ("Transfer-Encoding", "chunked")]
                await conn.send(self._head(request, 200, headers))
            error = await self._download(name, emit, gone)
            if stream:
                if error is not None:
                    await out.line(self._encode({"error": error}))
                await conn.send(b"0\r\n\r\n")
                return not request.wants_close
            if error is not None:
                return await self._respond_error(conn, request, ApiError(500, error, JSON_BARE))
            return await self._respond(
                conn, request, 200, self._encode({"status": "success"}), JSON_BARE
            )
        except (ClientGone, ConnectionError):
            self._note_pull_cancelled()
            return False
        finally:
            await stop_watching(gone)

    async def _download(
        self,
        name: str,
        emit: Callable[[dict[str, object]], Awaitable[None]],
        gone: asyncio.Task[None],
    ) -> str | None:
        """Fetch `name` from the catalogue layer by layer and install it; the error, if any."""
        await emit({"status": "pulling manifest"})
        await self._pause(PULL_TICK, gone)
        model = self._find(name, self.catalogue) or self._find(name)
        if model is None:
            return UNKNOWN_MANIFEST
        present = self._find(name) is not None
        for digest, total in model.layers:
            line: dict[str, object] = {
                "status": f"pulling {digest[:12]}",
                "digest": f"sha256:{digest}",
            }
            if present:  # blobs already on disk report complete at once
                await emit({**line, "total": total, "completed": total})
                continue
            await emit({**line, "total": total})
            completed = 0
            while completed < total:
                await self._pause(PULL_TICK, gone)
                completed = min(total, completed + max(1, int(self.pull_speed * PULL_TICK)))
                await emit({**line, "total": total, "completed": completed})
        for status in ("verifying sha256 digest", "writing manifest"):
            await emit({"status": status})
        pulled = replace(model, modified_at=go_time(self._now_ns(), utc=False))
        with self._changed:  # a new manifest: listed first, as the newest
            self.models[:] = [pulled, *(m for m in self.models if m.name != model.name)]
            self._changed.notify_all()
        await emit({"status": "success"})
        return None

    # -- /api/embed

    async def _embed(self, conn: Connection, request: Request) -> bool:
        """Vectors for each input, after Ollama's checks, or the scripted fault."""
        embed = parse_embed(request.body)
        if not embed.model.strip():
            raise ApiError(404, "model '' not found")
        model = self._find(embed.model)
        if model is None:
            raise ApiError(404, f'model "{embed.model}" not found, try pulling it first')
        check_embedding_model(model)
        with self._changed:
            script = self._embed_scripts.popleft() if self._embed_scripts else None
        gone = asyncio.create_task(conn.watch_for_close())
        try:
            await self._pause(self.embed_delay, gone)
            fault = script.fault if script is not None else None
            if script is not None and fault == "error":
                text = script.error or ERROR_TEXTS.get(script.status, phrase(script.status))
                return await self._respond_error(conn, request, ApiError(script.status, text))
            if fault == "slow":
                await self._pause(STALL_SECONDS, gone)
            if fault == "drop":
                conn.close()
                return False
            answer = embed_answer(embed, model, wrong_dimensions=fault == "dims")
            return await self._respond_json(conn, request, answer)
        except (ClientGone, ConnectionError):
            self._note_cancelled()
            return False
        finally:
            await stop_watching(gone)

    # -- /api/chat

    async def _chat(self, conn: Connection, request: Request) -> bool:
        """The checks Ollama's chat handler makes, in its order, then a load answer or a reply."""
        started = time.monotonic_ns()
        chat = parse_chat(request.body)
        model = self._resolve(chat.model)
        if not chat.messages and chat.keep_alive == 0:
            self._loaded.pop(model.name, None)
            return await self._respond_json(conn, request, self._load_answer(chat, "unload"))
        if chat.thinking_requested and "thinking" not in model.capabilities:
            raise ApiError(400, f'"{chat.model}" does not support thinking')
        if "completion" not in model.capabilities:
            raise ApiError(400, f'"{chat.model}" does not support chat')
        if chat.tools and "tools" not in model.capabilities:
            raise ApiError(400, f"{full_name(model.name)} does not support tools")
        check_options(chat.options)
        if chat.format not in (None, "", "json") and not isinstance(chat.format, dict):
            raw = json.dumps(chat.format, ensure_ascii=False, separators=(",", ":"))
            raise ApiError(
                500,
                f'invalid format: {json.dumps(raw)}; expected "json" or a valid JSON Schema object',
                JSON_BARE if chat.stream else JSON_UTF8,
            )
        if chat.think is None and "thinking" in model.capabilities:
            chat.think = True
        if chat.messages:
            check_images(chat, model.capabilities)
        if not chat.messages:
            await asyncio.sleep(self.load_delay)
            self._mark_loaded(model, chat)
            return await self._respond_json(conn, request, self._load_answer(chat, "load"))
        script, hold = self._next_script()
        if script is not None and script.status is not None:
            streaming_500 = chat.stream and script.status == 500
            raise ApiError(
                script.status,
                script.error or ERROR_TEXTS.get(script.status, phrase(script.status).lower()),
                JSON_BARE if streaming_500 else JSON_UTF8,
            )
        plan = self._plan(chat, script, hold)
        self._mark_loaded(model, chat)
        if chat.stream:
            return await self._stream(conn, request, chat, plan, started)
        return await self._answer(conn, request, chat, plan, started)

    def _plan(
        self, chat: ChatRequest, script: Script | None, hold: tuple[int, threading.Event] | None
    ) -> Plan:
        """How one reply will be produced; a subclass may script replies its own way."""
        return plan_reply(chat, script, hold)

    @staticmethod
    def _load_answer(chat: ChatRequest, reason: str) -> dict[str, object]:
        return {
            "model": chat.model,
            "created_at": go_time(),
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": reason,
        }

    def _metrics(self, plan: Plan, started_ns: int) -> dict[str, int]:
        """Done-line metrics consistent with the delays; zero ones are omitted, as in Go."""
        load = int((self.load_delay + plan.extra_delay) * 1e9) + 1_500_000
        prompt = plan.prompt_eval_count * 250_000
        evaluation = int(len(plan.pieces) * max(self.token_delay, 0.001) * 1e9)
        metrics = {
            "total_duration": max(time.monotonic_ns() - started_ns, load + prompt + evaluation),
            "load_duration": load,
            "prompt_eval_count": plan.prompt_eval_count,
            "prompt_eval_duration": prompt,
            "eval_count": len(plan.pieces),
            "eval_duration": evaluation,
        }
        return {key: value for key, value in metrics.items() if value}

    @staticmethod
    def _message(
        pieces: Sequence[tuple[str, str]], tool_calls: Sequence[dict[str, Any]] = ()
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(text for kind, text in pieces if kind == "content"),
        }
        if thinking := "".join(text for kind, text in pieces if kind == "thinking"):
            message["thinking"] = thinking
        if tool_calls:
            message["tool_calls"] = list(tool_calls)
        return message

    def _line(
        self,
        model: str,
        pieces: Sequence[tuple[str, str]],
        tool_calls: Sequence[dict[str, Any]] = (),
    ) -> bytes:
        message = self._message(pieces, tool_calls)
        return self._encode(
            {"model": model, "created_at": go_time(), "message": message, "done": False}
        )

    def _done(
        self,
        chat: ChatRequest,
        plan: Plan,
        final: Sequence[tuple[str, str]],
        started: int,
        tool_calls: Sequence[dict[str, Any]] = (),
    ) -> dict[str, object]:
        return {
            "model": chat.model,
            "created_at": go_time(),
            "message": self._message(final, tool_calls),
            "done": True,
            "done_reason": plan.done_reason,
            **self._metrics(plan, started),
        }

    @staticmethod
    async def _pause(seconds: float, gone: asyncio.Task[None]) -> None:
        """Sleep, but raise ClientGone as soon as the client hangs up."""
        if seconds > 0:
            await asyncio.wait({gone}, timeout=seconds)
        if gone.done():
            raise ClientGone

    async def _wait_for_release(self, release: threading.Event, gone: asyncio.Task[None]) -> None:
        while not release.is_set():
            await self._pause(0.01, gone)

    async def _stream(
        self, conn: Connection, request: Request, chat: ChatRequest, plan: Plan, started: int
    ) -> bool:
        gone = asyncio.create_task(conn.watch_for_close())
        out = LineWriter(conn, split=plan.fault == "split_utf8", gzip=self.gzip_streams)

        async def pause() -> None:
            await self._pause(self.token_delay, gone)

        try:
            await self._pause(self.load_delay + plan.extra_delay, gone)
            headers = [("Content-Type", NDJSON), ("Transfer-Encoding", "chunked")]
            if self.gzip_streams:
                headers.append(("Content-Encoding", "gzip"))
            await conn.send(self._head(request, 200, headers))
            pieces = list(plan.pieces)
            final = [pieces.pop()] if plan.fault == "text_in_done" and pieces else []
            fault_at = min(plan.fault_after, len(pieces))
            for index in range(len(pieces) + 1):
                if plan.hold is not None and index == min(plan.hold[0], len(pieces)):
                    await self._wait_for_release(plan.hold[1], gone)
                if index == fault_at:
                    if plan.fault == "drop":
                        await out.flush(pause)
                        conn.close()
                        return False
                    if plan.fault in ("error", "nodone"):
                        if plan.fault == "error":
                            await out.line(self._encode({"error": plan.error}))
                        await out.end(pause)
                        return not request.wants_close
                    if plan.fault == "stall":
                        await self._pause(STALL_SECONDS, gone)
                    elif plan.fault == "malformed":
                        await out.line(b"this line is not JSON")
                    elif plan.fault == "huge_line":
                        await out.line(self._line(chat.model, [("content", HUGE_DELTA)]))
                if index == len(pieces):
                    break
                await pause()
                await out.line(self._line(chat.model, pieces[index : index + 1]))
            if plan.tool_calls:  # whole, on a line of their own with empty content
                await pause()
                await out.line(self._line(chat.model, [], plan.tool_calls))
            await out.line(self._encode(self._done(chat, plan, final, started)))
            await out.end(pause)
            return not request.wants_close
        except (ClientGone, ConnectionError):
            self._note_cancelled()
            return False
        finally:
            await stop_watching(gone)

    async def _answer(
        self, conn: Connection, request: Request, chat: ChatRequest, plan: Plan, started: int
    ) -> bool:
        """The `stream: false` reply: one JSON object once generation would have finished."""
        gone = asyncio.create_task(conn.watch_for_close())
        try:
            generation = len(plan.pieces) * self.token_delay
            await self._pause(self.load_delay + plan.extra_delay + generation, gone)
            if plan.hold is not None:
                await self._wait_for_release(plan.hold[1], gone)
            if plan.fault == "drop":
                conn.close()
                return False
            if plan.fault == "stall":
                await self._pause(STALL_SECONDS, gone)
            if plan.fault == "error":
                return await self._respond_error(conn, request, ApiError(500, plan.error))
            answer = self._done(chat, plan, plan.pieces, started, plan.tool_calls)
            return await self._respond_json(conn, request, answer)
        except (ClientGone, ConnectionError):
            self._note_cancelled()
            return False
        finally:
            await stop_watching(gone)


# --------------------------------------------------------------------------- command line
