"""The prompt box: Enter sends; ctrl+j (shift+enter where the terminal reports it) adds a line."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea

from ollama_tui.keymap import default_keys

MAX_LINES = 8


class PromptArea(TextArea):
    """A multi-line prompt that grows with its text up to a few lines."""

    BINDINGS = [
        Binding(default_keys("prompt.send"), "submit", "Send", priority=True, id="prompt.send"),
        Binding(
            default_keys("prompt.newline"),
            "newline",
            "Newline",
            key_display="^j",
            priority=True,
            id="prompt.newline",
        ),
    ]

    @dataclass
    class Submitted(Message):
        """The user pressed Enter on a non-blank prompt."""

        prompt_area: PromptArea
        text: str

        @property
        def control(self) -> PromptArea:
            return self.prompt_area

    @dataclass
    class UpFromEmpty(Message):
        """Up was pressed in the empty prompt: the user wants the messages above."""

        prompt_area: PromptArea

        @property
        def control(self) -> PromptArea:
            return self.prompt_area

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            id=id,
            soft_wrap=True,
            tab_behavior="focus",
            show_line_numbers=False,
            compact=True,
            placeholder="Message — Enter to send, ctrl+j for a new line",
        )

    # Priority bindings run as soon as the app sees the key, while characters typed just before
    # may still wait in this widget's queue (fast typing, a terminal multiplexer). Acting through
    # the same queue keeps Enter and ctrl+j after the text they follow.

    def action_submit(self) -> None:
        self.call_later(self._submit)

    def action_newline(self) -> None:
        self.call_later(self.insert, "\n")

    def action_cursor_up(self, select: bool = False) -> None:
        if not self.text and not select:
            self.post_message(self.UpFromEmpty(self))
            return
        super().action_cursor_up(select)

    def _submit(self) -> None:
        """Offer the text; it stays until the screen takes it (a refused send changes nothing)."""
        if self.text.strip():
            self.post_message(self.Submitted(self, self.text))

    def take(self, sent: str) -> None:
        """Remove `sent` from the prompt once it is sent, keeping what was typed after it."""
        if self.text.startswith(sent):
            self.text = self.text[len(sent) :].lstrip("\n")
            self.move_cursor(self.document.end)

    def on_text_area_changed(self) -> None:
        lines = min(MAX_LINES, max(1, self.wrapped_document.height))
        self.styles.height = lines + self.styles.gutter.height
