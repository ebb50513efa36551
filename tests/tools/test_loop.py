"""The tool loop of a reply, against the fake Ollama and the test MCP server: consent,
results going back, the round limit, stopping, a dying server, saving and reopening."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from ollama_tui.chat.conversation import Conversation, MessageState, Role
from ollama_tui.chat.export import to_json, to_markdown
from ollama_tui.chat.store import ConversationStore
from ollama_tui.chat.tools import REFUSED_TEXT, ROUND_LIMIT_TEXT, STOPPED_TEXT, Decision, ToolCall
from ollama_tui.ollama import OllamaClient
from ollama_tui.tools.loop import ToolRounds, reply_with_tools, streamer
from ollama_tui.tools.servers import ToolServers
from ollama_tui.tools.settings import ToolSettings
from tests.fake_ollama import FakeOllama


class Consent:
    """Answers the consent questions from a script, and records them."""

    def __init__(self, *answers: Decision) -> None:
        self.answers = list(answers)
        self.asked: list[ToolCall] = []
        self.waiting = asyncio.Event()

    async def __call__(self, call: ToolCall, description: str) -> Decision:
        self.asked.append(call)
        if not self.answers:  # nobody answers: the user is thinking (or about to press escape)
            self.waiting.set()
            await asyncio.Event().wait()
        return self.answers.pop(0)


def conversation_asking(text: str, tools: tuple[str, ...] = ("toolbox",)) -> Conversation:
    conversation = Conversation(model="llama3.2:latest", tools=list(tools))
    conversation.add_user_message(text)
    return conversation


async def run(
    client: OllamaClient,
    conversation: Conversation,
    servers: ToolServers,
    consent: Consent,
    settings: ToolSettings | None = None,
    capabilities: tuple[str, ...] = ("completion", "tools"),
) -> list[str]:
    notes: list[str] = []
    rounds = ToolRounds(
        conversation, servers, settings or ToolSettings(), consent=consent, notify=notes.append
    )
    await rounds.prepare(capabilities)
    await reply_with_tools(conversation, rounds, streamer(client, conversation))
    return notes


def shape(conversation: Conversation) -> list[tuple[str, str]]:
    return [(m.role.value, m.content) for m in conversation.messages]


async def test_a_call_run_once_goes_back_and_the_model_answers(
    client: OllamaClient, fake_ollama: FakeOllama, servers: ToolServers
) -> None:
    fake_ollama.queue_reply(tool_calls=[("echo", {"text": "hi"})])
    conversation = conversation_asking("Echo hi.")
    consent = Consent(Decision.ONCE)
    await run(client, conversation, servers, consent)

    assert [call.arguments for call in consent.asked] == [{"text": "hi"}]
    _, calling, result, answer = conversation.messages
    assert calling.tool_calls[0].decision is Decision.ONCE
    assert calling.tool_calls[0].server == "toolbox"
    assert (result.role, result.content, result.tool_name) == (Role.TOOL, "echo: hi", "echo")
    assert "The tool `echo` answered:\n\n> echo: hi" in answer.content
    assert answer.state is MessageState.COMPLETE
    first, second = fake_ollama.chat_requests()
    assert [tool["function"]["name"] for tool in first["tools"]] == [
        "echo",
        "add",
        "fail",
        "hang",
        "big",
        "die",
    ]
    call_id = calling.tool_calls[0].id
    assert second["messages"][1:] == [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": call_id,
                    "function": {"index": 0, "name": "echo", "arguments": {"text": "hi"}},
                }
            ],
        },
        {"role": "tool", "content": "echo: hi", "tool_name": "echo", "tool_call_id": call_id},
    ]


async def test_a_refused_call_does_not_run_and_the_model_is_told(
    client: OllamaClient, fake_ollama: FakeOllama, servers: ToolServers
) -> None:
    fake_ollama.queue_reply(tool_calls=[("die", {})])  # would kill the server if it ran
    conversation = conversation_asking("Crash it.")
    await run(client, conversation, servers, Consent(Decision.REFUSED))
    calling, result = conversation.messages[1:3]
    assert calling.tool_calls[0].decision is Decision.REFUSED
    assert result.content == REFUSED_TEXT
    assert fake_ollama.chat_requests()[-1]["messages"][-1]["content"] == REFUSED_TEXT
    specs, _ = await servers.tools(["toolbox"])
    echo = next(spec for spec in specs if spec.name == "echo")
    assert (await servers.call(echo, {"text": "x"})).text == "echo: x"  # the server never died


async def test_always_allows_the_tool_for_the_rest_of_the_conversation(
    client: OllamaClient, fake_ollama: FakeOllama, servers: ToolServers
) -> None:
    fake_ollama.queue_reply(tool_calls=[("echo", {"text": "one"})])
    fake_ollama.queue_reply(tool_calls=[("echo", {"text": "two"}), ("add", {"a": 1, "b": 2})])
    conversation = conversation_asking("Echo twice.")
    consent = Consent(Decision.ALWAYS, Decision.ONCE)
    await run(client, conversation, servers, consent)

    assert [call.name for call in consent.asked] == ["echo", "add"]  # echo asked once only
    assert conversation.always_allowed == ["echo"]
    decisions = [c.decision for m in conversation.messages for c in m.tool_calls]
    assert decisions == [Decision.ALWAYS, Decision.ALLOWED, Decision.ONCE]
    results = [m.content for m in conversation.messages if m.role is Role.TOOL]
    assert results == ["echo: one", "echo: two", "3"]


async def test_the_round_limit_ends_the_loop_with_every_call_answered(
    client: OllamaClient, fake_ollama: FakeOllama, servers: ToolServers
) -> None:
    for number in range(3):
        fake_ollama.queue_reply(tool_calls=[("echo", {"text": str(number)})])
    conversation = conversation_asking("Loop forever.", tools=("toolbox",))
    conversation.allow_always("echo")
    notes = await run(client, conversation, servers, Consent(), ToolSettings(max_rounds=2))
    assert notes == ["stopped after 2 rounds of tool calls (tools.max_rounds)"]
    assert len(fake_ollama.chat_requests()) == 3
    last_calls, last_result = conversation.messages[-2:]
    assert last_calls.tool_calls[0].decision is Decision.NOT_RUN
    assert last_result.content == ROUND_LIMIT_TEXT


async def test_errors_and_huge_results_go_back_as_results(
    client: OllamaClient, fake_ollama: FakeOllama, servers: ToolServers
) -> None:
    fake_ollama.queue_reply(tool_calls=[("fail", {"reason": "disk full"}), ("big", {})])
    conversation = conversation_asking("Try both.")
    await run(client, conversation, servers, Consent(Decision.ONCE, Decision.ONCE))
    failed, big = [m for m in conversation.messages if m.role is Role.TOOL]
    assert failed.state is MessageState.FAILED and failed.error
    assert failed.content.startswith("Error executing tool fail")
    assert len(big.content.encode()) < 33 * 1024
    assert big.content.endswith("[cut: the result was 1,048,576 bytes; the first 32,768 are kept]")
    sent = fake_ollama.chat_requests()[-1]["messages"]
    assert sent[-1]["content"] == big.content


async def test_a_dying_server_is_a_failed_result_and_the_reply_goes_on(
    client: OllamaClient, fake_ollama: FakeOllama, servers: ToolServers
) -> None:
    fake_ollama.queue_reply(tool_calls=[("die", {})])
    fake_ollama.queue_reply(tool_calls=[("echo", {"text": "back"})])
    conversation = conversation_asking("Die, then echo.")
    conversation.always_allowed = ["die", "echo"]
    await run(client, conversation, servers, Consent())
    died, echoed = [m for m in conversation.messages if m.role is Role.TOOL]
    assert died.content.startswith("the MCP server toolbox stopped during the call")
    assert echoed.content == "echo: back"
    assert conversation.messages[-1].state is MessageState.COMPLETE


async def test_stopping_while_asking_keeps_the_calls_answered_as_stopped(
    client: OllamaClient, fake_ollama: FakeOllama, servers: ToolServers
) -> None:
    fake_ollama.queue_reply(tool_calls=[("echo", {"text": "a"}), ("add", {"a": 1, "b": 1})])
    conversation = conversation_asking("Two calls.")
    consent = Consent()
    task = asyncio.create_task(run(client, conversation, servers, consent))
    await asyncio.wait_for(consent.waiting.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    calling = conversation.messages[1]
    assert [call.decision for call in calling.tool_calls] == [Decision.STOPPED] * 2
    assert [m.content for m in conversation.messages[2:]] == [STOPPED_TEXT] * 2
    assert len(fake_ollama.chat_requests()) == 1


async def test_stopping_a_running_tool(
    client: OllamaClient, fake_ollama: FakeOllama, servers: ToolServers
) -> None:
    fake_ollama.queue_reply(tool_calls=[("hang", {})])
    conversation = conversation_asking("Hang.")
    conversation.allow_always("hang")
    task = asyncio.create_task(run(client, conversation, servers, Consent()))
    await fake_ollama.wait_for_requests_async("/api/chat", 1)
    for _ in range(300):
        if servers._connections.get("toolbox") and conversation.messages[-1].tool_calls:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert conversation.messages[-1].content == STOPPED_TEXT
    assert conversation.messages[-2].tool_calls[0].decision is Decision.STOPPED


async def test_tools_are_not_offered_to_a_model_without_the_capability(
    client: OllamaClient, fake_ollama: FakeOllama, servers: ToolServers
) -> None:
    conversation = conversation_asking("Hi #tool")
    notes = await run(client, conversation, servers, Consent(), capabilities=("completion",))
    assert notes == ["llama3.2:latest cannot call tools; this reply goes without them"]
    assert "tools" not in fake_ollama.chat_requests()[-1]
    assert servers._connections == {}  # no server was started for nothing


async def test_a_server_that_cannot_start_is_one_line_and_the_reply_goes_on(
    client: OllamaClient, fake_ollama: FakeOllama, servers: ToolServers
) -> None:
    conversation = conversation_asking("Hi", tools=("missing",))
    notes = await run(client, conversation, servers, Consent())
    assert len(notes) == 1 and notes[0].startswith("the MCP server missing could not start")
    assert conversation.messages[-1].state is MessageState.COMPLETE


async def test_a_conversation_with_tools_is_saved_reopened_resent_and_exported(
    client: OllamaClient, fake_ollama: FakeOllama, servers: ToolServers, tmp_path: Path
) -> None:
    fake_ollama.queue_reply(tool_calls=[("echo", {"text": "<b>saved</b>"})])
    conversation = conversation_asking("Echo and save.")
    await run(client, conversation, servers, Consent(Decision.ALWAYS))
    store = ConversationStore(tmp_path)
    store.save(conversation)

    reopened = store.load(conversation.id)
    assert reopened.to_dict() == conversation.to_dict()
    assert reopened.always_allowed == ["echo"] and reopened.tools == ["toolbox"]
    assert reopened.messages[1].tool_calls[0].decision is Decision.ALWAYS
    reopened.add_user_message("And again?")
    sent = fake_ollama.chat_requests()[-1]["messages"]
    assert reopened.request_messages()[: len(sent)] == sent  # resent exactly as before

    markdown = to_markdown(reopened)
    assert "Called `echo` (always allowed)" in markdown
    assert '"text": "<b>saved</b>"' in markdown
    assert "Result of `echo`" in markdown
    exported = json.loads(to_json(reopened))
    assert exported["messages"][2]["role"] == "tool"
    assert exported["messages"][1]["tool_calls"][0]["decision"] == "always"
