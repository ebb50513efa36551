"""A faithful fake Ollama on a real loopback socket, for tests and for trying the app by hand.

It speaks hand-written HTTP/1.1 over `asyncio.start_server`, so framing and faults are exact, and
runs its own event loop in a background thread: tests (with their own loop, e.g. Textual's
`App.run_test`) and the app's httpx client reach it over TCP exactly as in production. Shapes,
status codes, error texts and content types follow Ollama's own server (server/routes.go,
api/types.go as of v0.33).

Command line (point the app at the printed URL; Ctrl+C stops it)::

    python tests/fake_ollama.py --port 11434 --token-delay 0.03
    options: --host 127.0.0.1, --port 11434, --token-delay 0.03 (s), --load-delay 0 (s),
             --pull-speed 50e6 (bytes/s)

Python API (tests/conftest.py has the fixtures `fake_ollama`, a started server, and
`unused_url`, a loopback URL where nothing listens)::

    FakeOllama(*, models=DEFAULT_MODELS, token_delay=0.005, load_delay=0.0, version="0.32.15",
               host="127.0.0.1", port=0, html_safe=True, catalogue=PULLABLE_MODELS,
               pull_speed=4e9)

    with FakeOllama() as server:                       # or FakeOllama().start() ... .stop()
        server.url, server.port                        # "http://127.0.0.1:54321", 54321
        server.token_delay = 0.05; server.load_delay = 1.0   # may be changed while running
        server.html_safe = False                       # raw < > & U+2028 U+2029 (non-Go encoder)
        server.queue_reply("Hi!", thinking="Hmm.")     # scripts the next reply (FIFO)
        server.queue_reply(fault="drop", fault_after=3)
        server.queue_reply(status=503)                 # HTTP error with Ollama's text
        release = server.hold(n=5)                     # next reply pauses after 5 tokens…
        release.set()                                  # …until this is set (or the server stops)
        server.requests                                # list[RecordedRequest], every request
        server.chat_requests()                         # JSON bodies of POST /api/chat
        server.wait_for_requests("/api/chat", 1)       # blocks the calling thread…
        await server.wait_for_requests_async("/api/chat", 1)   # …or not the event loop
        server.wait_until(lambda: server.streams_cancelled == 1)   # also wait_until_async
        server.streams_cancelled                       # replies the client hung up on
        server.pull_speed = 1e8                        # bytes/s a pulled layer grows by
        release = server.hold_pull(n=4)                # next pull pauses after 4 lines…
        server.pulls_cancelled                         # …pulls the client hung up on
        server.models                                  # installed now (pull adds, delete removes)
        server.frozen_clock_ns = 1_767_345_300 * 10**9  # fixed expires_at and pulled modified_at
        server.stop()                                  # closes every connection: the server "dies"
        server.start()                                 # comes back on the same port

The wait_* helpers re-check their condition whenever a request arrives, a reply or pull is
abandoned or the installed models change, and raise TimeoutError after `timeout` seconds
(default 5). Models are FakeModel values, listed by /api/tags in the order given (newest first,
as Ollama sorts them).

`queue_reply(text=None, *, thinking=None, fault=None, fault_after=10, status=None, error=None)`
scripts the next /api/chat request that would produce a reply (validation errors and load/unload
requests do not consume it). `text` replaces the whole answer; `thinking` is streamed first
unless the request says `think: false`. `status` answers with that HTTP error instead, its body
`{"error": error or Ollama's usual text}` (a 500 to a streaming request is `application/json`
without charset, as the real server's early stream errors are). `fault` is one of FAULTS,
applied after `fault_after` tokens:

* ``drop``         close the socket without the terminating chunk;
* ``error``        send `{"error": error or "an error was encountered…: unexpected EOF"}`, end;
* ``stall``        hold the stream for 10 minutes, or until the client leaves or the server stops;
* ``nodone``       end the stream cleanly without a done line;
* ``malformed``    send a line that is not JSON, then carry on;
* ``huge_line``    send one 1 MiB content delta (HUGE_DELTA), then carry on;
* ``split_utf8``   send the stream in odd-sized chunks that cut UTF-8 sequences and hold
                   several lines each (the default text is then mostly non-ASCII);
* ``text_in_done`` the last piece of text rides on the done line.

With `stream: false`, `drop`, `error` (a 500) and `stall` apply; the others are ignored.

Without a script the answer is deterministic Markdown naming the model as sent, the number of
messages received and the last user message; it is cut into ~4-character tokens, one NDJSON line
each, `token_delay` seconds apart, after `load_delay` seconds. Thinking models (qwen3:0.6b)
stream a thinking trace first unless `think` is false. Trigger words in the last user message
make the server misbehave on demand, so faults can be tried by hand:

* ``#code``      an answer with a python and a bash fenced code block;
* ``#long``      a ~2,000-token multi-paragraph answer;
* ``#markup``    Rich markup, OSC 52 / OSC 0 / clear-screen escapes, a bell and a bidi override;
* ``#slowload``  3 s before the first line;
* ``#drop`` ``#error`` ``#stall`` ``#nodone`` ``#malformed`` ``#huge_line`` ``#split_utf8``
  ``#text_in_done``  the fault of that name (after 10 tokens).

Models, as Ollama's /api/ps, /api/pull, /api/delete and load/unload answers have them:

* ``POST /api/pull`` fetches a model of `catalogue` (gemma3:1b, phi4-mini:latest and the default
  models): "pulling manifest", then per layer (FakeModel.layers: weights, template, license,
  params) "pulling <12 hex>" with its digest and total, then a line with `completed` every
  PULL_TICK (60 ms) as the layer grows by `pull_speed` bytes/s; then "verifying sha256 digest",
  "writing manifest" and "success", and the model is listed first by /api/tags. Layers of an
  installed model report complete at once. A name not in the catalogue gives "pulling
  manifest" then `{"error": UNKNOWN_MANIFEST}`; a malformed one `400 invalid model name`;
  `stream: false` one `{"status":"success"}` or a 500, both `application/json`.
* ``DELETE /api/delete`` answers 200 with an empty body (no content type), 404 `model 'NAME' not
  found`, 400 `model is required` or `name "NAME" is invalid`; any other method 405.
* ``GET /api/ps`` lists the models a chat loaded and whose keep_alive has not run out (a deleted
  model stays loaded until then), longest time left first; a chat with no messages and
  `keep_alive: 0` unloads at once (`done_reason: "unload"`).

Endpoints: `GET|HEAD /`, `GET|HEAD /api/version`, `GET|HEAD /api/tags`, `GET /api/ps`,
`POST /api/show`, `POST /api/chat`, `POST /api/pull`, `DELETE /api/delete`. Other paths answer
404 `404 page not found`; a known path with the wrong method 405 with `Allow`. Model names match
case-insensitively and `name` is `name:latest`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import ssl
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from email.utils import formatdate
from http import HTTPStatus
from typing import Any

JSON_UTF8 = "application/json; charset=utf-8"
JSON_BARE = "application/json"
NDJSON = "application/x-ndjson"
TEXT_UTF8 = "text/plain; charset=utf-8"
TEXT_BARE = "text/plain"

FAULTS = frozenset(
    {"drop", "error", "stall", "nodone", "malformed", "huge_line", "split_utf8", "text_in_done"}
)
CONTENT_TRIGGERS = ("#code", "#long", "#markup", "#slowload")
HUGE_DELTA = "0123456789abcdef" * 65536  # 1 MiB of content in a single line
MIDSTREAM_ERROR = "an error was encountered while running the model: unexpected EOF"
STALL_SECONDS = 600.0
SLOWLOAD_SECONDS = 3.0
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
}
_ERROR_TEXTS = {
    500: "model runner has unexpectedly stopped, this may be due to resource limitations or an "
    "internal error, check ollama server logs for details",
    503: "server busy, please try again.  maximum pending requests exceeded",
}
_INT_OPTIONS = frozenset(
    {
        "num_keep",
        "seed",
        "num_predict",
        "top_k",
        "repeat_last_n",
        "num_ctx",
        "num_batch",
        "num_gpu",
        "num_thread",
        "draft_num_predict",
        "main_gpu",
    }
)
_FLOAT_OPTIONS = frozenset(
    {
        "top_p",
        "min_p",
        "typical_p",
        "temperature",
        "repeat_penalty",
        "presence_penalty",
        "frequency_penalty",
    }
)
_THINK_LEVELS = ("high", "medium", "low", "max")
_SEGMENT = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"
_MODEL_NAME = re.compile(
    rf"(?:(?:[A-Za-z0-9][A-Za-z0-9_.-]*(?::\d+)?/)?{_SEGMENT}/)?"
    r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,79})?"
)
_GO_DURATION = re.compile(r"[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+")
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_TOKEN = re.compile(r"\s*\S{1,4}|\s+")
_HTML_UNSAFE = re.compile("[<>&\u2028\u2029]")


# --------------------------------------------------------------------------- models


@dataclass(frozen=True)
class FakeModel:
    """One installed model; list them newest first, the order /api/tags reports."""

    name: str
    family: str
    parameter_size: str
    quantization: str
    context_length: int
    capabilities: tuple[str, ...]
    size: int
    modified_at: str
    architecture: str = ""  # general.architecture; defaults to the family
    embedding_length: int = 2048
    parameters: tuple[tuple[str, object], ...] = ()
    template: str = "{{ .Prompt }}"
    license: str = ""
    system: str = ""

    @property
    def arch(self) -> str:
        return self.architecture or self.family

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.name.encode()).hexdigest()

    @property
    def layers(self) -> list[tuple[str, int]]:
        """(sha256 hex, bytes) of each blob a pull fetches: weights, template, license, params.

        The blobs add up to `size`, as the layers of a real manifest add up to the size
        /api/tags reports.
        """
        params = json.dumps(dict(self.parameters)) if self.parameters else ""
        small = [
            (hashlib.sha256(blob).hexdigest(), len(blob))
            for text in (self.template, self.license, params)
            if (blob := text.encode())
        ]
        weights = hashlib.sha256(f"{self.name} weights".encode()).hexdigest()
        return [(weights, self.size - sum(size for _, size in small)), *small]

    def details(self, *, with_lengths: bool) -> dict[str, object]:
        """The `details` object; /api/tags adds the context and embedding lengths."""
        details: dict[str, object] = {
            "parent_model": "",
            "format": "gguf",
            "family": self.family,
            "families": [self.family],
            "parameter_size": self.parameter_size,
            "quantization_level": self.quantization,
        }
        if with_lengths:
            details["context_length"] = self.context_length
            details["embedding_length"] = self.embedding_length
        return details


DEFAULT_MODELS: tuple[FakeModel, ...] = (
    FakeModel(
        name="llama3.2:latest",
        family="llama",
        parameter_size="3.2B",
        quantization="Q4_K_M",
        context_length=131072,
        capabilities=("completion", "tools"),
        size=2019393189,
        modified_at="2025-06-12T09:14:02.117294823-07:00",
        embedding_length=3072,
        parameters=(("stop", ("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>")),),
        template="<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}<|eot_id|>"
        "{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n"
        "{{ .Content }}<|eot_id|>{{ end }}<|start_header_id|>assistant<|end_header_id|>\n\n",
        license="LLAMA 3.2 COMMUNITY LICENSE AGREEMENT\nLlama 3.2 Version Release Date: "
        "September 25, 2024",
    ),
    FakeModel(
        name="qwen3:0.6b",
        family="qwen3",
        parameter_size="751.63M",
        quantization="Q4_K_M",
        context_length=40960,
        capabilities=("completion", "tools", "thinking"),
        size=522653767,
        modified_at="2025-05-04T17:37:44.706015396-07:00",
        embedding_length=1024,
        parameters=(
            ("repeat_penalty", 1.0),
            ("stop", ("<|im_start|>", "<|im_end|>")),
            ("temperature", 0.6),
            ("top_k", 20),
            ("top_p", 0.95),
        ),
        template="{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n"
        "{{ end }}<|im_start|>assistant\n",
        license="Apache License\nVersion 2.0, January 2004\nhttp://www.apache.org/licenses/",
    ),
    FakeModel(
        name="mistral:7b",
        family="llama",
        parameter_size="7.2B",
        quantization="Q4_0",
        context_length=32768,
        capabilities=("completion", "tools"),
        size=4113301824,
        modified_at="2025-03-21T11:02:37.51-07:00",
        embedding_length=4096,
        parameters=(("stop", ("[INST]", "[/INST]")),),
        template="[INST] {{ if .System }}{{ .System }} {{ end }}{{ .Prompt }} [/INST]",
        license="Apache License\nVersion 2.0, January 2004",
    ),
    FakeModel(
        name="nomic-embed-text:latest",
        family="nomic-bert",
        parameter_size="137M",
        quantization="F16",
        context_length=2048,
        capabilities=("embedding",),
        size=274302450,
        modified_at="2024-11-30T08:45:10.003-07:00",
        embedding_length=768,
        parameters=(("num_ctx", 8192),),
        license="Apache License\nVersion 2.0, January 2004",
    ),
)


PULLABLE_MODELS: tuple[FakeModel, ...] = (
    FakeModel(
        name="gemma3:1b",
        family="gemma3",
        parameter_size="999.89M",
        quantization="Q4_K_M",
        context_length=32768,
        capabilities=("completion",),
        size=815319791,
        modified_at="2025-04-01T10:00:00-07:00",
        embedding_length=1152,
        parameters=(("stop", ("<end_of_turn>",)), ("temperature", 1.0), ("top_k", 64)),
        template="{{- range .Messages }}<start_of_turn>{{ .Role }}\n{{ .Content }}<end_of_turn>\n"
        "{{ end }}<start_of_turn>model\n",
        license="Gemma Terms of Use\nLast modified: February 21, 2024",
    ),
    FakeModel(
        name="phi4-mini:latest",
        family="phi3",
        parameter_size="3.8B",
        quantization="Q4_K_M",
        context_length=131072,
        capabilities=("completion", "tools"),
        size=2491876774,
        modified_at="2025-04-01T10:00:00-07:00",
        embedding_length=3072,
        template="{{- range .Messages }}<|{{ .Role }}|>{{ .Content }}<|end|>{{ end }}<|assistant|>",
        license="Microsoft.\nCopyright (c) Microsoft Corporation.\n\nMIT License",
    ),
    *DEFAULT_MODELS,
)
"""What /api/pull can fetch: two models not installed by default, and every default one."""


# --------------------------------------------------------------------------- wire helpers


def go_json(value: object, *, html_safe: bool = True) -> bytes:
    """Encode like Go's json.Marshal: compact, HTML-safe, other non-ASCII as raw UTF-8."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if html_safe:
        text = _HTML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text.encode("utf-8", errors="replace")


def go_time(ns: int | None = None, *, utc: bool = True) -> str:
    """RFC 3339 with nanoseconds, trailing zeros trimmed; `Z` for UTC, else the local offset."""
    seconds, nanos = divmod(time.time_ns() if ns is None else ns, 1_000_000_000)
    moment = time.gmtime(seconds) if utc else time.localtime(seconds)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", moment)
    if fraction := f"{nanos:09d}".rstrip("0"):
        text += "." + fraction
    offset = moment.tm_gmtoff or 0
    if offset == 0:
        return text + "Z"
    hours, minutes = divmod(abs(offset) // 60, 60)
    return f"{text}{'+' if offset > 0 else '-'}{hours:02d}:{minutes:02d}"


def tokenize(text: str) -> list[str]:
    """Split into ~4-character pieces that keep their leading whitespace, like real tokens."""
    return _TOKEN.findall(text)


def canonical_name(name: str) -> str:
    """`name` with its tag, `:latest` when it has none."""
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def _full_name(name: str) -> str:
    """The fully qualified form, registry.ollama.ai/library/NAME:TAG."""
    parts = canonical_name(name).split("/")
    prefix = ["registry.ollama.ai", "library"][: max(0, 3 - len(parts))]
    return "/".join(prefix + parts)


def _go_type(value: object) -> str:
    """JSON type as Go's decoder names it in UnmarshalTypeError."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _go_literal(value: object) -> str:
    """Go's %#v for the values a Modelfile parameter can hold."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


async def _stop_watching(gone: asyncio.Task[None]) -> None:
    """Cancel a watch_for_close task and wait, so the next request can read the socket."""
    gone.cancel()
    await asyncio.wait({gone})


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


# --------------------------------------------------------------------------- canned text


_FILLER = (
    "This is a canned answer from the fake Ollama server. It arrives in small pieces, like real "
    "tokens, so you can watch the reply render while it streams."
)
_CODE = """Here is the same greeting in two languages.

```python
def greet(name: str) -> str:
    \"\"\"Return a friendly greeting.\"\"\"
    return f"Hello, {name}!"


print(greet("llama"))
```

And from the shell:

```bash
for name in llama alpaca; do
    echo "Hello, ${name}!"
done
```

Both print one greeting per name."""
_MARKUP = (
    "Markup that must show as plain text: [bold]x[/bold] [@click=app.quit]click[/] arr[/0]\n\n"
    "Escapes that must not reach the terminal: \x1b]52;c;aGk=\x07 (OSC 52 clipboard write), "
    "\x1b]0;pwned\x07 (OSC 0 title), \x1b[2J (clear screen), \x07 (bell) and "
    "\u202edesrever\u202c (bidi override)."
)
_UTF8 = (
    "Ünïcödé all the way: ñandú, Straße, Ελληνικά, русский текст, 日本語のテキスト, 한국어 문장, "
    "emoji 🦙🚀✨🧪 and a combining é. Ça marche très bien — 「終わり」。"
)
_LONG_SENTENCES = (
    "Streaming a long answer exercises the client's rendering, scrolling and memory use.",
    "Each paragraph repeats a few sentences, so the text is predictable but not trivial.",
    "A real model would wander off topic here; this one stays politely on script.",
    "Tokens arrive one line at a time, and the interface should keep up without stutter.",
    "Markdown such as **bold**, *italics* and `inline code` appears now and then.",
    "If you can read this smoothly, incremental rendering is doing its job.",
)


def _long_text() -> str:
    paragraphs = []
    for number in range(1, 16):
        start = number % len(_LONG_SENTENCES)
        sentences = _LONG_SENTENCES[start:] + _LONG_SENTENCES[:start]
        heading = f"## Section {number // 4 + 1}\n\n" if number % 4 == 1 else ""
        paragraphs.append(f"{heading}**Paragraph {number}.** " + " ".join(sentences))
    return "\n\n".join(paragraphs)


QUOTE_LIMIT = 400
"""Characters of the last user message the unscripted answer quotes back."""


def default_reply(model: str, messages: Sequence[dict[str, Any]], body: str = _FILLER) -> str:
    """The unscripted answer: says what arrived, so a test can check the whole history did."""
    users = [m for m in messages if m.get("role") == "user"]
    last = str(users[-1].get("content", "")) if users else ""
    if len(last) > QUOTE_LIMIT:  # like a model asked to be brief, it does not echo a transcript
        last = last[:QUOTE_LIMIT] + "…"
    quoted = "\n".join(f"> {line}" if line else ">" for line in last.splitlines()) or "> …"
    return (
        f"**model** `{model}` · **history** {_plural(len(messages), 'message')} "
        f"({len(users)} from you)\n\n"
        f"You said:\n\n{quoted}\n\n{body}"
    )


def _default_thinking(messages: Sequence[dict[str, Any]]) -> str:
    return (
        f"The user sent {_plural(len(messages), 'message')}. I should repeat the last one back, "
        "say how many arrived, and keep the answer short."
    )


# --------------------------------------------------------------------------- records & scripts


@dataclass(frozen=True)
class RecordedRequest:
    """One request as received (header names lower-cased; json is None unless the body parsed)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any


@dataclass(frozen=True)
class _Script:
    text: str | None
    thinking: str | None
    fault: str | None
    fault_after: int
    status: int | None
    error: str | None


@dataclass
class _Plan:
    """How one reply will be produced."""

    pieces: list[tuple[str, str]]  # ("thinking" | "content", text), in order
    done_reason: str
    fault: str | None
    fault_after: int
    error: str
    extra_delay: float
    hold: tuple[int, threading.Event] | None
    prompt_eval_count: int


class _ApiError(Exception):
    def __init__(self, status: int, message: str, content_type: str = JSON_UTF8) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.content_type = content_type


class _ClientGone(Exception):
    """The client closed the connection while a reply was in progress."""


class _BadRequest(Exception):
    """The bytes received are not an HTTP/1.1 request."""


@dataclass
class _Request:
    method: str
    path: str
    version: str
    headers: dict[str, str]
    body: bytes

    @property
    def wants_close(self) -> bool:
        connection = self.headers.get("connection", "").lower()
        return connection == "close" or (self.version == "HTTP/1.0" and connection != "keep-alive")


@dataclass
class _ChatRequest:
    model: str
    messages: list[dict[str, Any]]
    stream: bool
    options: dict[str, Any]
    think: bool | str | None
    keep_alive: float | None
    tools: list[Any]
    format: Any

    @property
    def thinking_requested(self) -> bool:
        return self.think is True or isinstance(self.think, str)


# --------------------------------------------------------------------------- connection


class _Connection:
    """One client socket: buffered request reading, and noticing when the client leaves."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.buffer = bytearray()

    async def _fill(self) -> bool:
        data = await self.reader.read(65536)
        self.buffer += data
        return bool(data)

    async def _read_until(self, marker: bytes, limit: int = 65536) -> bytes | None:
        while (end := self.buffer.find(marker)) < 0:
            if len(self.buffer) > limit:
                raise _BadRequest
            if not await self._fill():
                return None
        data = bytes(self.buffer[:end])
        del self.buffer[: end + len(marker)]
        return data

    async def _read_exact(self, size: int) -> bytes:
        while len(self.buffer) < size:
            if not await self._fill():
                raise _BadRequest
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    async def read_request(self) -> _Request | None:
        """The next request, or None when the client closed the connection between requests."""
        while self.buffer[:2] == b"\r\n":
            del self.buffer[:2]
        head = await self._read_until(b"\r\n\r\n")
        if head is None:
            if self.buffer:
                raise _BadRequest
            return None
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = request_line.split(" ")
        except ValueError:
            raise _BadRequest from None
        headers: dict[str, str] = {}
        for line in header_lines:
            name, colon, value = line.partition(":")
            if not colon:
                raise _BadRequest
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._read_chunked_body()
        else:
            try:
                body = await self._read_exact(int(headers.get("content-length", "0")))
            except ValueError:
                raise _BadRequest from None
        return _Request(method, target.split("?", 1)[0], version, headers, body)

    async def _read_chunked_body(self) -> bytes:
        body = bytearray()
        while True:
            size_line = await self._read_until(b"\r\n")
            if size_line is None:
                raise _BadRequest
            try:
                size = int(size_line.split(b";", 1)[0], 16)
            except ValueError:
                raise _BadRequest from None
            if size == 0:
                while await self._read_until(b"\r\n"):  # trailers, then the blank line
                    pass
                return bytes(body)
            body += await self._read_exact(size)
            await self._read_exact(2)

    async def watch_for_close(self) -> None:
        """Return once the client has closed; bytes read meanwhile are kept for the next request."""
        try:
            while await self._fill():
                pass
        except OSError:
            pass

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    def close(self) -> None:
        self.writer.close()


class _LineWriter:
    """Writes NDJSON lines as HTTP chunks: one chunk per line, or (split) all at the end in
    awkward slices of 200+ bytes, so most hold several lines and end inside a UTF-8 sequence."""

    SPAN = 200

    def __init__(self, conn: _Connection, *, split: bool) -> None:
        self.conn = conn
        self.split = split
        self.pending = bytearray()

    async def line(self, data: bytes) -> None:
        if self.split:
            self.pending += data + b"\n"
        else:
            await self.conn.send(_chunk(data + b"\n"))

    async def flush(self, pause: Callable[[], Awaitable[None]]) -> None:
        """Send what split mode has gathered, one slice per chunk, pausing between them."""
        while self.pending:
            end = min(self.SPAN, len(self.pending))
            limit = min(2 * self.SPAN, len(self.pending))
            while end < limit and self.pending[end - 1] < 0xC0:  # cut after a UTF-8 lead byte
                end += 1
            await self.conn.send(_chunk(bytes(self.pending[:end])))
            del self.pending[:end]
            await pause()

    async def end(self, pause: Callable[[], Awaitable[None]]) -> None:
        await self.flush(pause)
        await self.conn.send(b"0\r\n\r\n")


# --------------------------------------------------------------------------- request parsing


def _decode_body(body: bytes, struct: str) -> dict[str, Any]:
    """Decode a JSON request body as gin's ShouldBindJSON would, with Go's error texts."""
    if not body.strip():
        raise _ApiError(400, "missing request body")
    text = body.decode("utf-8", errors="replace").lstrip()
    try:
        value, _ = json.JSONDecoder().raw_decode(text)  # bytes after the first value are ignored
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()):
            raise _ApiError(400, "unexpected EOF") from None
        raise _ApiError(
            400, f"invalid character '{text[exc.pos]}' looking for beginning of value"
        ) from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _ApiError(
            400, f"json: cannot unmarshal {_go_type(value)} into Go value of type api.{struct}"
        )
    return {key.lower(): item for key, item in value.items()}  # Go matches names ignoring case


def _typed(
    data: dict[str, Any], key: str, kind: type, go_type: str, struct: str = "ChatRequest"
) -> Any:
    """data[key] if absent, null or of the right JSON type; else Go's decode error."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise _ApiError(
            400,
            f"json: cannot unmarshal {_go_type(value)} into Go struct field "
            f"{struct}.{key} of type {go_type}",
        )
    return value


def _parse_keep_alive(value: object) -> float | None:
    """Seconds, negative meaning forever; None when absent (api.Duration's rules)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        go_types = {bool: "bool", list: "[]interface {}", dict: "map[string]interface {}"}
        raise _ApiError(400, f"Unsupported type: '{go_types.get(type(value), 'unknown')}'")
    if not isinstance(value, str):
        return float(value)
    quoted = json.dumps(value, ensure_ascii=False)
    if value in ("0", "+0", "-0"):
        return 0.0
    if not _GO_DURATION.fullmatch(value):
        try:
            float(value)
        except ValueError:
            raise _ApiError(400, f"time: invalid duration {quoted}") from None
        raise _ApiError(400, f"time: missing unit in duration {quoted}")
    seconds = sum(float(n) * _DURATION_UNITS[unit] for n, unit in _DURATION_PART.findall(value))
    return -seconds if value.startswith("-") else seconds


def _parse_think(value: object) -> bool | str | None:
    if value is None or isinstance(value, bool):
        return value
    levels = ", ".join(f'"{level}"' for level in _THINK_LEVELS) + ", true, or false"
    if isinstance(value, str):
        if value in _THINK_LEVELS:
            return value
        raise _ApiError(400, f'invalid think value: "{value}" (must be {levels})')
    raise _ApiError(400, f"think must be a boolean or string ({levels})")


def _parse_chat(body: bytes) -> _ChatRequest:
    data = _decode_body(body, "ChatRequest")
    messages = _typed(data, "messages", list, "[]api.Message") or []
    for message in messages:
        if not isinstance(message, dict):
            raise _ApiError(
                400,
                f"json: cannot unmarshal {_go_type(message)} into Go struct field "
                "ChatRequest.messages of type api.Message",
            )
        for key in ("role", "content"):
            if message.get(key) is not None and not isinstance(message[key], str):
                raise _ApiError(
                    400,
                    f"json: cannot unmarshal {_go_type(message[key])} into Go struct field "
                    f"ChatRequest.messages.{key} of type string",
                )
        message["role"] = str(message.get("role") or "").lower()
    top_logprobs = _typed(data, "top_logprobs", int, "int")
    if top_logprobs is not None and not 0 <= top_logprobs <= 20:
        raise _ApiError(400, "top_logprobs must be between 0 and 20")
    return _ChatRequest(
        model=_typed(data, "model", str, "string") or "",
        messages=messages,
        stream=_typed(data, "stream", bool, "bool") is not False,
        options=_typed(data, "options", dict, "map[string]interface {}") or {},
        think=_parse_think(data.get("think")),
        keep_alive=_parse_keep_alive(data.get("keep_alive")),
        tools=_typed(data, "tools", list, "[]api.Tool") or [],
        format=data.get("format"),
    )


def _check_options(options: dict[str, Any]) -> None:
    """Option types, checked when the runner is scheduled: a wrong type is a 500."""
    for key, value in options.items():
        if value is None:
            continue
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if key in _INT_OPTIONS and not is_number:
            raise _ApiError(500, f'option "{key}" must be of type integer')
        if key in _FLOAT_OPTIONS and not is_number:
            raise _ApiError(500, f'option "{key}" must be of type float32')
        if key == "use_mmap" and not isinstance(value, bool):
            raise _ApiError(500, f'option "{key}" must be of type boolean')
        if key == "stop":
            if not isinstance(value, list):
                raise _ApiError(500, 'option "stop" must be of type array')
            if not all(isinstance(item, str) for item in value):
                raise _ApiError(500, 'option "stop" must be of an array of strings')


# --------------------------------------------------------------------------- the server


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
        self.token_delay = token_delay
        self.load_delay = load_delay
        self.version = version
        self.host = host
        self.port = port
        self.requests: list[RecordedRequest] = []
        self.streams_cancelled = 0
        self.pulls_cancelled = 0
        self._changed = threading.Condition()
        self._scripts: deque[_Script] = deque()
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
    ) -> None:
        """Script the next /api/chat reply (FIFO); see the module docs for the fields."""
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; expected one of {sorted(FAULTS)}")
        with self._changed:
            self._scripts.append(_Script(text, thinking, fault, fault_after, status, error))

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

    def _record(self, request: _Request) -> None:
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

    def _next_script(self) -> tuple[_Script | None, tuple[int, threading.Event] | None]:
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
        conn = _Connection(reader, writer)
        try:
            while True:
                try:
                    request = await conn.read_request()
                except _BadRequest:
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

    async def _dispatch(self, conn: _Connection, request: _Request) -> bool:
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
            return await self._chat(conn, request)
        except _ApiError as exc:
            return await self._respond_error(conn, request, exc)

    async def _respond(
        self,
        conn: _Connection,
        request: _Request,
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

    async def _respond_json(self, conn: _Connection, request: _Request, value: object) -> bool:
        return await self._respond(conn, request, 200, self._encode(value), JSON_UTF8)

    async def _respond_error(self, conn: _Connection, request: _Request, exc: _ApiError) -> bool:
        body = self._encode({"error": exc.message})
        return await self._respond(conn, request, exc.status, body, exc.content_type)

    @staticmethod
    def _head(request: _Request, status: int, headers: Sequence[tuple[str, str]]) -> bytes:
        lines = [f"HTTP/1.1 {status} {_phrase(status)}", f"Date: {formatdate(usegmt=True)}"]
        lines += [f"{name}: {value}" for name, value in headers]
        if request.wants_close:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    # -- models

    def _find(self, name: str, models: Iterable[FakeModel] | None = None) -> FakeModel | None:
        """The installed model (or the one in `models`) of that name."""
        wanted = _full_name(name).lower()
        choices = self.models if models is None else models
        return next((m for m in choices if _full_name(m.name).lower() == wanted), None)

    def _resolve(self, name: str) -> FakeModel:
        """Checks 2 and 3 of /api/chat: name present and valid, model installed."""
        if not name.strip():
            raise _ApiError(400, "model is required")
        if not _MODEL_NAME.fullmatch(name):
            raise _ApiError(400, "invalid model name")
        model = self._find(name)
        if model is None:
            raise _ApiError(404, f"model '{name}' not found")
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

    def _mark_loaded(self, model: FakeModel, chat: _ChatRequest) -> None:
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
        data = _decode_body(body, "ShowRequest")
        name = data.get("model") or data.get("name") or ""
        if not isinstance(name, str) or not name.strip():
            raise _ApiError(400, "model is required")
        if not _MODEL_NAME.fullmatch(name):
            raise _ApiError(400, "invalid model name")
        model = self._find(name)
        if model is None:
            raise _ApiError(404, f"model '{canonical_name(name)}' not found")
        return self._show_answer(model)

    @staticmethod
    def _show_answer(model: FakeModel) -> dict[str, object]:
        # One (key, value) per line; list-valued parameters such as `stop` repeat the key.
        flat = [
            (key, item)
            for key, value in model.parameters
            for item in (value if isinstance(value, tuple) else (value,))
        ]
        lines = [f"{key:<30} {_go_literal(item)}" for key, item in flat]
        parameter_count = int(
            float(model.parameter_size[:-1]) * (1e9 if model.parameter_size[-1] == "B" else 1e6)
        )
        arch = model.arch
        model_info = {
            "general.architecture": arch,
            "general.parameter_count": parameter_count,
            "general.quantization_version": 2,
            f"{arch}.block_count": 28,
            f"{arch}.context_length": model.context_length,
            f"{arch}.embedding_length": model.embedding_length,
            "tokenizer.ggml.model": "gpt2",
            "tokenizer.ggml.tokens": [],
        }
        modelfile = (
            '# Modelfile generated by "ollama show"\n'
            "# To build a new Modelfile based on this, replace FROM with:\n"
            f"# FROM {model.name}\n\n"
            f"FROM /usr/share/ollama/.ollama/models/blobs/sha256-{model.digest}\n"
            f'TEMPLATE """{model.template}"""\n'
            + "".join(f"PARAMETER {key} {item}\n" for key, item in flat)
        )
        answer: dict[str, object] = {}
        if model.license:
            answer["license"] = model.license
        answer["modelfile"] = modelfile
        if lines:
            answer["parameters"] = "\n".join(lines)
        answer["template"] = model.template
        if model.system:
            answer["system"] = model.system
        answer["details"] = model.details(with_lengths=False)
        answer["model_info"] = dict(sorted(model_info.items()))
        answer["capabilities"] = list(model.capabilities)
        answer["modified_at"] = model.modified_at
        return answer

    # -- /api/delete and /api/pull

    def _delete(self, body: bytes) -> None:
        data = _decode_body(body, "DeleteRequest")
        name = data.get("model") or data.get("name") or ""
        if not isinstance(name, str) or not name.strip():
            raise _ApiError(400, "model is required")
        if not _MODEL_NAME.fullmatch(name):
            raise _ApiError(400, f'name "{name}" is invalid')
        model = self._find(name)
        if model is None:
            raise _ApiError(404, f"model '{name}' not found")
        with self._changed:
            self.models.remove(model)
            self._changed.notify_all()

    async def _pull(self, conn: _Connection, request: _Request) -> bool:
        """Progress as NDJSON (with `stream: false`, one answer at the end), as Ollama sends it."""
        data = _decode_body(request.body, "PullRequest")
        name = data.get("model") or data.get("name") or ""
        if not isinstance(name, str) or not _MODEL_NAME.fullmatch(name):
            raise _ApiError(400, "invalid model name")
        stream = _typed(data, "stream", bool, "bool", "PullRequest") is not False
        with self._changed:
            hold = self._pull_holds.popleft() if self._pull_holds else None
        gone = asyncio.create_task(conn.watch_for_close())
        out = _LineWriter(conn, split=False)
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
                return await self._respond_error(conn, request, _ApiError(500, error, JSON_BARE))
            return await self._respond(
                conn, request, 200, self._encode({"status": "success"}), JSON_BARE
            )
        except (_ClientGone, ConnectionError):
            self._note_pull_cancelled()
            return False
        finally:
            await _stop_watching(gone)

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

    # -- /api/chat

    async def _chat(self, conn: _Connection, request: _Request) -> bool:
        """The checks Ollama's chat handler makes, in its order, then a load answer or a reply."""
        started = time.monotonic_ns()
        chat = _parse_chat(request.body)
        model = self._resolve(chat.model)
        if not chat.messages and chat.keep_alive == 0:
            self._loaded.pop(model.name, None)
            return await self._respond_json(conn, request, self._load_answer(chat, "unload"))
        if chat.thinking_requested and "thinking" not in model.capabilities:
            raise _ApiError(400, f'"{chat.model}" does not support thinking')
        if "completion" not in model.capabilities:
            raise _ApiError(400, f'"{chat.model}" does not support chat')
        if chat.tools and "tools" not in model.capabilities:
            raise _ApiError(400, f"{_full_name(model.name)} does not support tools")
        _check_options(chat.options)
        if chat.format not in (None, "", "json") and not isinstance(chat.format, dict):
            raw = json.dumps(chat.format, ensure_ascii=False, separators=(",", ":"))
            raise _ApiError(
                500,
                f'invalid format: {json.dumps(raw)}; expected "json" or a valid JSON Schema object',
                JSON_BARE if chat.stream else JSON_UTF8,
            )
        if chat.think is None and "thinking" in model.capabilities:
            chat.think = True
        if not chat.messages:
            await asyncio.sleep(self.load_delay)
            self._mark_loaded(model, chat)
            return await self._respond_json(conn, request, self._load_answer(chat, "load"))
        script, hold = self._next_script()
        if script is not None and script.status is not None:
            streaming_500 = chat.stream and script.status == 500
            raise _ApiError(
                script.status,
                script.error or _ERROR_TEXTS.get(script.status, _phrase(script.status).lower()),
                JSON_BARE if streaming_500 else JSON_UTF8,
            )
        plan = self._plan(chat, script, hold)
        self._mark_loaded(model, chat)
        if chat.stream:
            return await self._stream(conn, request, chat, plan, started)
        return await self._answer(conn, request, chat, plan, started)

    @staticmethod
    def _load_answer(chat: _ChatRequest, reason: str) -> dict[str, object]:
        return {
            "model": chat.model,
            "created_at": go_time(),
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": reason,
        }

    def _plan(
        self,
        chat: _ChatRequest,
        script: _Script | None,
        hold: tuple[int, threading.Event] | None,
    ) -> _Plan:
        users = [m for m in chat.messages if m["role"] == "user"]
        last = str(users[-1].get("content") or "") if users else ""
        fault = script.fault if script is not None else None
        if fault is None:
            fault = next((name for name in sorted(FAULTS) if f"#{name}" in last), None)
        if script is not None and script.text is not None:
            content = script.text
        else:
            body = _FILLER
            if "#code" in last:
                body = _CODE
            elif "#long" in last:
                body = _long_text()
            elif "#markup" in last:
                body = _MARKUP
            elif fault == "split_utf8":
                body = _UTF8
            content = default_reply(chat.model, chat.messages, body)
        done_reason = "stop"
        stops = chat.options.get("stop") or []
        cut = min((i for s in stops if s and (i := content.find(s)) >= 0), default=-1)
        if cut >= 0:
            content = content[:cut]
        thinking = ""
        if chat.think is not False:
            if script is not None and script.thinking is not None:
                thinking = script.thinking
            elif chat.thinking_requested:
                thinking = _default_thinking(chat.messages)
        pieces = [("thinking", t) for t in tokenize(thinking)]
        pieces += [("content", t) for t in tokenize(content)]
        num_predict = chat.options.get("num_predict")
        if isinstance(num_predict, int | float) and 0 < num_predict < len(pieces):
            pieces = pieces[: int(num_predict)]
            done_reason = "length"
        prompt_chars = sum(len(str(m.get("content") or "")) for m in chat.messages)
        return _Plan(
            pieces=pieces,
            done_reason=done_reason,
            fault=fault,
            fault_after=script.fault_after if script is not None else 10,
            error=(script.error if script is not None else None) or MIDSTREAM_ERROR,
            extra_delay=SLOWLOAD_SECONDS if "#slowload" in last else 0.0,
            hold=hold,
            prompt_eval_count=max(1, prompt_chars // 4),
        )

    def _metrics(self, plan: _Plan, started_ns: int) -> dict[str, int]:
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
    def _message(pieces: Sequence[tuple[str, str]]) -> dict[str, str]:
        message = {
            "role": "assistant",
            "content": "".join(text for kind, text in pieces if kind == "content"),
        }
        if thinking := "".join(text for kind, text in pieces if kind == "thinking"):
            message["thinking"] = thinking
        return message

    def _line(self, model: str, pieces: Sequence[tuple[str, str]]) -> bytes:
        message = self._message(pieces)
        return self._encode(
            {"model": model, "created_at": go_time(), "message": message, "done": False}
        )

    def _done(
        self, chat: _ChatRequest, plan: _Plan, final: Sequence[tuple[str, str]], started: int
    ) -> dict[str, object]:
        return {
            "model": chat.model,
            "created_at": go_time(),
            "message": self._message(final),
            "done": True,
            "done_reason": plan.done_reason,
            **self._metrics(plan, started),
        }

    @staticmethod
    async def _pause(seconds: float, gone: asyncio.Task[None]) -> None:
        """Sleep, but raise _ClientGone as soon as the client hangs up."""
        if seconds > 0:
            await asyncio.wait({gone}, timeout=seconds)
        if gone.done():
            raise _ClientGone

    async def _wait_for_release(self, release: threading.Event, gone: asyncio.Task[None]) -> None:
        while not release.is_set():
            await self._pause(0.01, gone)

    async def _stream(
        self, conn: _Connection, request: _Request, chat: _ChatRequest, plan: _Plan, started: int
    ) -> bool:
        gone = asyncio.create_task(conn.watch_for_close())
        out = _LineWriter(conn, split=plan.fault == "split_utf8")

        async def pause() -> None:
            await self._pause(self.token_delay, gone)

        try:
            await self._pause(self.load_delay + plan.extra_delay, gone)
            headers = [("Content-Type", NDJSON), ("Transfer-Encoding", "chunked")]
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
            await out.line(self._encode(self._done(chat, plan, final, started)))
            await out.end(pause)
            return not request.wants_close
        except (_ClientGone, ConnectionError):
            self._note_cancelled()
            return False
        finally:
            await _stop_watching(gone)

    async def _answer(
        self, conn: _Connection, request: _Request, chat: _ChatRequest, plan: _Plan, started: int
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
                return await self._respond_error(conn, request, _ApiError(500, plan.error))
            answer = self._done(chat, plan, plan.pieces, started)
            return await self._respond_json(conn, request, answer)
        except (_ClientGone, ConnectionError):
            self._note_cancelled()
            return False
        finally:
            await _stop_watching(gone)


# --------------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> None:
    """Serve until Ctrl+C, for pointing the real app at a fake server."""
    parser = argparse.ArgumentParser(description="A fake Ollama server for trying ollama-tui.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=11434)
    parser.add_argument("--token-delay", type=float, default=0.03, help="seconds between tokens")
    parser.add_argument("--load-delay", type=float, default=0.0, help="seconds before a reply")
    parser.add_argument("--pull-speed", type=float, default=50e6, help="bytes/s of a pull")
    args = parser.parse_args(argv)
    server = FakeOllama(
        host=args.host,
        port=args.port,
        token_delay=args.token_delay,
        load_delay=args.load_delay,
        pull_speed=args.pull_speed,
    ).start()
    triggers = " ".join([*CONTENT_TRIGGERS, *(f"#{name}" for name in sorted(FAULTS))])
    print(f"fake Ollama listening on {server.url}", flush=True)
    print(f"models: {', '.join(m.name for m in server.models)}", flush=True)
    pullable = [m.name for m in server.catalogue if server._find(m.name) is None]
    print(f"to pull: {', '.join(pullable)}", flush=True)
    print(f"trigger words: {triggers}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
