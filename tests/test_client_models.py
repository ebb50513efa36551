"""OllamaClient's model management against the fake Ollama over loopback: pull, delete, ps,
unload, and the non-streamed chat_once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing

import httpx
import pytest

from ollama_tui.ollama import (
    ModelNotFound,
    OllamaClient,
    OllamaError,
    PullFailed,
    PullProgress,
    RequestRejected,
    RunningModel,
    ServerBusy,
    ServerError,
    StreamBroken,
)
from tests.fake_ollama import (
    PULLABLE_MODELS,
    UNKNOWN_MANIFEST,
    FakeOllama,
    go_time,
    tokenize,
)

HELLO = [{"role": "user", "content": "Why is the sky blue?"}]
GEMMA = next(m for m in PULLABLE_MODELS if m.name == "gemma3:1b")
FROZEN_NS = 1_767_345_300 * 10**9  # 2026-01-02T09:15:00Z


@pytest.fixture
async def client(fake_ollama: FakeOllama) -> AsyncIterator[OllamaClient]:
    fake_ollama.token_delay = 0.001
    async with OllamaClient(fake_ollama.url, stall_timeout=5) as client:
        yield client


async def pull_all(client: OllamaClient, model: str) -> list[PullProgress]:
    return [progress async for progress in client.pull(model)]


def installed(server: FakeOllama) -> list[str]:
    return [m.name for m in server.models]


def assert_one_line(error: OllamaError) -> None:
    text = str(error)
    assert text == error.message
    assert "\n" not in text and "\x1b" not in text


def layer_lines(events: list[PullProgress], digest: str) -> list[PullProgress]:
    return [e for e in events if e.digest == f"sha256:{digest}"]


# --------------------------------------------------------------------------- pull


async def test_pull_reports_manifest_each_layer_then_success(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    fake_ollama.pull_speed = 2e9  # the weights take several progress lines
    events = await pull_all(client, "gemma3:1b")

    assert events[0] == PullProgress("pulling manifest", None, None, None)
    assert [e.status for e in events[-3:]] == [
        "verifying sha256 digest",
        "writing manifest",
        "success",
    ]
    layers = GEMMA.layers
    assert sum(size for _, size in layers) == GEMMA.size
    seen_digests = list(dict.fromkeys(e.digest for e in events if e.digest))
    assert seen_digests == [f"sha256:{digest}" for digest, _ in layers]
    for digest, size in layers:
        lines = layer_lines(events, digest)
        assert {line.status for line in lines} == {f"pulling {digest[:12]}"}
        assert {line.total for line in lines} == {size}
        assert lines[0].completed is None  # omitted while 0, as docs/api.md warns
        completed = [line.completed for line in lines[1:]]
        assert completed == sorted(completed) and completed[-1] == size
    assert len(layer_lines(events, layers[0][0])) >= 5

    models = await client.list_models()
    assert models[0].name == "gemma3:1b"  # newest first
    assert models[0].size == GEMMA.size


async def test_pulling_an_installed_model_reports_its_layers_complete(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    events = await pull_all(client, "llama3.2")
    layers = [e for e in events if e.digest]
    assert len(layers) == len(fake_ollama.models[0].layers)
    assert all(e.completed == e.total for e in layers)
    assert events[-1].status == "success"
    assert installed(fake_ollama).count("llama3.2:latest") == 1


async def test_pulling_an_unknown_model_fails_in_one_line(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    events: list[PullProgress] = []
    with pytest.raises(PullFailed) as failure:
        async for progress in client.pull("no-such-model:1b"):
            events.append(progress)
    assert [e.status for e in events] == ["pulling manifest"]
    assert str(failure.value) == (
        f"could not pull 'no-such-model:1b': {UNKNOWN_MANIFEST}; "
        "check the name on ollama.com/library"
    )
    assert_one_line(failure.value)
    assert "no-such-model:1b" not in installed(fake_ollama)


async def test_pulling_a_malformed_name_is_rejected(client: OllamaClient) -> None:
    with pytest.raises(RequestRejected) as failure:
        await pull_all(client, "not a name!")
    assert failure.value.status == 400
    assert str(failure.value) == "Ollama rejected the request (400): invalid model name"


async def test_cancelling_a_pull_closes_the_connection(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    release = fake_ollama.hold_pull(3)
    received: list[PullProgress] = []
    three_in = asyncio.Event()

    async def consume() -> None:
        async for progress in client.pull("gemma3:1b"):
            received.append(progress)
            if len(received) == 3:
                three_in.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(three_in.wait(), timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await fake_ollama.wait_until_async(lambda: fake_ollama.pulls_cancelled == 1)
    release.set()
    assert len(received) == 3
    assert "gemma3:1b" not in installed(fake_ollama)


async def test_closing_a_pull_early_closes_the_connection(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    release = fake_ollama.hold_pull(2)
    async with aclosing(client.pull("gemma3:1b")) as pull:
        assert (await anext(pull)).status == "pulling manifest"
    await fake_ollama.wait_until_async(lambda: fake_ollama.pulls_cancelled == 1)
    release.set()


async def test_server_dying_mid_pull_is_broken(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    fake_ollama.hold_pull(2)
    pull = client.pull("gemma3:1b")
    assert (await anext(pull)).status == "pulling manifest"
    assert (await anext(pull)).status.startswith("pulling ")
    fake_ollama.stop()
    with pytest.raises(StreamBroken) as failure:
        await anext(pull)
    assert failure.value.kind == "dropped"


def test_pull_failed_is_one_safe_line_with_a_fitting_hint() -> None:
    error = PullFailed("evil\x1b]0;x", "disk full\n\x07retry later")
    assert str(error) == "could not pull 'evil]0;x': disk full retry later; try again"
    assert_one_line(error)


# --------------------------------------------------------------------------- delete


async def test_delete_removes_the_model(client: OllamaClient, fake_ollama: FakeOllama) -> None:
    await client.delete("mistral:7b")
    assert "mistral:7b" not in [m.name for m in await client.list_models()]
    request = fake_ollama.requests[-2]
    assert (request.method, request.path, request.json) == (
        "DELETE",
        "/api/delete",
        {"model": "mistral:7b"},
    )


async def test_deleting_a_missing_model_is_model_not_found(client: OllamaClient) -> None:
    with pytest.raises(ModelNotFound) as failure:
        await client.delete("gemma3:1b")
    assert failure.value.model == "gemma3:1b"
    assert_one_line(failure.value)


def test_fake_delete_and_pull_wire_shapes(fake_ollama: FakeOllama) -> None:
    with httpx.Client(base_url=fake_ollama.url) as http:
        deleted = http.request("DELETE", "/api/delete", json={"model": "mistral:7b"})
        assert (deleted.status_code, deleted.content) == (200, b"")
        assert "content-type" not in deleted.headers
        assert deleted.headers["content-length"] == "0"
        wrong = http.post("/api/delete", json={"model": "llama3.2"})
        assert (wrong.status_code, wrong.headers["allow"], wrong.text) == (
            405,
            "DELETE",
            "405 method not allowed",
        )
        empty = http.request("DELETE", "/api/delete", json={"model": ""})
        assert (empty.status_code, empty.json()) == (400, {"error": "model is required"})

        quiet = http.post("/api/pull", json={"model": "gemma3:1b", "stream": False})
        assert (quiet.headers["content-type"], quiet.json()) == (
            "application/json",
            {"status": "success"},
        )
        missing = http.post("/api/pull", json={"model": "nope:1b", "stream": False})
        assert (missing.status_code, missing.headers["content-type"]) == (500, "application/json")
        assert missing.json() == {"error": UNKNOWN_MANIFEST}
        streamed = http.post("/api/pull", json={"model": "nope:1b"})
        assert streamed.headers["content-type"] == "application/x-ndjson"
        assert streamed.text == (
            '{"status":"pulling manifest"}\n{"error":"pull model manifest: file does not exist"}\n'
        )


# --------------------------------------------------------------------------- ps and unload


async def test_ps_lists_loaded_models_with_memory_and_expiry(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    fake_ollama.frozen_clock_ns = FROZEN_NS
    assert await client.ps() == []
    [done] = [event async for event in client.chat("llama3.2", [], keep_alive="10m")]
    assert done.done_reason == "load"
    [done] = [event async for event in client.chat("mistral:7b", [])]

    running = await client.ps()
    assert running == [
        RunningModel(
            name="llama3.2:latest",
            size=2019393189,
            size_vram=2019393189,
            expires_at=go_time(FROZEN_NS + 600 * 10**9, utc=False),
            context_length=4096,
        ),
        RunningModel(
            name="mistral:7b",
            size=4113301824,
            size_vram=4113301824,
            expires_at=go_time(FROZEN_NS + 300 * 10**9, utc=False),
            context_length=4096,
        ),
    ]


async def test_unload_frees_the_model_at_once(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    [_ async for _ in client.chat("llama3.2", [])]
    await client.unload("llama3.2:latest")
    assert await client.ps() == []
    assert fake_ollama.chat_requests()[-1] == {
        "model": "llama3.2:latest",
        "messages": [],
        "keep_alive": 0,
    }


async def test_unloading_an_unknown_model_is_model_not_found(client: OllamaClient) -> None:
    with pytest.raises(ModelNotFound):
        await client.unload("gemma3:1b")


# --------------------------------------------------------------------------- chat_once


async def test_chat_once_returns_the_whole_reply_with_stats(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    fake_ollama.queue_reply("A short \x1b]0;title\x07summary.", thinking="Let me think.")
    reply = await client.chat_once(
        "qwen3:0.6b", HELLO, options={"temperature": 0}, think=True, keep_alive="1m"
    )
    assert reply.content == "A short ]0;titlesummary."
    assert reply.thinking == "Let me think."
    assert reply.done_reason == "stop"
    assert reply.stats.eval_count == len(tokenize("Let me think.")) + len(
        tokenize("A short \x1b]0;title\x07summary.")
    )
    assert fake_ollama.chat_requests()[-1] == {
        "model": "qwen3:0.6b",
        "messages": HELLO,
        "stream": False,
        "options": {"temperature": 0},
        "think": True,
        "keep_alive": "1m",
    }


async def test_chat_once_without_thinking(client: OllamaClient) -> None:
    reply = await client.chat_once("llama3.2", HELLO)
    assert "> Why is the sky blue?" in reply.content
    assert reply.thinking == ""


@pytest.mark.parametrize(
    ("status", "error_type"), [(500, ServerError), (503, ServerBusy), (400, RequestRejected)]
)
async def test_chat_once_maps_http_errors(
    client: OllamaClient, fake_ollama: FakeOllama, status: int, error_type: type[OllamaError]
) -> None:
    fake_ollama.queue_reply(status=status)
    with pytest.raises(error_type) as failure:
        await client.chat_once("llama3.2", HELLO)
    assert_one_line(failure.value)


async def test_chat_once_unknown_model(client: OllamaClient) -> None:
    with pytest.raises(ModelNotFound):
        await client.chat_once("gemma3:1b", HELLO)


async def test_chat_once_dropped_connection_is_broken(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    fake_ollama.queue_reply("never", fault="drop")
    with pytest.raises(StreamBroken) as failure:
        await client.chat_once("llama3.2", HELLO)
    assert failure.value.kind == "dropped"


async def test_cancelling_chat_once_closes_the_connection(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    release = fake_ollama.hold()
    task = asyncio.create_task(client.chat_once("llama3.2", HELLO))
    await fake_ollama.wait_for_requests_async("/api/chat", 1)
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await fake_ollama.wait_until_async(lambda: fake_ollama.streams_cancelled == 1)
    release.set()
