"""Working with conversations: rename, duplicate, and thinking models."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Collapsible, Input, Select

from ollama_tui.chat.conversation import MessageState
from ollama_tui.chat.store import ConversationStore
from ollama_tui.ui.screens.text_prompt import TextPromptScreen
from ollama_tui.ui.widgets.message_view import MessageView
from tests.fake_ollama import FakeOllama
from tests.ui.conftest import MakeApp, connected, run_command, send, settle, wait_until


async def test_rename_with_f2(fake_ollama: FakeOllama, build_app: MakeApp, data_dir: Path) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "a title nobody wants")
        await settle(pilot, app)
        await pilot.press("f2")
        await wait_until(pilot, lambda: isinstance(app.screen, TextPromptScreen))
        await pilot.press("ctrl+u", *"Tides and moons", "enter")
        await wait_until(pilot, lambda: app.chat.conversation.title == "Tides and moons")
        option = app.chat.sidebar.get_option(app.chat.sidebar.conversation_ids()[0])
        assert str(option.prompt).startswith("Tides and moons")
    (summary,) = ConversationStore(data_dir).list()
    assert summary.title == "Tides and moons"


async def test_duplicate_from_the_palette(
    fake_ollama: FakeOllama, build_app: MakeApp, data_dir: Path
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "the original")
        await settle(pilot, app)
        original = app.chat.conversation
        await run_command(pilot, app, "Duplicate conversation")
        await wait_until(pilot, lambda: app.chat.conversation.id != original.id)
        assert app.chat.conversation.title == "the original (copy)"
        assert [m.content for m in app.chat.conversation.messages] == [
            m.content for m in original.messages
        ]
    titles = sorted(s.title for s in ConversationStore(data_dir).list())
    assert titles == ["the original", "the original (copy)"]


async def test_thinking_streams_into_a_block_that_folds_when_the_answer_starts(
    fake_ollama: FakeOllama, build_app: MakeApp, data_dir: Path
) -> None:
    fake_ollama.queue_reply("The answer is 4.", thinking="Two plus two. Count: three, four.")
    app = build_app(fake_ollama.url, model="qwen3:0.6b")
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        think = app.query_one("#think-select", Select)
        await wait_until(pilot, lambda: think.display)
        await send(pilot, app, "2+2?")
        await settle(pilot, app)

        reply = app.chat.conversation.messages[-1]
        assert reply.state is MessageState.COMPLETE
        assert reply.thinking == "Two plus two. Count: three, four."
        assert reply.content == "The answer is 4."
        view = app.chat.message_list.view_of(reply)
        assert isinstance(view, MessageView)
        block = view.query_one(Collapsible)
        assert block.display and block.collapsed
        assert "think" not in fake_ollama.chat_requests()[-1]  # model default

        think.value = "off"
        await wait_until(pilot, lambda: app.chat.conversation.think is False)
        await send(pilot, app, "and 3+3?")
        await settle(pilot, app)
        assert fake_ollama.chat_requests()[-1]["think"] is False
        assert app.chat.conversation.messages[-1].thinking == ""

    saved = ConversationStore(data_dir).load(app.chat.conversation.id)
    assert saved.messages[1].thinking == "Two plus two. Count: three, four."
    assert saved.think is False


async def test_no_thinking_switch_for_models_that_cannot_think(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await wait_until(pilot, lambda: app.query_one("#num_ctx-note").display)
        assert not app.query_one("#think-select").display
        await send(pilot, app, "hi")
        await settle(pilot, app)
        assert "think" not in fake_ollama.chat_requests()[-1]


async def test_keep_alive_is_a_conversation_parameter(
    fake_ollama: FakeOllama, build_app: MakeApp, data_dir: Path
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        field = app.query_one("#keep-alive", Input)
        field.focus()
        await pilot.press(*"ten minutes")
        assert app.chat.parameters.invalid_fields == ["Keep loaded"]
        field.value = ""
        await pilot.press(*"10m")
        assert app.chat.parameters.invalid_fields == []
        await send(pilot, app, "hi")
        await settle(pilot, app)
        assert fake_ollama.chat_requests()[-1]["keep_alive"] == "10m"

        field.value = "-1"
        await send(pilot, app, "keep it forever")
        await settle(pilot, app)
        assert fake_ollama.chat_requests()[-1]["keep_alive"] == -1
    assert ConversationStore(data_dir).load(app.chat.conversation.id).keep_alive == "-1"
