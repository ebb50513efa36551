"""The question asked before a tool runs: what the model wants to run, with which arguments,
and whether to run it once, allow it for the rest of the conversation, or refuse."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from ollama_tui.chat.tools import Decision, ToolCall, arguments_json
from ollama_tui.sanitize import sanitize
from ollama_tui.ui.inert import inert

_ANSWERS = {
    "consent-once": Decision.ONCE,
    "consent-always": Decision.ALWAYS,
    "consent-refuse": Decision.REFUSED,
}


def arguments_content(call: ToolCall) -> Content:
    """A call's arguments as highlighted JSON, inert (the model wrote them). (Pygments, which
    highlights, is imported with the first call shown, not at start-up.)"""
    from textual.highlight import highlight

    return highlight(sanitize(arguments_json(call)), language="json")


class ToolConsentScreen(ModalScreen[Decision]):
    """Asks whether a tool may run; dismisses with Decision.ONCE, ALWAYS or REFUSED.

    Nothing runs until the user answers; "Refuse" has the focus, so a stray enter runs
    nothing.
    """

    AUTO_FOCUS = "#consent-refuse"
    BINDINGS = [
        Binding("y", "answer('consent-once')", "Run once", id="consent.once"),
        Binding("a", "answer('consent-always')", "Always", id="consent.always"),
        Binding("n,escape", "answer('consent-refuse')", "Refuse", id="consent.refuse"),
        Binding("left", "app.focus_previous", show=False),
        Binding("right", "app.focus_next", show=False),
    ]

    def __init__(self, call: ToolCall, *, server: str, description: str = "") -> None:
        super().__init__()
        self.call = call
        self.server = server
        self.description = description

    def compose(self) -> ComposeResult:
        with Vertical(id="consent-dialog") as dialog:
            dialog.border_title = "Run a tool?"
            dialog.border_subtitle = "y once · a always · n or escape refuse"
            yield Static(
                Content.assemble(
                    "The model asks to run ",
                    inert(self.call.name, "bold"),
                    " from the MCP server ",
                    inert(self.server, "bold"),
                    " with these arguments:",
                ),
                id="consent-question",
            )
            if self.description:
                yield Static(inert(self.description, "italic $text-muted"), id="consent-help")
            with VerticalScroll(id="consent-arguments", can_focus=False):
                yield Static(arguments_content(self.call))
            yield Static(
                "Its result goes back to the model. Run only what you would run yourself.",
                id="consent-warning",
            )
            with Horizontal(id="consent-buttons"):
                yield Button("Run once", variant="primary", id="consent-once", compact=True)
                yield Button("Always in this conversation", id="consent-always", compact=True)
                yield Button("Refuse", variant="error", id="consent-refuse", compact=True)

    def action_answer(self, button: str) -> None:
        self.dismiss(_ANSWERS[button])

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id in _ANSWERS:
            self.dismiss(_ANSWERS[event.button.id])
