"""Finding old conversations (ctrl+f) and moving them in and out as files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.widgets import Input, OptionList, Static

from ollama_tui.chat.conversation import Conversation, MessageState
from ollama_tui.chat.store import ConversationStore
from ollama_tui.ui.screens import chat_conversations
from ollama_tui.ui.screens.search import SearchScreen
from ollama_tui.ui.screens.text_prompt import TextPromptScreen
from ollama_tui.ui.widgets.message_view import MessageView
from tests.ui.conftest import MakeApp, run_command, wait_until


def library(data_dir: Path) -> Conversation:
    """Three conversations; the long one mentions a volcano far from its end."""
    store = ConversationStore(data_dir)
    for topic in ("bread baking", "tax forms"):
        other = Conversation(model="llama3.2:latest")
        other.add_user_message(f"Tell me about {topic}")
        store.save(other)
    long = Conversation(model="llama3.2:latest")
    for turn in range(60):
        text = "What erupted in 1980? Mount St. Helens, a volcano." if turn == 5 else f"turn {turn}"
        long.add_user_message(text)
        reply = long.start_reply()
        reply.content, reply.state = f"answer {turn}", MessageState.COMPLETE
    store.save(long)
    return long


async def test_search_finds_a_message_and_opens_it_scrolled_to_the_hit(
    unused_url: str, build_app: MakeApp, data_dir: Path
) -> None:
    long = library(data_dir)
    target = long.messages[10]
    app = build_app(unused_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+f")
        await wait_until(pilot, lambda: isinstance(app.screen, SearchScreen))
        await pilot.press(*'"NEAR( AND *')  # hostile syntax is just words
        status = app.screen.query_one("#search-status", Static)
        await wait_until(pilot, lambda: str(status.content) == "no matches")
        assert app.screen.query_one(OptionList).option_count == 0
        assert app.is_running
        app.screen.query_one(Input).value = ""
        await pilot.press(*"volc")
        results = app.screen.query_one(OptionList)
        await wait_until(pilot, lambda: results.option_count >= 1)
        assert "volcano" in str(results.get_option_at_index(0).prompt)
        status = app.screen.query_one("#search-status", Static)
        await wait_until(pilot, lambda: str(status.render()) == "1 match")
        await pilot.press("enter")

        await wait_until(pilot, lambda: app.chat.conversation.id == long.id)
        await wait_until(
            pilot,
            lambda: app.chat.message_list.view_of(app.chat.conversation.messages[10]) is not None,
        )
        view = app.chat.message_list.view_of(app.chat.conversation.messages[10])
        assert isinstance(view, MessageView)
        assert view.message.id == target.id and view.has_class("-found")


async def test_searching_before_the_start_up_sync_starts_it_at_once(
    unused_url: str, build_app: MakeApp, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index is checked against the files a moment after start-up; a search before then
    does not wait for that moment and finds what was saved while the app was closed."""
    monkeypatch.setattr(chat_conversations, "SEARCH_SYNC_DELAY", 3600)
    library(data_dir)
    app = build_app(unused_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+f")
        await wait_until(pilot, lambda: isinstance(app.screen, SearchScreen))
        await pilot.press(*"volcano")
        results = app.screen.query_one(OptionList)
        await wait_until(pilot, lambda: results.option_count >= 1)
        assert "volcano" in str(results.get_option_at_index(0).prompt)


async def test_export_markdown_and_json_then_import(
    unused_url: str, build_app: MakeApp, data_dir: Path, tmp_path: Path
) -> None:
    long = library(data_dir)
    app = build_app(unused_url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("ctrl+b")
        app.chat.sidebar.highlighted = app.chat.sidebar.get_option_index(long.id)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.chat.conversation.id == long.id)

        for kind, name in (("markdown", "out.md"), ("json", "out.json")):
            await run_command(pilot, app, "Export conversation")
            await pilot.press(*kind, "enter")
            await wait_until(pilot, lambda: isinstance(app.screen, TextPromptScreen))
            app.screen.query_one(Input).value = str(tmp_path / name)
            await pilot.press("enter")
            await wait_until(pilot, lambda name=name: (tmp_path / name).exists())

        markdown = (tmp_path / "out.md").read_text()
        assert markdown.startswith(f"# {long.title}\n\n")
        assert markdown.count("\n## You — ") == 60
        assert markdown.count("\n## llama3.2:latest — ") == 60
        assert "\n\nWhat erupted in 1980? Mount St. Helens, a volcano.\n\n" in markdown
        assert markdown.index("\n\nturn 4\n\n") < markdown.index("Mount St.")
        assert markdown.index("Mount St.") < markdown.index("\n\nanswer 59\n")
        exported = json.loads((tmp_path / "out.json").read_text())
        assert exported["id"] == long.id and len(exported["messages"]) == 120

        await run_command(pilot, app, "Import conversation")
        await wait_until(pilot, lambda: isinstance(app.screen, TextPromptScreen))
        app.screen.query_one(Input).value = str(tmp_path / "out.json")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.chat.conversation.id != long.id)
        assert len(app.chat.conversation.messages) == 120
        assert app.chat.sidebar.summary_count == 4
    ids = {summary.id for summary in ConversationStore(data_dir).list()}
    assert long.id in ids and len(ids) == 4  # imported beside the original, not over it
