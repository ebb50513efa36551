"""A yes/no question in a small dialog, for actions that cannot be undone."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from ollama_tui.ui.inert import inert


class ConfirmScreen(ModalScreen[bool]):
    """Ask a question; dismisses with True for yes, False for no or escape.

    `title` is a fixed string of ours; `question` may hold server text (a model name…) and is
    shown literally. "No" has the focus, so a stray enter does nothing harmful.
    """

    DEFAULT_CSS = """
    ConfirmScreen {
        align: center middle;
        background: $background 60%;
    }
    #confirm-dialog {
        width: 64;
        max-width: 95%;
        height: auto;
        border: round $accent;
        border-title-color: $accent;
        border-subtitle-color: $text-muted;
        background: $surface;
        padding: 1 2 0 2;
    }
    ConfirmScreen.-danger #confirm-dialog {
        border: round $error;
        border-title-color: $error;
    }
    #confirm-question {
        width: 1fr;
    }
    #confirm-buttons {
        height: auto;
        align-horizontal: right;
        margin: 1 0 0 0;
    }
    #confirm-buttons Button {
        margin: 0 0 0 2;
    }
    """
    AUTO_FOCUS = "#confirm-no"
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
        Binding("left", "app.focus_previous", show=False),
        Binding("right", "app.focus_next", show=False),
    ]

    def __init__(
        self,
        title: str,
        question: str,
        *,
        yes: str = "Yes",
        no: str = "No",
        danger: bool = False,
        id: str | None = None,
    ) -> None:
        super().__init__(classes="-danger" if danger else None, id=id)
        self._title = title
        self._question = question
        self._yes = yes
        self._no = no
        self._danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog") as dialog:
            dialog.border_title = self._title
            dialog.border_subtitle = "y yes · n or escape no"
            yield Static(inert(self._question), id="confirm-question")
            with Horizontal(id="confirm-buttons"):
                yield Button(
                    Content(self._yes),
                    variant="error" if self._danger else "primary",
                    id="confirm-yes",
                    compact=True,
                )
                yield Button(Content(self._no), id="confirm-no", compact=True)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")
