"""One retrieved passage, shown as the text it is: where it came from, and the chunk itself."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from ollama_tui.chat.sources import Source
from ollama_tui.sanitize import one_line, sanitize


class PassageScreen(ModalScreen[None]):
    """A source of a reply: its file and lines in the title, its text below (never markup)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Close", id="passage.close")]

    def __init__(self, source: Source) -> None:
        super().__init__()
        self.source = source

    def compose(self) -> ComposeResult:
        source = self.source
        with Vertical(id="passage-dialog") as dialog:
            dialog.border_title = one_line(source.location, 100)
            dialog.border_subtitle = "escape close"
            about = f"{source.collection} · score {source.score:.2f}"
            if source.heading:
                about = f"{source.heading} · {about}"
            yield Static(Content.styled(one_line(about, 300), "dim"), id="passage-about")
            with VerticalScroll(id="passage-scroll"):
                yield Static(Content(sanitize(source.text)), id="passage-text")
