"""The status line: host and connection state, model, and the last reply's speed."""

from __future__ import annotations

from enum import StrEnum

from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from ollama_tui.keymap import key_label
from ollama_tui.sanitize import sanitize

WARN_SHARE = 0.85
"""Share of the context window from which the meter turns to the warning colour."""


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
    context_used: reactive[int | None] = reactive(None)
    context_size: reactive[int | None] = reactive(None)
    context_exact = reactive(False)

    def render(self) -> Content:
        symbol, style = _CONNECTION_STYLE[self.connection]
        state = self.connection.value
        if self.connection is Connection.CONNECTED and self.version:
            state = f"Ollama {self.version}"
        host = self.host.removeprefix("http://")
        parts: list[str | tuple[str, str]] = [
            (f"{symbol} ", style),
            (host, "bold"),
            (f" {state}", style if self.connection is Connection.UNREACHABLE else "dim"),
            (f"  ⚠ {self.warning}" if self.warning else "", "bold $warning"),
            (" │ ", "dim"),
            (
                sanitize(self.model) or f"no model — {key_label('model.pick')}",
                "bold" if self.model else "$warning",
            ),
        ]
        if self.context_used is not None and self.context_size:
            share = self.context_used / self.context_size
            level = "$error" if share > 1 else "$warning" if share >= WARN_SHARE else ""
            approximate = "" if self.context_exact else "~"
            parts += [
                (" │ ctx ", "dim"),
                (f"{approximate}{self.context_used:,}/{self.context_size:,}", level),
            ]
        if self.speed is not None:
            parts += [(" │ ", "dim"), f"{self.speed:.1f} tok/s"]
        if self.activity:
            parts += [(" │ ", "dim"), (self.activity, "italic $accent")]
        return Content.assemble(*parts)
