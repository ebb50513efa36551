"""Tool calls, folded results, the consent dialog and structured replies on screen."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from ollama_tui.chat.conversation import Conversation, Message, MessageState, Role
from ollama_tui.chat.store import ConversationStore
from ollama_tui.chat.tools import Decision, ToolCall
from ollama_tui.ui.app import OllamaTUI
from ollama_tui.ui.screens.tool_consent import ToolConsentScreen
from ollama_tui.ui.widgets.tool_views import StructuredReply, ToolCallsView, ToolResultView
from tests.fake_ollama import FakeOllama
from tests.ui.conftest import MakeApp, wait_until
from tests.ui.test_snapshots import SIZE, ready

STAMP = "2026-01-02T09:15:00.000+00:00"


@pytest.fixture
def server() -> Iterator[FakeOllama]:
    with FakeOllama() as fake:
        yield fake


WEATHER = ToolCall(
    "get_weather",
    {"city": "Tokyo", "units": "metric", "note": "[bold]not markup[/bold]"},
    id="call_ab12cd34",
    index=0,
    server="weather",
    decision=Decision.ONCE,
)


def tool_conversation() -> Conversation:
    """A question, a reply that called a tool, the tool's result, and the answer."""
    conversation = Conversation(
        id="tools000000001",
        title="Weather in Tokyo",
        model="llama3.2:latest",
        tools=["weather"],
        created_at=STAMP,
        updated_at=STAMP,
    )
    conversation.messages = [
        Message(Role.USER, "What is the weather in Tokyo?", id="u1", created_at=STAMP),
        Message(
            Role.ASSISTANT,
            "",
            model="llama3.2:latest",
            tool_calls=[WEATHER],
            id="a1",
            created_at=STAMP,
        ),
        Message(
            Role.TOOL,
            '{"temperature": 18, "sky": "clear", "wind": "[link=x]3 m/s[/link]"}',
            tool_name="get_weather",
            tool_call_id="call_ab12cd34",
            id="t1",
            created_at=STAMP,
        ),
        Message(
            Role.ASSISTANT,
            "It is **18 °C** and clear in Tokyo.",
            model="llama3.2:latest",
            id="a2",
            created_at=STAMP,
        ),
    ]
    return conversation


async def open_conversation(pilot: Pilot[None], conversation_id: str) -> OllamaTUI:
    await ready(pilot)
    await pilot.press("ctrl+b", "enter")
    app = pilot.app
    assert isinstance(app, OllamaTUI)
    await wait_until(pilot, lambda: app.chat.conversation.id == conversation_id)
    await wait_until(pilot, lambda: bool(app.query(ToolResultView) or app.query(StructuredReply)))
    await pilot.pause()
    return app


@pytest.mark.usefixtures("list_clock")
def test_a_message_with_a_tool_call_and_its_folded_result(
    snap_compare: Callable[..., bool], server: FakeOllama, build_app: MakeApp, data_dir: Path
) -> None:
    ConversationStore(data_dir).save(tool_conversation())

    async def open_it(pilot: Pilot[None]) -> None:
        app = await open_conversation(pilot, "tools000000001")
        app.chat.prompt.focus()
        await pilot.pause()

    assert snap_compare(build_app(server.url), terminal_size=SIZE, run_before=open_it)


def test_the_consent_dialog(
    snap_compare: Callable[..., bool], server: FakeOllama, build_app: MakeApp
) -> None:
    async def ask(pilot: Pilot[None]) -> None:
        await ready(pilot)
        call = ToolCall("get_weather", WEATHER.arguments, id="call_ab12cd34")
        description = "Current weather for a city."
        pilot.app.push_screen(ToolConsentScreen(call, server="weather", description=description))
        await pilot.pause()

    assert snap_compare(build_app(server.url), terminal_size=SIZE, run_before=ask)


@pytest.mark.parametrize(
    ("keys", "decision"),
    [
        (("y",), Decision.ONCE),
        (("a",), Decision.ALWAYS),
        (("n",), Decision.REFUSED),
        (("escape",), Decision.REFUSED),
        (("enter",), Decision.REFUSED),  # the focus starts on Refuse
    ],
)
async def test_the_consent_keys(
    server: FakeOllama, build_app: MakeApp, keys: tuple[str, ...], decision: Decision
) -> None:
    app = build_app(server.url)
    answers: list[Decision | None] = []
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.push_screen(ToolConsentScreen(WEATHER, server="weather"), answers.append)
        await pilot.pause()
        shown = app.screen.query_one("#consent-arguments Static", Static)
        assert "[bold]not markup[/bold]" in str(shown.render())
        await pilot.press(*keys)
        await wait_until(pilot, lambda: bool(answers))
    assert answers == [decision]


async def test_results_are_folded_and_open_on_enter(
    server: FakeOllama, build_app: MakeApp, data_dir: Path
) -> None:
    ConversationStore(data_dir).save(tool_conversation())
    app = build_app(server.url)
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, "tools000000001")
        result = app.query_one(ToolResultView)
        assert result.collapsed and result.title == "Result · 67 bytes"
        calls = app.query_one(ToolCallsView)
        assert "run once" in str(calls.query_one(".tool-call", Static).render())
        result.query_one("CollapsibleTitle").focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: not result.collapsed)
        text = str(result.query_one(".tool-result-text", Static).render())
        assert "[link=x]3 m/s[/link]" in text


async def test_a_structured_reply_is_json_and_says_where_it_breaks_the_schema(
    server: FakeOllama, build_app: MakeApp, data_dir: Path
) -> None:
    conversation = Conversation(
        id="format00000001",
        model="llama3.2:latest",
        format={"type": "object", "properties": {"age": {"type": "integer"}}},
        created_at=STAMP,
        updated_at=STAMP,
    )
    conversation.messages = [
        Message(Role.USER, "How old?", id="u1", created_at=STAMP),
        Message(
            Role.ASSISTANT,
            '{"age": "forty"}',
            model="llama3.2:latest",
            state=MessageState.COMPLETE,
            id="a1",
            created_at=STAMP,
        ),
    ]
    ConversationStore(data_dir).save(conversation)
    app = build_app(server.url)
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, "format00000001")
        reply = app.query_one(StructuredReply)
        assert '"age": "forty"' in str(reply.query_one(".structured-json", Static).render())
        problem = str(reply.query_one(".structured-problem", Static).render())
        assert problem == (
            "⚠ the reply does not match the schema at $.age: 'forty' is not of type 'integer'"
        )
