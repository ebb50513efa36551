"""Tool calls and structured output through OllamaClient, against the fake Ollama."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ollama_tui.ollama import (
    ChatDone,
    ContentDelta,
    OllamaClient,
    RequestRejected,
    ServerError,
    ToolCall,
    ToolCalls,
)
from ollama_tui.ollama.chat_wire import parse_tool_calls
from tests.fake_ollama import PULLABLE_MODELS, FakeOllama
from tests.test_client import collect

ECHO_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "echo",
        "description": "Say the text back.",
        "parameters": {
            "type": "object",
            "properties": {"text": {"type": "string"}},
            "required": ["text"],
        },
    },
}
ASK = [{"role": "user", "content": "Echo hi, please."}]


async def test_streamed_tool_calls_arrive_whole_as_one_event(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    fake_ollama.queue_reply(tool_calls=[("echo", {"text": "hi"}), ("echo", {"text": "ho"})])
    events = await collect(client.chat("llama3.2", ASK, tools=[ECHO_TOOL]))
    calls = [event for event in events if isinstance(event, ToolCalls)]
    assert len(calls) == 1
    first, second = calls[0].calls
    assert (first.name, first.arguments, first.index) == ("echo", {"text": "hi"}, 0)
    assert (second.arguments, second.index) == ({"text": "ho"}, 1)
    assert first.id.startswith("call_") and len(first.id) == 13
    assert not [event for event in events if isinstance(event, ContentDelta)]
    assert isinstance(events[-1], ChatDone)
    sent = fake_ollama.chat_requests()[-1]
    assert sent["tools"] == [ECHO_TOOL]


async def test_the_trigger_word_calls_the_first_tool_with_arguments_from_its_schema(
    client: OllamaClient,
) -> None:
    asking = [{"role": "user", "content": "try it #tool"}]
    events = await collect(client.chat("llama3.2", asking, tools=[ECHO_TOOL]))
    (calls,) = [event for event in events if isinstance(event, ToolCalls)]
    assert calls.calls[0].name == "echo"
    assert calls.calls[0].arguments == {"text": "example"}


async def test_no_tool_calls_without_tools_offered(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    fake_ollama.queue_reply("Plain.", tool_calls=[("echo", {"text": "hi"})])
    events = await collect(client.chat("llama3.2", ASK))
    assert not [event for event in events if isinstance(event, ToolCalls)]


async def test_a_whole_reply_carries_its_tool_calls(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    fake_ollama.queue_reply(tool_calls=[("echo", {"text": "hi"})])
    body = await client._request(
        "POST",
        "/api/chat",
        body={"model": "llama3.2", "messages": ASK, "stream": False, "tools": [ECHO_TOOL]},
    )
    assert parse_tool_calls(body["message"]["tool_calls"])[0].arguments == {"text": "hi"}


async def test_tool_results_go_back_and_the_model_continues(client: OllamaClient) -> None:
    history = [
        *ASK,
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"index": 0, "name": "echo", "arguments": {"text": "hi"}}}],
        },
        {"role": "tool", "content": "echo: hi", "tool_name": "echo"},
    ]
    events = await collect(client.chat("llama3.2", history, tools=[ECHO_TOOL]))
    text = "".join(e.text for e in events if isinstance(e, ContentDelta))
    assert "The tool `echo` answered:" in text and "> echo: hi" in text


async def test_arguments_must_be_an_object_in_the_history(client: OllamaClient) -> None:
    history = [
        *ASK,
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "echo", "arguments": '{"text": "hi"}'}}],
        },
    ]
    with pytest.raises(RequestRejected) as failure:
        await collect(client.chat("llama3.2", history))
    assert "ToolCallFunctionArguments" in str(failure.value)


async def test_tools_for_a_model_without_the_capability_are_refused() -> None:
    gemma = [model for model in PULLABLE_MODELS if model.name == "gemma3:1b"]
    with FakeOllama(models=gemma) as server:
        async with OllamaClient(server.url) as client:
            with pytest.raises(RequestRejected) as failure:
                await collect(client.chat("gemma3:1b", ASK, tools=[ECHO_TOOL]))
    assert "library/gemma3:1b does not support tools" in str(failure.value)


async def test_format_json_answers_json(client: OllamaClient) -> None:
    reply = await client.chat_once("llama3.2", ASK, format="json")
    assert json.loads(reply.content)["said"] == "Echo hi, please."
    assert json.loads(reply.content)["model"] == "llama3.2"


async def test_a_schema_format_gets_an_answer_that_follows_its_properties(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "population": {"type": "integer"},
            "coastal": {"type": "boolean"},
            "size": {"enum": ["small", "large"]},
            "districts": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["city"],
    }
    events = await collect(client.chat("llama3.2", ASK, format=schema))
    text = "".join(e.text for e in events if isinstance(e, ContentDelta))
    assert json.loads(text) == {
        "city": "example",
        "population": 42,
        "coastal": True,
        "size": "small",
        "districts": ["example"],
    }
    assert fake_ollama.chat_requests()[-1]["format"] == schema


async def test_an_invalid_format_is_the_servers_500(client: OllamaClient) -> None:
    with pytest.raises(ServerError) as failure:
        await collect(client.chat("llama3.2", ASK, format="xml"))
    assert 'expected "json" or a valid JSON Schema object' in str(failure.value)


def test_parse_tool_calls_reads_string_arguments_and_skips_nameless_calls() -> None:
    calls = parse_tool_calls(
        [
            {"function": {"name": "a", "arguments": '{"x": 1}'}},
            {"function": {"arguments": {}}},
            {"function": {"name": "\x07b", "arguments": "not json"}},
            "junk",
        ]
    )
    assert calls == (ToolCall("a", {"x": 1}), ToolCall("b", {}))
