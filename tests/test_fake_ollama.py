"""The fake Ollama's own fidelity, checked byte for byte over a raw socket."""

from __future__ import annotations

import base64
import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.fake_ollama import DEFAULT_MODELS, VISION_MODELS, FakeOllama, go_json
from tests.images import picture

HI = [{"role": "user", "content": "hi"}]
CREATED_AT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z")
DONE_FIELDS = [
    "model",
    "created_at",
    "message",
    "done",
    "done_reason",
    "total_duration",
    "load_duration",
    "prompt_eval_count",
    "prompt_eval_duration",
    "eval_count",
    "eval_duration",
]


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes  # as on the wire, chunk framing included

    def chunks(self) -> list[bytes]:
        """The chunk payloads; fails unless the body is complete chunked framing."""
        assert self.headers.get("transfer-encoding") == "chunked"
        chunks, rest = [], self.body
        while True:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line, 16)
            if size == 0:
                assert rest == b"\r\n"
                return chunks
            chunks.append(rest[:size])
            assert rest[size : size + 2] == b"\r\n"
            rest = rest[size + 2 :]

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in b"".join(self.chunks()).splitlines()]


def parse_response(raw: bytes) -> Response:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.lower()] = value.strip()
    return Response(int(status_line.split()[1]), headers, body)


def request_bytes(
    server: FakeOllama, method: str, path: str, body: object = None, *, close: bool = True
) -> bytes:
    payload = (
        body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
    )
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}"]
    if close:
        lines.append("Connection: close")
    if method == "POST":
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


def call(server: FakeOllama, method: str, path: str, body: object = None) -> Response:
    """One request on a fresh connection; the whole answer up to the server's close."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(request_bytes(server, method, path, body))
        received = b""
        while data := sock.recv(65536):
            received += data
    return parse_response(received)


# --------------------------------------------------------------------------- plain routes


def test_root_answers_ollama_is_running(fake_ollama: FakeOllama) -> None:
    get = call(fake_ollama, "GET", "/")
    head = call(fake_ollama, "HEAD", "/")
    assert (get.status, get.body) == (200, b"Ollama is running")
    assert get.headers["content-type"] == "text/plain; charset=utf-8"
    assert get.headers["content-length"] == "17"
    assert "date" in get.headers and "server" not in get.headers
    assert (head.status, head.body, head.headers["content-length"]) == (200, b"", "17")


def test_unknown_path_and_wrong_method(fake_ollama: FakeOllama) -> None:
    missing = call(fake_ollama, "GET", "/api/nothing")
    assert (missing.status, missing.body) == (404, b"404 page not found")
    assert missing.headers["content-type"] == "text/plain"
    wrong = call(fake_ollama, "POST", "/api/tags", {})
    assert (wrong.status, wrong.body) == (405, b"405 method not allowed")
    assert wrong.headers["allow"] == "GET, HEAD"


def test_json_answers_are_compact_with_charset_and_length(fake_ollama: FakeOllama) -> None:
    version = call(fake_ollama, "GET", "/api/version")
    assert version.body == b'{"version":"0.32.15"}'  # no trailing newline
    assert version.headers["content-type"] == "application/json; charset=utf-8"
    assert version.headers["content-length"] == str(len(version.body))


def test_go_json_is_html_safe_and_raw_utf8_otherwise() -> None:
    encoded = go_json({"s": "<b>&</b>\u2028\u2029 é\u0085\x01\n"})
    assert encoded == (
        b'{"s":"\\u003cb\\u003e\\u0026\\u003c/b\\u003e\\u2028\\u2029 '
        + "é\u0085".encode()
        + b'\\u0001\\n"}'
    )


# --------------------------------------------------------------------------- /api/chat


def test_stream_is_chunked_ndjson_one_line_per_chunk(fake_ollama: FakeOllama) -> None:
    fake_ollama.queue_reply("Hello <world> & all")
    response = call(fake_ollama, "POST", "/api/chat", {"model": "LLAMA3.2", "messages": HI})
    assert response.status == 200
    assert response.headers["content-type"] == "application/x-ndjson"
    assert "content-length" not in response.headers
    chunks = response.chunks()
    assert all(chunk.endswith(b"\n") and chunk.count(b"\n") == 1 for chunk in chunks)
    wire = b"".join(chunks)
    assert b"\\u003c" in wire and b"\\u003e" in wire and b"\\u0026" in wire
    assert not {b"<", b">", b"&"} & {wire[i : i + 1] for i in range(len(wire))}
    *deltas, done = response.lines()
    for line in deltas:
        assert list(line) == ["model", "created_at", "message", "done"]
        assert line["model"] == "LLAMA3.2" and line["done"] is False
        assert CREATED_AT.fullmatch(line["created_at"])
        assert list(line["message"]) == ["role", "content"]
    assert "".join(line["message"]["content"] for line in deltas) == "Hello <world> & all"
    assert list(done) == DONE_FIELDS
    assert (done["done"], done["done_reason"], done["message"]["content"]) == (True, "stop", "")
    assert done["eval_count"] == len(deltas)


def test_thinking_lines_come_first(fake_ollama: FakeOllama) -> None:
    fake_ollama.queue_reply("Answer.", thinking="Hmm, let me see.")
    lines = call(fake_ollama, "POST", "/api/chat", {"model": "qwen3:0.6b", "messages": HI}).lines()
    thinking = [line["message"].get("thinking", "") for line in lines]
    assert "".join(thinking) == "Hmm, let me see."
    first_content = next(i for i, line in enumerate(lines) if line["message"]["content"])
    assert all(thinking[:first_content]) and not any(thinking[first_content:])
    assert lines[0]["message"] == {"role": "assistant", "content": "", "thinking": "Hmm,"}


def test_split_utf8_cuts_sequences_and_joins_lines(fake_ollama: FakeOllama) -> None:
    fake_ollama.token_delay = 0.001
    fake_ollama.queue_reply("日本語のテキスト — ünïcödé 🦙", fault="split_utf8")
    response = call(fake_ollama, "POST", "/api/chat", {"model": "llama3.2", "messages": HI})
    chunks = response.chunks()

    def undecodable(chunk: bytes) -> bool:
        try:
            chunk.decode()
        except UnicodeDecodeError:
            return True
        return False

    assert any(undecodable(chunk) for chunk in chunks)
    assert any(chunk.count(b"\n") > 1 for chunk in chunks)
    text = "".join(line["message"]["content"] for line in response.lines())
    assert text == "日本語のテキスト — ünïcödé 🦙"


def test_stream_false_is_one_object(fake_ollama: FakeOllama) -> None:
    fake_ollama.queue_reply("All at once.", thinking="Quick.")
    body = {"model": "qwen3:0.6b", "messages": HI, "stream": False}
    response = call(fake_ollama, "POST", "/api/chat", body)
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    answer = json.loads(response.body)
    assert list(answer) == DONE_FIELDS
    assert answer["message"] == {
        "role": "assistant",
        "content": "All at once.",
        "thinking": "Quick.",
    }


@pytest.mark.parametrize(
    ("options", "content", "reason", "count"),
    [
        ({"num_predict": 3}, "one two thre", "length", 3),
        ({"stop": [" three"]}, "one two", "stop", 2),
    ],
)
def test_num_predict_and_stop(
    fake_ollama: FakeOllama, options: dict[str, Any], content: str, reason: str, count: int
) -> None:
    fake_ollama.queue_reply("one two three four")
    body = {"model": "llama3.2", "messages": HI, "options": options}
    *deltas, done = call(fake_ollama, "POST", "/api/chat", body).lines()
    assert "".join(line["message"]["content"] for line in deltas) == content
    assert (done["done_reason"], done["eval_count"]) == (reason, count)


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (b"", 400, "missing request body"),
        (b"xyz", 400, "invalid character 'x' looking for beginning of value"),
        (b'{"model":"llama3.2","messages":[', 400, "unexpected EOF"),
        (b"null", 400, "model is required"),
        (
            {"model": "llama3.2", "stream": "yes"},
            400,
            "json: cannot unmarshal string into Go struct field ChatRequest.stream of type bool",
        ),
        ({"model": " "}, 400, "model is required"),
        ({"model": "bad name!"}, 400, "invalid model name"),
        ({"model": "llama3", "messages": HI, "think": True}, 404, "model 'llama3' not found"),
        (
            {"model": "llama3.2", "messages": HI, "think": True},
            400,
            '"llama3.2" does not support thinking',
        ),
        (
            {"model": "nomic-embed-text", "messages": HI},
            400,
            '"nomic-embed-text" does not support chat',
        ),
        (
            {"model": "llama3.2", "messages": HI, "options": {"temperature": "hot"}},
            500,
            'option "temperature" must be of type float32',
        ),
        (
            {"model": "llama3.2", "messages": HI, "options": {"num_ctx": "big"}},
            500,
            'option "num_ctx" must be of type integer',
        ),
        (
            {"model": "llama3.2", "messages": HI, "keep_alive": "10"},
            400,
            'time: missing unit in duration "10"',
        ),
        (
            {"model": "llama3.2", "messages": HI, "keep_alive": "abc"},
            400,
            'time: invalid duration "abc"',
        ),
        (
            {"model": "qwen3:0.6b", "messages": HI, "think": "x"},
            400,
            'invalid think value: "x" (must be "high", "medium", "low", "max", true, or false)',
        ),
    ],
)
def test_chat_errors_in_the_server_order(
    fake_ollama: FakeOllama, body: object, status: int, error: str
) -> None:
    response = call(fake_ollama, "POST", "/api/chat", body)
    assert response.status == status
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert json.loads(response.body) == {"error": error}


def test_load_and_unload_answers(fake_ollama: FakeOllama) -> None:
    load = call(fake_ollama, "POST", "/api/chat", {"model": "llama3.2"})
    assert load.headers["content-type"] == "application/json; charset=utf-8"
    answer = json.loads(load.body)
    assert list(answer) == ["model", "created_at", "message", "done", "done_reason"]
    assert (answer["done"], answer["done_reason"]) == (True, "load")
    assert [m["name"] for m in json.loads(call(fake_ollama, "GET", "/api/ps").body)["models"]] == [
        "llama3.2:latest"
    ]
    # keep_alive 0 unloads, and is checked before think is.
    body = {"model": "llama3.2", "messages": [], "keep_alive": 0, "think": True}
    assert json.loads(call(fake_ollama, "POST", "/api/chat", body).body)["done_reason"] == "unload"
    assert json.loads(call(fake_ollama, "GET", "/api/ps").body) == {"models": []}


def test_scripted_http_errors_and_their_content_types(fake_ollama: FakeOllama) -> None:
    fake_ollama.queue_reply(status=500)
    fake_ollama.queue_reply(status=503)
    crashed = call(fake_ollama, "POST", "/api/chat", {"model": "llama3.2", "messages": HI})
    busy = call(fake_ollama, "POST", "/api/chat", {"model": "llama3.2", "messages": HI})
    assert (crashed.status, crashed.headers["content-type"]) == (500, "application/json")
    assert (busy.status, busy.headers["content-type"]) == (503, "application/json; charset=utf-8")
    assert json.loads(busy.body) == {
        "error": "server busy, please try again.  maximum pending requests exceeded"
    }


def test_dropped_stream_has_no_terminating_chunk(fake_ollama: FakeOllama) -> None:
    fake_ollama.queue_reply("one two three", fault="drop", fault_after=1)
    response = call(fake_ollama, "POST", "/api/chat", {"model": "llama3.2", "messages": HI})
    assert response.status == 200
    assert not response.body.endswith(b"0\r\n\r\n")
    with pytest.raises(ValueError):
        response.chunks()


# --------------------------------------------------------------------------- other endpoints


def test_tags_shape(fake_ollama: FakeOllama) -> None:
    models = json.loads(call(fake_ollama, "GET", "/api/tags").body)["models"]
    llama = models[0]
    assert list(llama) == [
        "name",
        "model",
        "modified_at",
        "size",
        "digest",
        "details",
        "capabilities",
    ]
    assert re.fullmatch(r"[0-9a-f]{64}", llama["digest"])
    assert llama["details"] == {
        "parent_model": "",
        "format": "gguf",
        "family": "llama",
        "families": ["llama"],
        "parameter_size": "3.2B",
        "quantization_level": "Q4_K_M",
        "context_length": 131072,
        "embedding_length": 3072,
    }


def test_show_shape_and_canonical_404(fake_ollama: FakeOllama) -> None:
    missing = call(fake_ollama, "POST", "/api/show", {"model": "nope"})
    assert (missing.status, json.loads(missing.body)) == (
        404,
        {"error": "model 'nope:latest' not found"},
    )
    show = json.loads(call(fake_ollama, "POST", "/api/show", {"model": "qwen3:0.6b"}).body)
    assert list(show) == [
        "license",
        "modelfile",
        "parameters",
        "template",
        "details",
        "model_info",
        "capabilities",
        "modified_at",
    ]
    assert list(show["model_info"]) == sorted(show["model_info"])
    assert show["model_info"]["general.architecture"] == "qwen3"
    assert show["model_info"]["qwen3.context_length"] == 40960
    assert "context_length" not in show["details"]
    assert 'stop                           "<|im_start|>"' in show["parameters"].splitlines()
    assert show["capabilities"] == ["completion", "tools", "thinking"]


# --------------------------------------------------------------------------- connections & API


def test_keep_alive_connection_serves_several_requests(fake_ollama: FakeOllama) -> None:
    with socket.create_connection(("127.0.0.1", fake_ollama.port), timeout=5) as sock:
        for _ in range(2):
            sock.sendall(request_bytes(fake_ollama, "GET", "/api/version", close=False))
            received = b""
            while not received.endswith(b'"0.32.15"}'):
                received += sock.recv(65536)
            assert parse_response(received).status == 200
    assert [r.path for r in fake_ollama.requests] == ["/api/version", "/api/version"]


def test_stop_then_start_on_the_same_port(fake_ollama: FakeOllama) -> None:
    port = fake_ollama.port
    fake_ollama.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    fake_ollama.start()
    assert fake_ollama.port == port
    assert call(fake_ollama, "GET", "/").status == 200


def test_requests_are_recorded(fake_ollama: FakeOllama) -> None:
    call(fake_ollama, "POST", "/api/chat", {"model": "llama3.2"})
    fake_ollama.wait_for_requests("/api/chat", 1, timeout=1)
    (recorded,) = fake_ollama.requests
    assert (recorded.method, recorded.path) == ("POST", "/api/chat")
    assert recorded.headers["content-type"] == "application/json"
    assert recorded.json == {"model": "llama3.2"}
    assert fake_ollama.chat_requests() == [{"model": "llama3.2"}]
    with pytest.raises(TimeoutError):
        fake_ollama.wait_for_requests("/api/chat", 2, timeout=0.05)


def test_queue_reply_rejects_unknown_faults(fake_ollama: FakeOllama) -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        fake_ollama.queue_reply(fault="explode")


# --------------------------------------------------------------------------- images


@pytest.fixture
def vision_ollama() -> Iterator[FakeOllama]:
    with FakeOllama(models=[*VISION_MODELS, *DEFAULT_MODELS]) as server:
        yield server


def with_images(*images: str, model: str = "gemma3:4b", stream: bool = True) -> dict[str, Any]:
    message = {"role": "user", "content": "what is this?", "images": list(images)}
    return {"model": model, "messages": [message], "stream": stream}


def test_images_are_counted_in_the_unscripted_reply(vision_ollama: FakeOllama) -> None:
    image = base64.b64encode(picture(8, 8)).decode()
    answer = call(vision_ollama, "POST", "/api/chat", with_images(image, image, stream=False))
    assert answer.status == 200
    content = json.loads(answer.body)["message"]["content"]
    assert content.startswith("**model** `gemma3:4b` · **history** 1 message (1 from you)")
    assert "· **images** 2\n" in content
    plain = call(vision_ollama, "POST", "/api/chat", {"model": "gemma3:4b", "messages": HI})
    assert "images" not in "".join(line["message"]["content"] for line in plain.lines())


@pytest.mark.parametrize(
    ("images", "status", "error"),
    [
        (["aGV!bG8="], 400, "illegal base64 data at input byte 3"),
        (["abc"], 400, "illegal base64 data at input byte 0"),
        (
            [base64.b64encode(b"plain text, not a picture").decode()],
            500,
            "Failed to create new sequence: failed to process inputs: image: unknown format",
        ),
        (
            [7],
            400,
            "json: cannot unmarshal number into Go struct field ChatRequest.messages.images "
            "of type api.ImageData",
        ),
    ],
)
def test_bad_images_get_ollamas_errors(
    vision_ollama: FakeOllama, images: list[Any], status: int, error: str
) -> None:
    body = with_images(*images)
    answer = call(vision_ollama, "POST", "/api/chat", body)
    assert (answer.status, json.loads(answer.body)) == (status, {"error": error})


def test_images_to_a_model_without_vision(vision_ollama: FakeOllama) -> None:
    image = base64.b64encode(picture(8, 8)).decode()
    answer = call(vision_ollama, "POST", "/api/chat", with_images(image, model="llama3.2"))
    assert (answer.status, answer.headers["content-type"]) == (500, "application/json")
    assert json.loads(answer.body)["error"].endswith(
        "this model is missing data required for image input"
    )


def test_vision_models_show_their_projector(vision_ollama: FakeOllama) -> None:
    shown = json.loads(call(vision_ollama, "POST", "/api/show", {"model": "llava:7b"}).body)
    assert shown["capabilities"] == ["completion", "vision"]
    assert shown["projector_info"]["general.architecture"] == "clip"
    assert "projector_info" not in json.loads(
        call(vision_ollama, "POST", "/api/show", {"model": "llama3.2"}).body
    )


def test_the_command_line_installs_vision_models_on_request() -> None:
    command = [sys.executable, "-m", "tests.fake_ollama", "--port", "0", "--vision"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            listening, models = process.stdout.readline(), process.stdout.readline()
        finally:
            process.terminate()
    assert listening.startswith("fake Ollama listening on http://127.0.0.1:")
    assert models.startswith("models: gemma3:4b, llava:7b, llama3.2:latest")
