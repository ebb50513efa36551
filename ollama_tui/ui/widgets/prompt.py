"""The prompt box: Enter sends; ctrl+j (shift+enter where the terminal reports it) adds a line.
A paste that is only a file's path (what a terminal sends when a file is dropped on it) is
offered as an attachment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea

from ollama_tui.chat.intake import dropped_path
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

    @dataclass
    class PathPasted(Message):
        """A paste that names one existing file: attach it, or paste `text` after all."""

        prompt_area: PromptArea
        path: Path
        text: str

        @property
        def control(self) -> PromptArea:
            return self.prompt_area

    can_send_empty = False
    """Set while files are attached: a message may then be only its files."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            id=id,
            soft_wrap=True,
            tab_behavior="focus",
            show_line_numbers=False,
            compact=True,
            placeholder="Message — Enter to send, ctrl+j for a new line, ctrl+o to attach a file",
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
        if self.text.strip() or self.can_send_empty:
            self.submit_now()

    def submit_now(self) -> None:
        """Send what the prompt holds, as Enter does."""
        self.post_message(self.Submitted(self, self.text))
        self.clear()

    async def _on_paste(self, event: events.Paste) -> None:
        path = dropped_path(event.text, Path.cwd())
        if path is None:
            await super()._on_paste(event)
            return
        event.prevent_default()
        event.stop()
        self.post_message(self.PathPasted(self, path, event.text))

    def on_text_area_changed(self) -> None:
        lines = min(MAX_LINES, max(1, self.wrapped_document.height))
        self.styles.height = lines + self.styles.gutter.height
