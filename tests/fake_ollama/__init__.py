"""A faithful fake Ollama on a real loopback socket, for tests and for trying the app by hand.

It speaks hand-written HTTP/1.1 over `asyncio.start_server`, so framing and faults are exact, and
runs its own event loop in a background thread: tests (with their own loop, e.g. Textual's
`App.run_test`) and the app's httpx client reach it over TCP exactly as in production. Shapes,
status codes, error texts and content types follow Ollama's own server (server/routes.go,
api/types.go as of v0.33).

Command line (point the app at the printed URL; Ctrl+C stops it)::

    python -m tests.fake_ollama --port 11434 --token-delay 0.03
    options: --host 127.0.0.1, --port 11434, --token-delay 0.03 (s), --load-delay 0 (s),
             --pull-speed 50e6 (bytes/s), --vision (install the vision models too),
             --models N (install N synthetic models instead: synthetic_models(N))

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
        server.queue_reply(tool_calls=[("echo", {"text": "hi"})])   # the model calls a tool
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

`queue_reply(text=None, *, thinking=None, fault=None, fault_after=10, status=None, error=None,
tool_calls=None)` scripts the next /api/chat request that would produce a reply (validation
errors and load/unload requests do not consume it). `text` replaces the whole answer; `thinking`
is streamed first unless the request says `think: false`. `tool_calls` is a list of (name,
arguments) pairs: when the request offers `tools`, they arrive whole on one line after the text
(`content` "", each with an id `call_` + 8 characters and its `index`), as Ollama sends them;
without a text the reply has none. `status` answers with that HTTP error instead, its body
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
messages received (and of images, when any came) and the last user message; it is cut into
~4-character tokens, one NDJSON line each, `token_delay` seconds apart, after `load_delay`
seconds. Thinking models (qwen3:0.6b) stream a thinking trace first unless `think` is false.
Trigger words in the last user message make the server misbehave on demand, so faults can be
tried by hand:

* ``#code``      an answer with a python and a bash fenced code block;
* ``#long``      a ~2,000-token multi-paragraph answer;
* ``#markup``    Rich markup, OSC 52 / OSC 0 / clear-screen escapes, a bell and a bidi override;
* ``#slowload``  3 s before the first line;
* ``#tool``      when the request offers tools, a call of the first one, its arguments filled
  from its parameters' schema (only while the newest message is the user's).

Tools and structured output: the history may hold assistant messages with `tool_calls` and
`role: "tool"` messages with `tool_name` (type errors are Go's 400s). A reply to a history that
ends with tool results quotes each result back ("The tool `echo` answered: …"). With `format`
the answer is JSON: for a schema, an object with every property filled by type (strings
"example", integers 42, numbers 3.5, booleans true, enums their first value); for "json",
`{"model", "messages", "said"}`. A scripted `text` replaces it, e.g. to test an invalid reply.
* ``#drop`` ``#error`` ``#stall`` ``#nodone`` ``#malformed`` ``#huge_line`` ``#split_utf8``
  ``#text_in_done``  the fault of that name (after 10 tokens).

Images, as Ollama takes them: each message's `images` must be an array of padded standard
base64 strings (else 400 `illegal base64 data at input byte N`); a model without the `vision`
capability answers 500 `…this model is missing data required for image input`, and bytes that
are not a PNG, JPEG, GIF or WebP 500 `…image: unknown format`. VISION_MODELS (gemma3:4b,
llava:7b) are pullable; pass them in `models` to have them installed.
synthetic_models(N) makes N installed models (varied names, sizes, dates, capabilities) for
a server with very many models: `FakeOllama(models=synthetic_models(100_000))`.

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

``POST /api/embed`` answers vectors of the model's `embedding_length` (nomic-embed-text:latest,
768) made of hashed word features, so texts sharing words are similar (embeddings.py). A model
not installed is `404 model "NAME" not found, try pulling it first`; one without the
`embedding` capability `501 this model does not support embeddings`; an input that is not a
string or a list of strings `400 invalid input type`. `server.embed_delay` (s) delays every
answer; `server.queue_embed(fault)` scripts the next one (FIFO, None for a normal answer):
``error`` (`status`, default 500, with `error` or Ollama's text), ``slow`` (no answer for 10
minutes, or until the client leaves), ``dims`` (vectors of half the dimensions), ``drop``
(the connection closes unanswered). `server.embed_inputs()` lists every text embedded so far.

Endpoints: `GET|HEAD /`, `GET|HEAD /api/version`, `GET|HEAD /api/tags`, `GET /api/ps`,
`POST /api/show`, `POST /api/chat`, `POST /api/embed`, `POST /api/pull`, `DELETE /api/delete`.
Other paths answer 404 `404 page not found`; a known path with the wrong method 405 with
`Allow`. Model names match case-insensitively and `name` is `name:latest`.
"""

from __future__ import annotations

from tests.fake_ollama.catalogue import (
    DEFAULT_MODELS,
    PULLABLE_MODELS,
    VISION_MODELS,
    FakeModel,
    canonical_name,
    synthetic_models,
)
from tests.fake_ollama.embeddings import EMBED_FAULTS, NOT_AN_EMBEDDING_MODEL, word_vector
from tests.fake_ollama.replies import (
    CONTENT_TRIGGERS,
    FAULTS,
    HUGE_DELTA,
    MIDSTREAM_ERROR,
    QUOTE_LIMIT,
    Script,
    default_reply,
    sample_value,
    tokenize,
)
from tests.fake_ollama.server import PULL_TICK, UNKNOWN_MANIFEST, FakeOllama, RecordedRequest
from tests.fake_ollama.wire import go_json, go_time

__all__ = [
    "CONTENT_TRIGGERS",
    "DEFAULT_MODELS",
    "EMBED_FAULTS",
    "FAULTS",
    "HUGE_DELTA",
    "MIDSTREAM_ERROR",
    "NOT_AN_EMBEDDING_MODEL",
    "PULLABLE_MODELS",
    "PULL_TICK",
    "QUOTE_LIMIT",
    "UNKNOWN_MANIFEST",
    "VISION_MODELS",
    "FakeModel",
    "FakeOllama",
    "RecordedRequest",
    "Script",
    "canonical_name",
    "default_reply",
    "go_json",
    "go_time",
    "sample_value",
    "synthetic_models",
    "tokenize",
    "word_vector",
]
