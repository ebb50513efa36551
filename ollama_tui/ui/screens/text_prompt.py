"""A one-line question with an editable answer, e.g. a conversation's new title."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input

from ollama_tui.sanitize import sanitize


class TextPromptScreen(ModalScreen[str | None]):
    """Dismisses with the entered text (Enter), or None (escape)."""

    AUTO_FOCUS = "#text-prompt-input"
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="text-prompt.cancel")]

    def __init__(self, title: str, value: str, *, placeholder: str = "") -> None:
        super().__init__()
        self._title = title
        self._value = sanitize(value)
        self._placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(id="text-prompt-dialog") as dialog:
            dialog.border_title = self._title
            dialog.border_subtitle = "Enter save · escape cancel"
            yield Input(
                self._value, placeholder=self._placeholder, id="text-prompt-input", compact=True
            )

    @on(Input.Submitted, "#text-prompt-input")
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)
