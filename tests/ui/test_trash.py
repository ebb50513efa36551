"""Deleting moves a conversation to the trash, with confirmation; the palette restores it."""

from __future__ import annotations

from pathlib import Path

from ollama_tui.chat.conversation import Conversation
from ollama_tui.chat.store import ConversationStore
from ollama_tui.ui.screens.confirm import ConfirmScreen
from ollama_tui.ui.screens.picker import PickerScreen
from tests.ui.conftest import MakeApp, run_command, wait_until


def saved_conversation(data_dir: Path, text: str) -> Conversation:
    conversation = Conversation(model="llama3.2:latest")
    conversation.add_user_message(text)
    ConversationStore(data_dir).save(conversation)
    return conversation


async def test_delete_with_confirmation_then_restore_from_the_palette(
    unused_url: str, build_app: MakeApp, data_dir: Path
) -> None:
    keep = saved_conversation(data_dir, "keep me")
    doomed = saved_conversation(data_dir, "delete me")
    app = build_app(unused_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+b")
        app.chat.sidebar.highlighted = app.chat.sidebar.get_option_index(doomed.id)

        await pilot.press("delete")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")  # changed my mind
        await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert app.chat.sidebar.summary_count == 2

        await pilot.press("delete")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(pilot, lambda: app.chat.sidebar.summary_count == 1)
        assert app.chat.sidebar.conversation_ids() == [keep.id]
        assert (data_dir / "trash" / f"{doomed.id}.json").exists()

        await run_command(pilot, app, "Restore deleted")
        await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.chat.conversation.id == doomed.id)
        assert [m.content for m in app.chat.conversation.messages] == ["delete me"]
        assert app.chat.sidebar.summary_count == 2
    assert not (data_dir / "trash" / f"{doomed.id}.json").exists()
