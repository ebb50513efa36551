"""The help screen: every key the app answers to, read from the live bindings."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Static


class HelpScreen(ModalScreen[None]):
    """A modal list of keys; any of escape, F1 or q closes it."""

    AUTO_FOCUS = "#help-dialog"
    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close", id="help.close")]

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self._keys = keys

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-dialog") as dialog:
            dialog.border_title = "Keys"
            dialog.border_subtitle = "escape to close"
            width = max((len(key) for key, _ in self._keys), default=0) + 2
            for key, description in self._keys:
                with Horizontal(classes="help-row"):
                    label = Static(Content.styled(key, "bold $accent"), classes="help-key")
                    label.styles.width = width  # the widest key (config may rebind them)
                    yield label
                    yield Static(description, classes="help-description")
            yield Static(
                Content.styled(
                    "Every command is also in the command palette (ctrl+p).", "dim italic"
                ),
                id="help-footnote",
            )
        yield Footer()  # this dialog's keys, not those of the page beneath
