"""The status line: host and connection state, model, and the last reply's speed."""

from __future__ import annotations

from enum import StrEnum

from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from ollama_tui.sanitize import sanitize


class Connection(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    UNREACHABLE = "unreachable"


_CONNECTION_STYLE = {
    Connection.CONNECTING: ("◌", "$text-muted"),
    Connection.CONNECTED: ("●", "$success"),
    Connection.UNREACHABLE: ("●", "$error"),
}


class StatusBar(Static):
    """A one-line summary of where the app stands; every field is plain, untrusted-safe text."""

    connection: reactive[Connection] = reactive(Connection.CONNECTING)
    host = reactive("")
    version = reactive("")
    model = reactive("")
    activity = reactive("")
    speed: reactive[float | None] = reactive(None)
    warning = reactive("")

    def render(self) -> Content:
        symbol, style = _CONNECTION_STYLE[self.connection]
        state = self.connection.value
        if self.connection is Connection.CONNECTED and self.version:
            state = f"Ollama {self.version}"
        parts: list[str | tuple[str, str]] = [
            (f"{symbol} ", style),
            (self.host, "bold"),
            (f" {state}", style if self.connection is Connection.UNREACHABLE else "dim"),
            (f"  ⚠ {self.warning}" if self.warning else "", "bold $warning"),
            ("  │  model ", "dim"),
            (sanitize(self.model) or "none — press ctrl+l", "bold" if self.model else "$warning"),
        ]
        if self.speed is not None:
            parts += [("  │  last reply ", "dim"), f"{self.speed:.1f} tok/s"]
        if self.activity:
            parts += [("  │  ", "dim"), (self.activity, "italic $accent")]
        return Content.assemble(*parts)
