"""Texts that name a key name the one bound now: `[keys]` in the config rebinds every command."""

from __future__ import annotations

from textual.widgets import Static

from ollama_tui.chat.conversation import MessageState
from ollama_tui.ui.commands import chat_commands
from tests.ui.conftest import MakeApp, notices, settle, wait_until

REBOUND = {"model.pick": "ctrl+k", "app.help": "f10", "prompt.send": "ctrl+s", "reply.retry": "f6"}


async def test_rebound_keys_show_in_hints_notices_and_the_palette(
    unused_url: str, build_app: MakeApp
) -> None:
    app = build_app(unused_url, model=None, keys=REBOUND)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        hint = str(app.chat.query_one("#empty-hint", Static).render())
        assert "press ctrl+s to send" in hint
        assert "ctrl+k model" in hint and "F10 all keys" in hint
        assert "ctrl+l" not in hint and "Enter" not in hint
        assert "no model — ctrl+k" in str(app.chat.status.render())
        assert app.chat.prompt.placeholder.startswith("Ctrl+s sends")

        app.chat.prompt.text = "hello"
        await pilot.press("ctrl+s")
        assert "Choose a model first: press ctrl+k." in notices(app)
        descriptions = [command.help for command in chat_commands(app.chat)]
        assert "Choose the model for the next replies (ctrl+k)" in descriptions


async def test_an_unsent_message_names_the_rebound_retry_key(
    unused_url: str, build_app: MakeApp
) -> None:
    app = build_app(unused_url, keys=REBOUND)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        app.chat.prompt.text = "hello"
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        message = app.chat.conversation.messages[-1]
        assert message.state is MessageState.UNSENT
        view = app.chat.message_list.view_of(message)
        assert view is not None
        await wait_until(pilot, lambda: "not sent · F6 sends it again" in str(view.header()))
        assert any(
            n.startswith("Not sent: ") and n.endswith("· F6 sends it again") for n in notices(app)
        )
