"""Untrusted text never drives the terminal or the app: markup, escapes, links, secrets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual.widgets import Markdown

from ollama_tui.chat.conversation import Conversation, MessageState
from ollama_tui.chat.store import ConversationStore
from ollama_tui.ui.app import OllamaTUI
from ollama_tui.ui.screens.confirm import ConfirmScreen
from ollama_tui.ui.screens.picker import PickerScreen
from ollama_tui.ui.widgets.message_view import MessageView
from tests.fake_ollama import FakeModel, FakeOllama
from tests.ui.conftest import MakeApp, connected, run_command, send, settle, wait_until

HOSTILE = (
    "[@click=app.quit]click me[/] [bold red]loud[/] arr[/0] "
    "\x1b]52;c;aGVsbG8=\x07 \x1b]0;pwned title\x1b\\ \x1b[2J \x07 \x9b31m "
    "\u202egnirts desrever\u202c \x00nul"
)

# What Textual itself writes: SGR styles and cursor moves. Anything else came from the content.
_CSI = re.compile(r"\x1b\[[0-9;:?]*[A-Za-z]")


def terminal_output(app: OllamaTUI) -> str:
    """The exact text a real terminal would receive for a full repaint of the screen."""
    update = app.screen._compositor.render_full_update()
    return update.render_segments(app.console)


def screen_text(app: OllamaTUI) -> str:
    """What the screen reads, without Textual's own styles and cursor moves."""
    return _CSI.sub("", terminal_output(app))


def assert_inert(output: str) -> None:
    leftover = _CSI.sub("", output)
    assert "\x1b" not in leftover, "an escape sequence reached the terminal"
    for forbidden in ("\x07", "\x9b", "\u202e", "\x00"):
        assert forbidden not in output
    assert not re.search(r"\x1b\[[0-9;]*J", output), "a screen clear reached the terminal"


async def test_hostile_reply_title_and_error_are_shown_as_inert_text(
    fake_ollama: FakeOllama, build_app: MakeApp, data_dir: Path
) -> None:
    saved = Conversation(model="llama3.2:latest")
    saved.add_user_message(HOSTILE)
    saved.title = HOSTILE  # as if an old file had been edited by hand
    ConversationStore(data_dir).save(saved)
    fake_ollama.queue_reply(HOSTILE + "\n\n" + HOSTILE)
    fake_ollama.queue_reply(status=500, error=HOSTILE)

    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "say something nasty")
        await settle(pilot, app)
        reply = app.chat.conversation.messages[-1]
        assert reply.state is MessageState.COMPLETE
        assert "[@click=app.quit]click me[/]" in reply.content  # the words survive, inert
        await send(pilot, app, "and fail nastily")
        await settle(pilot, app)
        failed = app.chat.conversation.messages[-1]
        assert failed.state is MessageState.FAILED
        assert "[@click=app.quit]" in (failed.error or "")

        # Click every place the hostile text is shown; no action may run.
        for view in app.query(MessageView):
            await pilot.click(view, offset=(4, 1))
            await pilot.click(view, offset=(4, 2))
        await pilot.click(app.chat.sidebar, offset=(3, 1))
        await pilot.pause()
        assert app.is_running

        assert_inert(terminal_output(app))
        text = terminal_output(app)
        assert "click me" in text and "pwned title" in text

        # The saved conversation holds the raw text in its message: open it and look again.
        app.chat.sidebar.focus()
        app.chat.sidebar.highlighted = app.chat.sidebar.get_option_index(saved.id)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.chat.conversation.id == saved.id)
        await pilot.pause()
        assert app.chat.conversation.messages[0].content == HOSTILE  # stored as typed
        assert_inert(terminal_output(app))
        assert app.is_running


HOSTILE_MODEL = "[@click=app.quit]evil[/]\x1b]0;t\x07"
HOSTILE_MODEL_SHOWN = "[@click=app.quit]evil[/]]0;t"
"""How the name reads on screen: brackets and all (as markup it would read "evil", as a link),
the escape sequence and the bell left out."""


def hostile_model(quantization: str = "Q4") -> FakeModel:
    return FakeModel(
        name=HOSTILE_MODEL,
        family="llama",
        parameter_size="1B",
        quantization=quantization,
        context_length=4096,
        capabilities=("completion",),
        size=1,
        modified_at="2026-01-02T03:04:05Z",
    )


async def test_hostile_model_names_are_inert(build_app: MakeApp) -> None:
    with FakeOllama(models=[hostile_model(quantization="[b]Q4[/b]")]) as server:
        app = build_app(server.url, model=HOSTILE_MODEL)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: bool(app.session.models.listed))
            await wait_until(pilot, lambda: HOSTILE_MODEL_SHOWN in screen_text(app))
            assert app.chat.status.model == HOSTILE_MODEL
            assert_inert(terminal_output(app))

            await pilot.press("ctrl+l")
            await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen))
            await wait_until(pilot, lambda: "[b]Q4[/b]" in screen_text(app))
            [row] = [line for line in screen_text(app).splitlines() if "[b]Q4[/b]" in line]
            assert HOSTILE_MODEL_SHOWN in row
            assert_inert(terminal_output(app))
            await pilot.press("escape")
            await wait_until(pilot, lambda: not isinstance(app.screen, PickerScreen))
            assert app.is_running
            assert_inert(terminal_output(app))


async def test_a_hostile_model_name_is_inert_in_its_replies_and_the_conversation_lists(
    build_app: MakeApp,
) -> None:
    with FakeOllama(models=[hostile_model()]) as server:
        app = build_app(server.url, model=HOSTILE_MODEL)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: bool(app.session.models.listed))
            await send(pilot, app, "hi")
            await settle(pilot, app)
            sidebar = app.chat.sidebar
            conversation_id = app.chat.conversation.id
            await wait_until(pilot, lambda: conversation_id in sidebar.conversation_ids())

            header = app.query(MessageView).last().header()
            assert str(header).startswith(HOSTILE_MODEL_SHOWN)
            row = sidebar.get_option(conversation_id).prompt
            assert HOSTILE_MODEL_SHOWN in str(row)
            assert_inert(terminal_output(app))

            # Once deleted, the conversation is listed with its model in the trash.
            sidebar.focus()
            sidebar.highlighted = sidebar.get_option_index(conversation_id)
            await pilot.press("delete")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await wait_until(pilot, lambda: sidebar.summary_count == 0)
            await run_command(pilot, app, "Restore deleted")
            await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen))
            await wait_until(pilot, lambda: HOSTILE_MODEL_SHOWN in screen_text(app))
            assert_inert(terminal_output(app))
            assert app.is_running


@pytest.mark.parametrize(
    ("href", "opened"),
    [
        ("https://ollama.com/library", True),
        ("http://localhost:8000/docs", True),
        ("javascript:alert(1)", False),
        ("file:///etc/passwd", False),
        ("app.quit", False),
    ],
)
async def test_links_open_only_on_request_and_only_for_http(
    fake_ollama: FakeOllama,
    build_app: MakeApp,
    monkeypatch: pytest.MonkeyPatch,
    href: str,
    opened: bool,
) -> None:
    fake_ollama.queue_reply(f"See [the page]({href}) for more.")
    app = build_app(fake_ollama.url)
    urls: list[str] = []
    monkeypatch.setattr(app, "open_url", lambda url, **_: urls.append(url))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "a link please")
        await settle(pilot, app)
        assert urls == []  # nothing opens by itself

        body = app.query(MessageView).last().query_one(Markdown)
        body.post_message(Markdown.LinkClicked(body, href))
        await pilot.pause()

        assert urls == ([href] if opened else [])
        if not opened:
            assert any("only http and https" in n.message for n in app._notifications)
