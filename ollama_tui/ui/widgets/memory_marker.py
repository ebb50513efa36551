"""The line in the message list where the model's memory begins."""

from __future__ import annotations

from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.widgets import Static


class MemoryMarker(Static, can_focus=True):
    """Says how many earlier messages the next request leaves out or summarises."""

    BINDINGS = [Binding("enter", "open", "Summary", id="memory.open")]

    class Opened(Message):
        """The user asked to see the summary."""

    _text = ""

    def show_text(self, text: str) -> None:
        """Change the line only when its words change: it is recomputed on every keystroke,
        and each update lays out every mounted message again."""
        if text != self._text:
            self._text = text
            self.update(Content.styled(text, "italic $warning"))

    def action_open(self) -> None:
        self.post_message(self.Opened())

    def on_click(self) -> None:
        self.action_open()
