"""OllamaClient against the fake Ollama over real loopback TCP: events, errors, timeouts."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from ollama_tui.ollama import (
    ChatDone,
    ChatEvent,
    ContentDelta,
    ModelDetails,
    ModelNotFound,
    OllamaClient,
    OllamaError,
    ReplyStats,
    RequestRejected,
    ServerBusy,
    ServerError,
    Stalled,
    StreamBroken,
    StreamError,
    ThinkingDelta,
    Unreachable,
)
from tests.fake_ollama import HUGE_DELTA, MIDSTREAM_ERROR, FakeOllama, tokenize

HELLO = [{"role": "user", "content": "Why is the sky blue?"}]


async def collect(stream: AsyncIterator[ChatEvent]) -> list[ChatEvent]:
    return [event async for event in stream]


async def collect_until_error(
    stream: AsyncIterator[ChatEvent],
) -> tuple[list[ChatEvent], OllamaError]:
    """The events received before the stream failed, and the error."""
    events: list[ChatEvent] = []
    with pytest.raises(OllamaError) as failure:
        async for event in stream:
            events.append(event)
    return events, failure.value


def content(events: list[ChatEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, ContentDelta))


def thinking(events: list[ChatEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, ThinkingDelta))


def assert_one_line(error: OllamaError) -> None:
    text = str(error)
    assert text == error.message
    assert "\n" not in text and "\x1b" not in text and "\x07" not in text


@asynccontextmanager
async def raw_server(chunks: list[bytes]) -> AsyncIterator[str]:
    """A loopback server answering one request with `chunks` as HTTP chunks, byte for byte."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"(?i)content-length: *(\d+)", head)
        await reader.readexactly(int(length.group(1)) if length else 0)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )
        for chunk in chunks:
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
            await asyncio.sleep(0.01)
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    async with server:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


# --------------------------------------------------------------------------- normal replies


async def test_stream_yields_deltas_then_done_with_stats(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    text = "The sky is blue because of Rayleigh scattering."
    fake_ollama.queue_reply(text)

    events = await collect(client.chat("llama3.2", HELLO))

    *deltas, done = events
    assert all(isinstance(e, ContentDelta) for e in deltas)
    assert [e.text for e in deltas] == tokenize(text)
    assert isinstance(done, ChatDone)
    assert done.done_reason == "stop"
    stats = done.stats
    assert stats.eval_count == len(tokenize(text))
    assert stats.prompt_eval_count == len(HELLO[0]["content"]) // 4
    assert stats.total_duration and stats.load_duration and stats.prompt_eval_duration
    assert stats.eval_duration
    assert stats.tokens_per_second == pytest.approx(stats.eval_count / stats.eval_duration * 1e9)
    assert set(stats.to_dict()) == {
        "total_duration",
        "load_duration",
        "prompt_eval_count",
        "prompt_eval_duration",
        "eval_count",
        "eval_duration",
    }


async def test_default_reply_reports_model_history_and_last_message(
    client: OllamaClient,
) -> None:
    history = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "second question"},
    ]
    text = content(await collect(client.chat("Llama3.2", history)))
    assert "`Llama3.2`" in text
    assert "4 messages (2 from you)" in text
    assert "> second question" in text


async def test_thinking_arrives_before_content(client: OllamaClient) -> None:
    events = await collect(client.chat("qwen3:0.6b", HELLO))

    kinds = [type(e) for e in events]
    first_content = kinds.index(ContentDelta)
    assert ThinkingDelta in kinds[:first_content]
    assert ThinkingDelta not in kinds[first_content:]
    assert thinking(events).startswith("The user sent 1 message.")
    assert isinstance(events[-1], ChatDone)


async def test_think_false_gives_plain_content(client: OllamaClient) -> None:
    events = await collect(client.chat("qwen3:0.6b", HELLO, think=False))
    assert not thinking(events)
    assert "Why is the sky blue?" in content(events)


async def test_text_riding_on_the_done_line_comes_before_done(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    fake_ollama.queue_reply("All of it, to the last word.", fault="text_in_done")
    events = await collect(client.chat("llama3.2", HELLO))
    assert content(events) == "All of it, to the last word."
    assert events[-2] == ContentDelta(tokenize("All of it, to the last word.")[-1])
    assert isinstance(events[-1], ChatDone)


async def test_load_answer_is_a_single_done(client: OllamaClient) -> None:
    events = await collect(client.chat("llama3.2", []))
    assert events == [ChatDone(done_reason="load", stats=ReplyStats())]


async def test_num_predict_stops_with_length(client: OllamaClient) -> None:
    events = await collect(client.chat("llama3.2", HELLO, options={"num_predict": 5}))
    done = events[-1]
    assert isinstance(done, ChatDone)
    assert done.done_reason == "length"
    assert done.stats.eval_count == 5
    assert len(events) == 6


# --------------------------------------------------------------------------- framing


async def test_utf8_split_across_chunks_and_lines_sharing_a_chunk(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    text = "Ünïcödé: 日本語のテキスト, русский, emoji 🦙🚀✨, Ελληνικά — done."
    fake_ollama.queue_reply(text, fault="split_utf8")
    events = await collect(client.chat("llama3.2", HELLO))
    assert content(events) == text
    assert isinstance(events[-1], ChatDone)


async def test_a_one_mebibyte_line_arrives_whole(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    fake_ollama.queue_reply("before and after", fault="huge_line", fault_after=1)
    events = await collect(client.chat("llama3.2", HELLO))
    assert ContentDelta(HUGE_DELTA) in events
    assert content(events) == "befo" + HUGE_DELTA + "re and after"


async def test_whitespace_around_lines_is_allowed_as_by_json_loads() -> None:
    # Lines with CRLF endings, spaces around the object and blank lines, several per chunk.
    chunks = [
        b' {"message":{"role":"assistant","content":"one"},"done":false}\r\n\r\n',
        b'{"message":{"role":"assistant","content":" two"},"done":false}  \n   \n{"done"',
        b':true,"done_reason":"stop","eval_count":2}\r\n',
    ]
    async with raw_server(chunks) as url, OllamaClient(url) as client:
        events = await collect(client.chat("llama3.2", HELLO))
    assert events == [
        ContentDelta("one"),
        ContentDelta(" two"),
        ChatDone(done_reason="stop", stats=ReplyStats(eval_count=2)),
    ]


@pytest.mark.parametrize("gzip", [False, True])
async def test_line_separators_inside_strings_do_not_split_lines(
    client: OllamaClient, fake_ollama: FakeOllama, gzip: bool
) -> None:
    # U+0085 is raw UTF-8 on the wire (Go escapes only U+2028/U+2029); with html_safe off,
    # U+2028 and U+2029 are raw too. httpx's aiter_lines would split on all three.
    # Ollama never compresses, but a proxy in front of it may (the body is read raw only
    # without a Content-Encoding).
    fake_ollama.html_safe = False
    fake_ollama.gzip_streams = gzip
    fake_ollama.queue_reply("one\u2028two\u2029three\u0085four <&>")
    events = await collect(client.chat("llama3.2", HELLO))
    # The C1 control U+0085 is stripped on the way in; everything else survives.
    assert content(events) == "one\u2028two\u2029threefour <&>"
    assert isinstance(events[-1], ChatDone)


async def test_control_characters_in_model_output_are_stripped(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    fake_ollama.queue_reply("a\x1b]52;c;aGk=\x07b \x1b[2J\u202ec\tok\n")
    text = content(await collect(client.chat("llama3.2", HELLO)))
    assert text == "a]52;c;aGk=b [2Jc\tok\n"


# --------------------------------------------------------------------------- broken streams


async def test_error_line_mid_stream_raises_stream_error(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    fake_ollama.queue_reply("one two three four five", fault="error", fault_after=2)
    events, error = await collect_until_error(client.chat("llama3.2", HELLO))
    assert isinstance(error, StreamError)
    assert content(events) == "".join(tokenize("one two three four five")[:2])
    assert MIDSTREAM_ERROR in str(error)
    assert str(error).startswith("Ollama stopped the reply with an error: ")
    assert_one_line(error)


async def test_stream_without_done_line_is_broken(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    fake_ollama.queue_reply("one two three", fault="nodone", fault_after=2)
    events, error = await collect_until_error(client.chat("llama3.2", HELLO))
    assert isinstance(error, StreamBroken)
    assert error.kind == "incomplete"
    assert "no done line" in str(error)
    assert len(events) == 2


async def test_dropped_connection_is_broken(client: OllamaClient, fake_ollama: FakeOllama) -> None:
    fake_ollama.queue_reply("one two three", fault="drop", fault_after=2)
    events, error = await collect_until_error(client.chat("llama3.2", HELLO))
    assert isinstance(error, StreamBroken)
    assert error.kind == "dropped"
    assert "dropped mid-reply" in str(error)
    assert len(events) == 2


async def test_server_dying_mid_stream_is_broken(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    fake_ollama.hold(2)
    stream = client.chat("llama3.2", HELLO)
    assert isinstance(await anext(stream), ContentDelta)
    assert isinstance(await anext(stream), ContentDelta)
    fake_ollama.stop()
    with pytest.raises(StreamBroken) as failure:
        await anext(stream)
    assert failure.value.kind == "dropped"


async def test_malformed_line_is_broken(client: OllamaClient, fake_ollama: FakeOllama) -> None:
    fake_ollama.queue_reply("one two three", fault="malformed", fault_after=1)
    events, error = await collect_until_error(client.chat("llama3.2", HELLO))
    assert isinstance(error, StreamBroken)
    assert error.kind == "malformed"
    assert "this line is not JSON" in str(error)
    assert len(events) == 1
    assert_one_line(error)


# --------------------------------------------------------------------------- HTTP errors


async def test_unknown_model_names_model_host_and_fix(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    _, error = await collect_until_error(client.chat("nosuch", HELLO))
    assert isinstance(error, ModelNotFound)
    assert (error.model, error.host) == ("nosuch", fake_ollama.url)
    assert str(error) == (
        f"model 'nosuch' not found on {fake_ollama.url}; pull it with `ollama pull nosuch`"
    )


async def test_bad_request_is_rejected_with_the_server_text(client: OllamaClient) -> None:
    _, error = await collect_until_error(client.chat("llama3.2", HELLO, think=True))
    assert isinstance(error, RequestRejected)
    assert error.status == 400
    assert str(error) == 'Ollama rejected the request (400): "llama3.2" does not support thinking'


async def test_wrong_option_type_is_a_server_error(client: OllamaClient) -> None:
    _, error = await collect_until_error(
        client.chat("llama3.2", HELLO, options={"temperature": "hot"})
    )
    assert isinstance(error, ServerError) and not isinstance(error, ServerBusy)
    assert error.status == 500
    assert 'option "temperature" must be of type float32' in str(error)
    assert_one_line(error)


async def test_runner_crash_with_bare_json_content_type(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    fake_ollama.queue_reply(status=500)
    _, error = await collect_until_error(client.chat("llama3.2", HELLO))
    assert isinstance(error, ServerError)
    assert "model runner has unexpectedly stopped" in str(error)


async def test_busy_server(client: OllamaClient, fake_ollama: FakeOllama) -> None:
    fake_ollama.queue_reply(status=503)
    _, error = await collect_until_error(client.chat("llama3.2", HELLO))
    assert isinstance(error, ServerBusy)
    assert error.status == 503
    assert str(error) == (
        "Ollama is busy (503): server busy, please try again. maximum pending requests "
        "exceeded; try again in a moment"
    )


async def test_control_characters_in_server_errors_are_stripped(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    fake_ollama.queue_reply(status=400, error="bad \x1b[31mthing\x07\nsecond\u202e line")
    _, error = await collect_until_error(client.chat("llama3.2", HELLO))
    assert isinstance(error, RequestRejected)
    assert str(error) == "Ollama rejected the request (400): bad [31mthing second line"
    assert_one_line(error)


async def test_connection_refused_is_unreachable(unused_url: str) -> None:
    async with OllamaClient(unused_url) as client:
        _, error = await collect_until_error(client.chat("llama3.2", HELLO))
        assert isinstance(error, Unreachable)
        assert str(error) == (
            f"cannot reach Ollama at {unused_url} (connection refused); "
            "start it with `ollama serve` or check --host"
        )
        with pytest.raises(Unreachable):
            await client.list_models()


# --------------------------------------------------------------------------- timing


async def test_stall_after_the_first_token(fake_ollama: FakeOllama) -> None:
    fake_ollama.queue_reply("one two three four", fault="stall", fault_after=2)
    async with OllamaClient(fake_ollama.url, stall_timeout=0.3) as client:
        started = time.monotonic()
        events, error = await collect_until_error(client.chat("llama3.2", HELLO))
    assert isinstance(error, Stalled)
    assert time.monotonic() - started < 3
    assert len(events) == 2
    assert str(error) == "no data from Ollama for 0.3 s; the reply was stopped — retry to ask again"
    await fake_ollama.wait_until_async(lambda: fake_ollama.streams_cancelled == 1)


async def test_steady_slow_tokens_are_not_a_stall(fake_ollama: FakeOllama) -> None:
    # Every gap is short of the limit, though the reply as a whole takes longer than it.
    fake_ollama.token_delay = 0.1
    fake_ollama.queue_reply("one two three four five six seven eight nine ten")
    async with OllamaClient(fake_ollama.url, stall_timeout=0.5) as client:
        started = time.monotonic()
        events = await collect(client.chat("llama3.2", HELLO))
    assert time.monotonic() - started > 0.5
    assert content(events) == "one two three four five six seven eight nine ten"
    assert isinstance(events[-1], ChatDone)


async def test_a_slow_consumer_is_not_a_stall(fake_ollama: FakeOllama) -> None:
    # Only time spent waiting for data counts, not time the consumer keeps each event.
    fake_ollama.token_delay = 0.001
    fake_ollama.queue_reply("one two three")
    async with OllamaClient(fake_ollama.url, stall_timeout=0.3) as client:
        events: list[ChatEvent] = []
        async for event in client.chat("llama3.2", HELLO):
            events.append(event)
            if len(events) == 3:
                await asyncio.sleep(0.8)
    assert content(events) == "one two three"
    assert isinstance(events[-1], ChatDone)


async def test_slow_first_token_is_not_a_stall(fake_ollama: FakeOllama) -> None:
    fake_ollama.load_delay = 1.5
    fake_ollama.queue_reply("finally here")
    async with OllamaClient(fake_ollama.url, stall_timeout=0.5) as client:
        events = await collect(client.chat("llama3.2", HELLO))
    assert content(events) == "finally here"
    done = events[-1]
    assert isinstance(done, ChatDone)
    assert done.stats.load_duration is not None and done.stats.load_duration >= 1.5e9


async def test_cancelling_the_consumer_closes_the_connection(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    release = fake_ollama.hold(3)
    received: list[ChatEvent] = []
    three_in = asyncio.Event()

    async def consume() -> None:
        async for event in client.chat("llama3.2", HELLO):
            received.append(event)
            if len(received) == 3:
                three_in.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(three_in.wait(), timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await fake_ollama.wait_until_async(lambda: fake_ollama.streams_cancelled == 1)
    release.set()
    assert len(received) == 3


# --------------------------------------------------------------------------- requests sent


async def test_options_think_and_keep_alive_are_sent_as_given(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    options: dict[str, Any] = {"temperature": 0.2, "num_ctx": 2048, "stop": ["\n\n"]}
    await collect(client.chat("qwen3:0.6b", HELLO, options=options, think="low", keep_alive="10m"))
    await collect(client.chat("llama3.2", HELLO, keep_alive=0))
    sent, plain = fake_ollama.chat_requests()
    assert sent == {
        "model": "qwen3:0.6b",
        "messages": HELLO,
        "stream": True,
        "options": options,
        "think": "low",
        "keep_alive": "10m",
    }
    assert plain == {"model": "llama3.2", "messages": HELLO, "stream": True, "keep_alive": 0}


async def test_none_fields_are_omitted(client: OllamaClient, fake_ollama: FakeOllama) -> None:
    await collect(client.chat("llama3.2", HELLO))
    assert fake_ollama.chat_requests() == [{"model": "llama3.2", "messages": HELLO, "stream": True}]


async def test_custom_headers_are_sent(fake_ollama: FakeOllama) -> None:
    async with OllamaClient(fake_ollama.url + "/", headers={"Authorization": "Bearer k"}) as client:
        assert client.base_url == fake_ollama.url
        await client.version()
    assert fake_ollama.requests[-1].headers["authorization"] == "Bearer k"


# --------------------------------------------------------------------------- other endpoints


async def test_list_models_in_server_order(client: OllamaClient) -> None:
    models = await client.list_models()
    assert [m.name for m in models] == [
        "llama3.2:latest",
        "qwen3:0.6b",
        "mistral:7b",
        "nomic-embed-text:latest",
    ]
    llama = models[0]
    assert (llama.family, llama.parameter_size, llama.quantization) == ("llama", "3.2B", "Q4_K_M")
    assert llama.context_length == 131072
    assert llama.size == 2019393189
    assert llama.capabilities == ("completion", "tools")
    assert llama.modified_at == "2025-06-12T09:14:02.117294823-07:00"


async def test_show_reads_context_length_and_capabilities(client: OllamaClient) -> None:
    qwen = await client.show("qwen3:0.6b")
    assert isinstance(qwen, ModelDetails)
    assert (qwen.name, qwen.family, qwen.context_length) == ("qwen3:0.6b", "qwen3", 40960)
    assert qwen.can_chat and qwen.can_think
    assert "temperature                    0.6" in qwen.parameters.splitlines()
    assert qwen.template.startswith("{{- range .Messages }}")
    assert qwen.license.startswith("Apache License")
    assert qwen.system == ""

    embed = await client.show("nomic-embed-text")
    assert not embed.can_chat and not embed.can_think
    assert embed.context_length == 2048


async def test_show_unknown_model(client: OllamaClient, fake_ollama: FakeOllama) -> None:
    with pytest.raises(ModelNotFound) as failure:
        await client.show("nope")
    assert failure.value.model == "nope"
    assert "ollama pull nope" in str(failure.value)


async def test_version(client: OllamaClient) -> None:
    assert await client.version() == "0.32.15"


# --------------------------------------------------------------------------- value types


def test_reply_stats_from_dict_ignores_unknown_and_non_int() -> None:
    stats = ReplyStats.from_dict(
        {
            "eval_count": 10,
            "eval_duration": 500_000_000,
            "load_duration": "1",
            "done": True,
            "total_duration": True,
        }
    )
    assert stats == ReplyStats(eval_count=10, eval_duration=500_000_000)
    assert stats.tokens_per_second == 20.0
    assert stats.to_dict() == {"eval_count": 10, "eval_duration": 500_000_000}
    assert ReplyStats.from_dict(stats.to_dict()) == stats
    assert ReplyStats(eval_count=10).tokens_per_second is None
    assert ReplyStats(eval_count=10, eval_duration=0).tokens_per_second is None


def test_model_without_capabilities_can_chat() -> None:
    details = ModelDetails("old", None, None, None, None, (), "", "", "", "")
    assert details.can_chat and not details.can_think
