"""Edit one of the user's sent messages; sending it branches the conversation from there."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from ollama_tui.keymap import key_label
from ollama_tui.sanitize import sanitize
from ollama_tui.ui.widgets.prompt import PromptArea


class EditMessageScreen(ModalScreen[str | None]):
    """Dismisses with the new text (Enter, as in the prompt), or None (escape)."""

    DEFAULT_CSS = """
    EditMessageScreen {
        align: center middle;
        background: $background 60%;
    }
    #edit-dialog {
        width: 90;
        max-width: 95%;
        height: auto;
        border: round $accent;
        border-title-color: $accent;
        border-subtitle-color: $text-muted;
        background: $surface;
        padding: 1 1 0 1;
    }
    #edit-about {
        margin: 0 0 1 0;
    }
    #edit-text {
        max-height: 16;
    }
    """

    AUTO_FOCUS = "#edit-text"
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="edit.cancel")]

    def __init__(self, text: str, later_messages: int) -> None:
        super().__init__()
        self._text = sanitize(text)
        if later_messages == 0:
            kept = "the old text stays as a version"
        elif later_messages == 1:
            kept = "the message after it stays with the old version"
        else:
            kept = f"the {later_messages} messages after it stay with the old version"
        self._about = f"Sending starts a new branch here; {kept} (← → in the messages)."

    def compose(self) -> ComposeResult:
        with Vertical(id="edit-dialog") as dialog:
            dialog.border_title = "Edit message"
            dialog.border_subtitle = (
                f"{key_label('prompt.send')} send · {key_label('prompt.newline')} new line · "
                "escape cancel"
            )
            yield Static(Content.styled(self._about, "dim"), id="edit-about")
            yield PromptArea(id="edit-text")

    def on_mount(self) -> None:
        editor = self.query_one(PromptArea)
        editor.load_text(self._text)
        editor.move_cursor(editor.document.end)

    @on(PromptArea.Submitted, "#edit-text")
    def _submitted(self, event: PromptArea.Submitted) -> None:
        event.stop()
        self.dismiss(event.text)
