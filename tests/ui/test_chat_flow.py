"""The main flows, driven through the real app with Pilot against the fake Ollama server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual import events
from textual.widgets import Input, Markdown, Select, Static, TextArea
from textual.widgets._markdown import MarkdownParagraph

from ollama_tui.chat.conversation import Conversation, MemoryStrategy, MessageState, Role
from ollama_tui.chat.store import ConversationStore
from ollama_tui.ui.screens.help import HelpScreen
from ollama_tui.ui.screens.picker import PickerScreen
from ollama_tui.ui.widgets.message_view import MessageView
from ollama_tui.ui.widgets.parameter_panel import ParameterPanel
from ollama_tui.ui.widgets.status_bar import Connection
from tests.fake_ollama import FakeOllama
from tests.ui.conftest import MakeApp, connected, send, settle, wait_until


def saved(data_dir: Path) -> list[Conversation]:
    store = ConversationStore(data_dir)
    return [store.load(summary.id) for summary in store.list()]


async def test_send_streams_the_reply_and_saves_both(
    fake_ollama: FakeOllama, build_app: MakeApp, data_dir: Path
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "Why is the sky blue?")
        await settle(pilot, app)

        user, reply = app.chat.conversation.messages
        assert (user.role, user.content) == (Role.USER, "Why is the sky blue?")
        assert reply.state is MessageState.COMPLETE
        assert reply.model == "llama3.2:latest"
        assert "Why is the sky blue?" in reply.content
        assert reply.stats["eval_count"] > 0
        view = app.chat.message_list.view_of(reply)
        assert view is not None
        assert view.query_one(Markdown).source == reply.content
        assert app.chat.status.speed is not None and app.chat.status.speed > 0
        assert app.chat.sidebar.summary_count == 1

        request = fake_ollama.chat_requests()[-1]
        assert request["model"] == "llama3.2:latest"
        assert request["messages"] == [{"role": "user", "content": "Why is the sky blue?"}]
        assert request.get("stream", True) is True

    (conversation,) = saved(data_dir)
    assert conversation.title == "Why is the sky blue?"
    assert [m.content for m in conversation.messages] == [user.content, reply.content]
    assert conversation.messages[1].state is MessageState.COMPLETE


async def test_whole_history_and_parameters_reach_the_server(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        app.query_one("#system-prompt").focus()
        await pilot.press(*"Answer in French.")
        app.query_one("#temperature", Input).focus()
        await pilot.press("0", ".", "3")
        app.query_one("#num_ctx", Input).focus()
        await pilot.press(*"8192")
        await send(pilot, app, "first question")
        await settle(pilot, app)
        await send(pilot, app, "second question")
        await settle(pilot, app)

        first_reply = app.chat.conversation.messages[1].content
        request = fake_ollama.chat_requests()[-1]
        assert request["messages"] == [
            {"role": "system", "content": "Answer in French."},
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": first_reply},
            {"role": "user", "content": "second question"},
        ]
        assert request["options"] == {"temperature": 0.3, "num_ctx": 8192}
        # The fake's reply counts what it received: the whole history arrived.
        assert "4 messages" in app.chat.conversation.messages[-1].content


async def test_invalid_parameters_are_marked_and_never_sent(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        app.query_one("#temperature", Input).focus()
        await pilot.press("7")
        app.query_one("#num_ctx", Input).focus()
        note = app.query_one("#num_ctx-note", Static)
        await wait_until(pilot, lambda: "131,072" in str(note.render()))
        await pilot.press(*"999999")
        await pilot.pause()

        assert app.chat.parameters.invalid_fields == ["Temperature", "Context"]
        assert "at most 131072 for this model" in str(note.render())
        assert app.query_one("#temperature", Input).has_class("-invalid")
        await send(pilot, app, "hi")
        await settle(pilot, app)

        # Neither invalid value is sent; num_ctx is always sent, here the fallback size.
        assert fake_ollama.chat_requests()[-1]["options"] == {"num_ctx": 4096}
        assert app.chat.conversation.options.temperature is None


async def test_switching_model_mid_conversation(
    fake_ollama: FakeOllama, build_app: MakeApp, config_path: Path, state_path: Path
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "hello llama")
        await settle(pilot, app)

        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press(*"mistr")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.chat.conversation.model == "mistral:7b")
        assert app.chat.status.model == "mistral:7b"

        await send(pilot, app, "hello mistral")
        await settle(pilot, app)

        first_reply, second_reply = (
            app.chat.conversation.messages[1],
            app.chat.conversation.messages[3],
        )
        assert first_reply.model == "llama3.2:latest"
        assert second_reply.model == "mistral:7b"
        assert "mistral:7b" in second_reply.content
        request = fake_ollama.chat_requests()[-1]
        assert request["model"] == "mistral:7b"
        assert [m["content"] for m in request["messages"]] == [
            "hello llama",
            first_reply.content,
            "hello mistral",
        ]
        headers = [str(v.header()) for v in app.query(MessageView)]
        assert any(h.startswith("llama3.2:latest") for h in headers)
        assert any(h.startswith("mistral:7b") for h in headers)
    assert 'model = "mistral:7b"' in state_path.read_text()
    assert not config_path.exists()  # the user's config is only ever read


async def test_new_conversation_and_reopening_after_restart(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "first conversation")
        await settle(pilot, app)
        first = app.chat.conversation
        await pilot.press("ctrl+n")
        assert app.chat.conversation is not first and not app.chat.conversation.messages
        assert not app.query(MessageView)
        await send(pilot, app, "second conversation")
        await settle(pilot, app)
        assert app.chat.sidebar.summary_count == 2
        first_messages = [m.to_dict() for m in first.messages]

    again = build_app(fake_ollama.url)
    async with again.run_test(size=(120, 40)) as pilot:
        assert again.chat.sidebar.summary_count == 2
        await pilot.press("ctrl+b")
        assert again.focused is again.chat.sidebar
        newest = again.chat.sidebar.conversation_ids()[0]
        assert again.chat.sidebar.highlighted_option.id == newest  # highlighted on focus
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: again.chat.conversation.id == first.id)
        assert [m.to_dict() for m in again.chat.conversation.messages] == first_messages
        assert len(again.query(MessageView)) == 2
        assert again.focused is again.chat.prompt


async def test_escape_stops_the_reply_and_keeps_what_arrived(
    fake_ollama: FakeOllama, build_app: MakeApp, data_dir: Path
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        release = fake_ollama.hold(5)
        await send(pilot, app, "tell me a long story")
        reply = app.chat.conversation.messages[-1]
        view = app.chat.message_list.view_of(reply)
        assert view is not None
        await wait_until(pilot, lambda: bool(view.query_one(Markdown).source))
        await pilot.press("escape")
        await settle(pilot, app)
        release.set()

        assert reply.state is MessageState.CANCELLED
        assert reply.content
        assert "stopped" in str(view.header())
        await wait_until(pilot, lambda: fake_ollama.streams_cancelled >= 1)

    (conversation,) = saved(data_dir)
    assert conversation.messages[-1].state is MessageState.CANCELLED
    assert conversation.messages[-1].content == reply.content


async def test_opening_another_conversation_while_a_reply_streams(
    fake_ollama: FakeOllama, build_app: MakeApp, data_dir: Path
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "an older conversation")
        await settle(pilot, app)
        older = app.chat.conversation
        await pilot.press("ctrl+n")

        release = fake_ollama.hold(3)
        await send(pilot, app, "streaming one")
        streaming = app.chat.conversation
        reply = streaming.messages[-1]
        await wait_until(
            pilot,
            lambda: fake_ollama.chat_requests()[-1]["messages"][-1]["content"] == "streaming one",
        )

        async def open_in_sidebar(conversation_id: str) -> None:
            app.chat.sidebar.focus()
            app.chat.sidebar.highlighted = app.chat.sidebar.get_option_index(conversation_id)
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.chat.conversation.id == conversation_id)

        await open_in_sidebar(older.id)
        assert app.chat.message_list.view_of(reply) is None
        assert app.chat.replies_in_progress == 1
        # Back to the streaming conversation while the reply is still held open, then away again.
        await open_in_sidebar(streaming.id)
        assert app.chat.conversation is streaming
        assert app.chat.message_list.view_of(reply) is not None
        await open_in_sidebar(older.id)
        release.set()
        await settle(pilot, app)

        assert reply.state is MessageState.COMPLETE
        assert "streaming one" in reply.content
        assert app.chat.conversation.messages[0].content == "an older conversation"
        assert len(app.chat.conversation.messages) == 2

        await open_in_sidebar(streaming.id)
        (view,) = [v for v in app.query(MessageView) if v.message.id == reply.id]
        assert view.query_one(Markdown).source == reply.content

    by_id = {c.id: c for c in saved(data_dir)}
    assert by_id[streaming.id].messages[-1].content == reply.content
    assert len(by_id[older.id].messages) == 2


async def test_unknown_model_fails_with_a_clear_notice(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    app = build_app(fake_ollama.url, model="nosuch")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "hello?")
        await settle(pilot, app)

        reply = app.chat.conversation.messages[-1]
        assert reply.state is MessageState.FAILED
        assert "model 'nosuch' not found" in (reply.error or "")
        assert "ollama pull nosuch" in (reply.error or "")
        messages = [n.message for n in app._notifications]
        assert any("ollama pull nosuch" in m and "\n" not in m for m in messages)
        assert app.is_running


async def test_starts_without_a_server_and_browses_saved_conversations(
    unused_url: str, build_app: MakeApp, data_dir: Path
) -> None:
    earlier = Conversation(model="llama3.2:latest")
    earlier.add_user_message("saved before")
    reply = earlier.start_reply()
    reply.content, reply.state = "an answer from before", MessageState.COMPLETE
    ConversationStore(data_dir).save(earlier)

    app = build_app(unused_url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await wait_until(pilot, lambda: app.chat.status.connection is Connection.UNREACHABLE)
        assert "unreachable" in str(app.chat.status.render())
        await pilot.press("ctrl+b", "enter")
        await wait_until(pilot, lambda: app.chat.conversation.id == earlier.id)
        assert len(app.query(MessageView)) == 2

        await send(pilot, app, "are you there?")
        await settle(pilot, app)
        unsent = app.chat.conversation.messages[-1]
        assert unsent.content == "are you there?"
        assert unsent.state is MessageState.UNSENT
        assert "cannot reach Ollama" in (unsent.error or "")

    (conversation,) = saved(data_dir)
    assert [m.content for m in conversation.messages][:3] == [
        "saved before",
        "an answer from before",
        "are you there?",
    ]


async def test_panels_toggle_and_remember_it(
    fake_ollama: FakeOllama, build_app: MakeApp, config_path: Path, state_path: Path
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+r")  # as the app starts: the panel's fields may not exist yet
        assert app.chat.parameters.display
        await wait_until(
            pilot, lambda: app.focused is not None and app.chat.parameters in app.focused.ancestors
        )
        await pilot.press("ctrl+r")
        assert not app.chat.parameters.display
        assert app.focused is app.chat.prompt
    assert "show_parameters = false" in state_path.read_text()
    assert not config_path.exists()
    again = build_app(fake_ollama.url)
    async with again.run_test(size=(120, 40)):
        assert not again.chat.parameters.display


async def test_help_lists_every_key(fake_ollama: FakeOllama, build_app: MakeApp) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = " ".join(str(w.render()) for w in app.screen.query("Static"))
        for key in ("enter", "ctrl+j", "escape", "ctrl+n", "ctrl+l", "ctrl+b", "ctrl+r", "f1"):
            assert key in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_model_output_markup_and_escapes_are_inert(
    fake_ollama: FakeOllama, build_app: MakeApp, data_dir: Path
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "show me #markup")
        await settle(pilot, app)
        reply = app.chat.conversation.messages[-1]
        assert reply.state is MessageState.COMPLETE
        assert "[@click=app.quit]" in reply.content
        assert "\x1b" not in reply.content and "\x07" not in reply.content
        assert "\u202e" not in reply.content
        assert app.is_running
    document = json.loads(next((data_dir / "conversations").iterdir()).read_text())
    assert "\x1b" not in document["messages"][1]["content"]


async def test_keys_arriving_in_a_burst_are_sent_in_order(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    """Typing faster than the app drains its queue (a paste, tmux) must not lose the Enter."""
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        app.chat.prompt.focus()
        await pilot.pause()
        for key, character in [
            *((c, c) for c in "first"),
            ("ctrl+j", "\n"),
            *((c, c) for c in "line"),
            ("enter", "\r"),
        ]:
            app.post_message(events.Key(key, character))
        await wait_until(pilot, lambda: len(app.chat.conversation.messages) == 2)
        await settle(pilot, app)
        assert app.chat.conversation.messages[0].content == "first\nline"
        assert app.chat.prompt.text == ""


async def test_keys_rebound_in_the_config_work_and_show_in_help(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    app = build_app(fake_ollama.url, keys={"conversation.new": "f9", "app.help": "f10"})
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "first")
        await settle(pilot, app)
        await pilot.press("ctrl+n")  # no longer bound
        assert app.chat.conversation.messages
        await pilot.press("f9")
        assert not app.chat.conversation.messages
        await pilot.press("f10")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        rows = [str(w.render()) for w in app.screen.query(".help-key")]
        assert "f9" in rows and "f10" in rows and "ctrl+n" not in rows


async def test_status_line_says_what_the_model_is_doing(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        waiting = fake_ollama.hold(0)
        await send(pilot, app, "hello")
        await wait_until(pilot, lambda: app.chat.status.activity == "waiting for llama3.2:latest…")
        waiting.set()
        answering = fake_ollama.hold(3)
        await settle(pilot, app)
        assert app.chat.status.activity == ""
        await send(pilot, app, "again")
        await wait_until(pilot, lambda: app.chat.status.activity == "llama3.2:latest is answering…")
        answering.set()
        await settle(pilot, app)
        assert app.chat.status.activity == ""


async def test_paragraphs_keep_one_blank_line_between_them_while_streaming(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    fake_ollama.queue_reply("First part.\n\nSecond part.\n\nThe end.")
    release = fake_ollama.hold(n=6)
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "Three paragraphs, please")

        def margins() -> list[int]:
            body = app.chat.message_list.query(Markdown).last()
            return [block.styles.margin.bottom for block in body.query(MarkdownParagraph)]

        # Mid-stream the latest paragraph ends the message: no gap under it yet.
        await wait_until(pilot, lambda: len(margins()) == 2)
        assert margins() == [1, 0]
        release.set()
        await settle(pilot, app)
        assert margins() == [1, 1, 0]

        first, second, last = app.chat.message_list.query(Markdown).last().query(MarkdownParagraph)
        assert second.region.y == first.region.bottom + 1
        assert last.region.y == second.region.bottom + 1
        assert last.region.bottom == last.parent.region.bottom  # nothing under the last one


async def test_the_panel_shows_the_new_conversations_settings_from_the_start(
    unused_url: str, build_app: MakeApp, config_path: Path
) -> None:
    # The panel's fields are mounted after the first frame; what the app set before then
    # (the defaults of the new conversation, the model) must be what they show.
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(
        '[defaults]\nsystem_prompt = "Be brief."\nmemory = "window"\n'
        "temperature = 0.3\nnum_ctx = 4096\n"
    )
    app = build_app(unused_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: bool(app.query("#temperature")))
        await pilot.pause()
        assert app.query_one("#temperature", Input).value == "0.3"
        assert app.query_one("#num_ctx", Input).value == "4096"
        assert app.query_one("#top_p", Input).value == ""
        assert app.query_one("#system-prompt", TextArea).text == "Be brief."
        assert app.chat.conversation.memory is MemoryStrategy.WINDOW
        assert app.query_one("#memory-select", Select).value is MemoryStrategy.WINDOW
        assert app.query_one("#model-select", Select).value == "llama3.2:latest"
        assert app.chat.parameters.invalid_fields == []


async def test_quitting_before_the_panel_has_its_fields_is_quiet(
    unused_url: str, build_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ctrl+q in the first tenth of a second: the fields are still to be mounted.
    mount_panel = ParameterPanel.on_mount

    def quit_at_once(panel: ParameterPanel) -> None:
        panel.call_after_refresh(panel.app.exit)  # runs just before the fields are mounted
        mount_panel(panel)

    monkeypatch.setattr(ParameterPanel, "on_mount", quit_at_once)
    app = build_app(unused_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
    assert app.return_code == 0


async def test_choices_never_rewrite_the_users_config(
    fake_ollama: FakeOllama, build_app: MakeApp, config_path: Path, state_path: Path
) -> None:
    """A config full of comments is byte for byte the same after choosing a model and panels."""
    config_path.parent.mkdir(parents=True, exist_ok=True)
    text = (
        "# My settings, with comments I want to keep.\n"
        'theme = "textual-dark"  # dark, always\n\n'
        "[ui]\n# the sidebar is useful\nshow_sidebar = true\n"
    )
    config_path.write_text(text)
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press(*"mistr", "enter")
        await wait_until(pilot, lambda: app.chat.conversation.model == "mistral:7b")
        await pilot.press("ctrl+r")
    assert config_path.read_text() == text
    assert 'model = "mistral:7b"' in state_path.read_text()
