"""The prompt box: Enter sends; ctrl+j (shift+enter where the terminal reports it) adds a line.
A paste that is only a file's path (what a terminal sends when a file is dropped on it) is
offered as an attachment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from time import monotonic

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea

from ollama_tui.chat.intake import dropped_path
from ollama_tui.keymap import default_keys, key_label

MAX_LINES = 8
BLINK_SECONDS = 10.0
"""How long the cursor blinks after the last key (or focus); then it stays lit until the next.
Each blink redraws the prompt's line, which was most of what an idle screen cost."""


class PromptArea(TextArea):
    """A multi-line prompt that grows with its text up to a few lines."""

    BINDINGS = [
        # Send and new line are in the placeholder; the footer keeps its room for the rest.
        Binding(
            default_keys("prompt.send"),
            "submit",
            "Send",
            show=False,
            priority=True,
            id="prompt.send",
        ),
        Binding(
            default_keys("prompt.newline"),
            "newline",
            "Newline",
            key_display="^j",
            show=False,
            priority=True,
            id="prompt.newline",
        ),
        Binding(default_keys("prompt.previous"), "recall(-1)", show=False, id="prompt.previous"),
        Binding(default_keys("prompt.next"), "recall(1)", show=False, id="prompt.next"),
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
            placeholder=(  # short enough to show whole beside both panels at 120 columns
                f"{key_label('prompt.send').capitalize()} sends · "
                f"{key_label('prompt.newline')} new line · {key_label('prompt.attach')} attach"
            ),
        )
        self.blink_seconds = BLINK_SECONDS
        self._blink_until = 0.0
        """When (monotonic time) the cursor stops blinking, lit, unless a key comes first."""
        self._lit_till_key = False
        self._history: list[str] = []
        self._recalled: int | None = None
        """Where in _history alt+up has stepped to; None while editing the draft."""
        self._draft = ""

    @property
    def blinking(self) -> bool:
        """Whether the cursor is blinking (it stops, lit, a while after the last key)."""
        return self.cursor_blink and self.has_focus and not self._lit_till_key

    def _restart_blink(self) -> None:
        self._blink_until = monotonic() + self.blink_seconds
        self._lit_till_key = False
        super()._restart_blink()

    def _toggle_cursor_blink_visible(self) -> None:
        if monotonic() >= self._blink_until:
            self._lit_till_key = True
            self._pause_blink(visible=True)
            return
        super()._toggle_cursor_blink_visible()

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
        """Offer the text; it stays until the screen takes it (a refused send changes nothing).
        With files attached the text may be empty."""
        if self.text.strip() or self.can_send_empty:
            self.submit_now()

    def submit_now(self) -> None:
        """Offer what the prompt holds, as Enter does."""
        self.post_message(self.Submitted(self, self.text))

    async def _on_paste(self, event: events.Paste) -> None:
        path = dropped_path(event.text, Path.cwd())
        if path is None:
            await super()._on_paste(event)
            return
        event.prevent_default()
        event.stop()
        self.post_message(self.PathPasted(self, path, event.text))

    def use_history(self, prompts: list[str]) -> None:
        """The prompts sent before (oldest first) that alt+up and alt+down step through."""
        self._history = prompts

    def action_recall(self, step: int) -> None:
        """Step to an earlier (-1) or later (+1) prompt; past the newest, the draft comes back."""
        history = self._history
        if not history:
            return
        if self._recalled is None:
            if step > 0:
                return
            self._draft, index = self.text, len(history) - 1
        else:
            index = self._recalled + step
        if index < 0:
            return
        if index >= len(history):
            self._recalled, text = None, self._draft
        else:
            self._recalled, text = index, history[index]
        self.text = text
        self.move_cursor(self.document.end)

    def take(self, sent: str) -> None:
        """Remove `sent` from the prompt once it is sent, keeping what was typed after it."""
        if self.text.startswith(sent):
            self.text = self.text[len(sent) :].lstrip("\n")
            self.move_cursor(self.document.end)
        self._recalled = None

    def on_text_area_changed(self) -> None:
        lines = min(MAX_LINES, max(1, self.wrapped_document.height))
        self.styles.height = lines + self.styles.gutter.height
