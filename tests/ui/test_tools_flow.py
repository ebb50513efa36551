"""Tools in the app, against the fake Ollama and the test MCP server: the consent dialog's
answers, stopping, the panel's tools and format, and what is saved."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Select, SelectionList, Static, TextArea

from ollama_tui.chat.conversation import MessageState, Role
from ollama_tui.chat.tools import REFUSED_TEXT, STOPPED_TEXT, Decision
from ollama_tui.ui.app import OllamaTUI
from ollama_tui.ui.screens.picker import PickerScreen
from ollama_tui.ui.screens.text_prompt import TextPromptScreen
from ollama_tui.ui.screens.tool_consent import ToolConsentScreen
from ollama_tui.ui.widgets.tool_views import ToolCallsView, ToolResultView
from tests.fake_ollama import FakeOllama
from tests.tools.conftest import TOOLBOX
from tests.ui.conftest import MakeApp, connected, on_disk, send, settle, wait_until

SIZE = (120, 40)


def tool_app(build_app: MakeApp, fake_ollama: FakeOllama) -> OllamaTUI:
    fake_ollama.token_delay = 0.001
    app = build_app(fake_ollama.url, mcp={"toolbox": TOOLBOX})
    app.chat.conversation.tools = ["toolbox"]
    return app


async def consent_asked(pilot: Pilot[None], app: OllamaTUI) -> ToolConsentScreen:
    await wait_until(pilot, lambda: isinstance(app.screen, ToolConsentScreen), timeout=30)
    await pilot.pause()
    assert isinstance(app.screen, ToolConsentScreen)
    return app.screen


async def test_run_once_runs_the_tool_and_the_model_answers(
    build_app: MakeApp, fake_ollama: FakeOllama, data_dir: Path
) -> None:
    fake_ollama.queue_reply(tool_calls=[("echo", {"text": "hello"})])
    app = tool_app(build_app, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "Echo hello, please.")
        screen = await consent_asked(pilot, app)
        assert screen.call.arguments == {"text": "hello"} and screen.server == "toolbox"
        assert screen.description == "Say the text back."
        await pilot.press("y")
        await wait_until(pilot, lambda: len(fake_ollama.chat_requests()) == 2, timeout=30)
        await settle(pilot, app)
        await wait_until(pilot, lambda: bool(app.query(ToolResultView)))
        assert app.query_one(ToolCallsView)
        roles = [m.role for m in app.chat.conversation.messages]
        assert roles == [Role.USER, Role.ASSISTANT, Role.TOOL, Role.ASSISTANT]
        assert "> echo: hello" in app.chat.conversation.messages[-1].content
    saved = on_disk(data_dir)
    assert saved.messages[1].tool_calls[0].decision is Decision.ONCE
    assert saved.messages[2].content == "echo: hello"
    assert saved.messages[-1].state is MessageState.COMPLETE


async def test_refuse_and_always(
    build_app: MakeApp, fake_ollama: FakeOllama, data_dir: Path
) -> None:
    fake_ollama.queue_reply(tool_calls=[("die", {})])
    fake_ollama.queue_reply(tool_calls=[("add", {"a": 2, "b": 3})])
    fake_ollama.queue_reply(tool_calls=[("add", {"a": 1, "b": 1})])
    app = tool_app(build_app, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "Go.")
        await consent_asked(pilot, app)
        await pilot.press("n")  # die refused
        screen = await consent_asked(pilot, app)
        assert screen.call.name == "add"
        await pilot.press("a")  # add always: the next add runs without asking
        await wait_until(pilot, lambda: len(fake_ollama.chat_requests()) == 4, timeout=30)
        await settle(pilot, app)
        assert not isinstance(app.screen, ToolConsentScreen)
    saved = on_disk(data_dir)
    results = [m.content for m in saved.messages if m.role is Role.TOOL]
    assert results == [REFUSED_TEXT, "5", "2"]
    assert saved.always_allowed == ["add"]


async def test_stopping_while_the_dialog_is_up_answers_the_call_as_stopped(
    build_app: MakeApp, fake_ollama: FakeOllama, data_dir: Path
) -> None:
    fake_ollama.queue_reply(tool_calls=[("echo", {"text": "x"})])
    app = tool_app(build_app, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "Echo.")
        await consent_asked(pilot, app)
        app.chat.stop_reply()
        await wait_until(pilot, lambda: app.chat.replies_in_progress == 0)
        await wait_until(pilot, lambda: not isinstance(app.screen, ToolConsentScreen))
    saved = on_disk(data_dir)
    assert saved.messages[-1].content == STOPPED_TEXT
    assert saved.messages[-2].tool_calls[0].decision is Decision.STOPPED
    assert len(fake_ollama.chat_requests()) == 1


async def test_a_model_without_tools_is_told_in_one_line(
    build_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    app = tool_app(build_app, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        note = app.chat.parameters.query_one("#tools-note", Static)
        await wait_until(pilot, lambda: app.chat.parameters.query_one("#tools-list").display)
        assert app.chat.parameters.query_one("#tools-list", SelectionList).selected == ["toolbox"]
        assert not note.display
        app.chat.conversation.model = "nomic-embed-text:latest"
        app.chat._model_changed()
        await wait_until(pilot, lambda: note.display)
        assert "cannot call tools" in str(note.render())
        await send(pilot, app, "Hi")
        await settle(pilot, app)
    assert "tools" not in fake_ollama.chat_requests()[-1]


async def test_the_panel_sets_the_reply_format(
    build_app: MakeApp, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        panel = app.chat.parameters
        await wait_until(pilot, lambda: bool(panel.query("#format-select")))
        panel.query_one("#format-select", Select).value = "json"
        await wait_until(pilot, lambda: app.chat.conversation.format == "json")
        panel.query_one("#format-select", Select).value = "schema"
        await pilot.pause()
        schema_field = panel.query_one("#format-schema", TextArea)
        assert schema_field.display
        schema_field.text = '{"type": "objekt"}'
        note = panel.query_one("#format-note", Static)
        await wait_until(pilot, lambda: "invalid schema at $.type" in str(note.render()))
        assert app.chat.conversation.format == "json"  # an invalid schema is not applied
        schema_file = tmp_path / "city.json"
        schema_file.write_text('{"type": "object", "properties": {"city": {"type": "string"}}}')
        schema_field.text = str(schema_file)
        await wait_until(pilot, lambda: isinstance(app.chat.conversation.format, dict))
        await send(pilot, app, "Where?")
        await settle(pilot, app)
    assert fake_ollama.chat_requests()[-1]["format"]["properties"] == {"city": {"type": "string"}}
    assert app.chat.conversation.messages[-1].content == '{"city": "example"}'


async def test_an_mcp_prompt_goes_into_the_message_being_written(
    build_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    app = tool_app(build_app, fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Insert MCP prompt", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen), timeout=30)
        await pilot.press("enter")  # toolbox/review, the only one
        await wait_until(pilot, lambda: isinstance(app.screen, TextPromptScreen))
        await pilot.press(*"the parser", "enter")
        await wait_until(pilot, lambda: "review" in app.chat.prompt.text, timeout=30)
    assert app.chat.prompt.text == (
        "Please review the parser carefully and list the problems you find."
    )
    assert fake_ollama.chat_requests() == []  # inserted, not sent
