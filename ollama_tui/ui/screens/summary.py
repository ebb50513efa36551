"""The summary editor: read, correct or drop the running summary of older turns."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static, TextArea

from ollama_tui.sanitize import sanitize


class SummaryScreen(ModalScreen[tuple[str, str] | None]):
    """Dismisses with ("save", text), ("drop", ""), or None when cancelled."""

    AUTO_FOCUS = "#summary-text"
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="summary.cancel"),
        Binding("ctrl+s", "save", "Save", id="summary.save", priority=True),
    ]

    def __init__(self, text: str, covered: int, model: str) -> None:
        super().__init__()
        self._text = sanitize(text)
        self._about = f"What {model} wrote about the {covered} earliest messages. It is sent in "
        self._about += "their place; edit it to correct what the model remembers."

    def compose(self) -> ComposeResult:
        with Vertical(id="summary-dialog") as dialog:
            dialog.border_title = "Summary of earlier messages"
            dialog.border_subtitle = "ctrl+s save · escape cancel"
            yield Static(Content.styled(sanitize(self._about), "dim"), id="summary-about")
            yield TextArea(self._text, id="summary-text", soft_wrap=True, tab_behavior="focus")
            with Horizontal(id="summary-buttons"):
                yield Button("Save", id="summary-save", variant="primary", compact=True)
                yield Button("Drop summary", id="summary-drop", variant="warning", compact=True)
                yield Button("Cancel", id="summary-cancel", compact=True)

    def action_save(self) -> None:
        self.dismiss(("save", self.query_one("#summary-text", TextArea).text))

    @on(Button.Pressed, "#summary-save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#summary-drop")
    def _drop_pressed(self) -> None:
        self.dismiss(("drop", ""))

    @on(Button.Pressed, "#summary-cancel")
    def _cancel_pressed(self) -> None:
        self.dismiss(None)
