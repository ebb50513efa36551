"""Tool calls and their results inside the message list, and structured (JSON) replies.

Everything shown here came from the model or a tool: it is rendered inert (Content, never
markup), and a result is folded until the user opens it (enter on its title)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Collapsible, Static

from ollama_tui.chat.conversation import Message
from ollama_tui.chat.structured import ReplyFormat, pretty_json, reply_problem
from ollama_tui.chat.tools import DECISION_LABELS, RAN, ToolCall
from ollama_tui.sanitize import sanitize
from ollama_tui.ui.inert import inert
from ollama_tui.ui.screens.tool_consent import arguments_content


def call_line(call: ToolCall) -> Content:
    """⚙ name · server · what became of it."""
    label = DECISION_LABELS[call.decision]
    style = "$success" if call.decision in RAN else "$warning"
    if call.decision is None:
        style = "$accent"
    parts: list[Content | str | tuple[str, str]] = ["⚙ ", inert(call.name, "bold")]
    if call.server:
        parts += [("  " + sanitize(call.server), "dim")]
    parts.append((f"  {label}", style))
    return Content.assemble(*parts)


class ToolCallsView(Vertical):
    """The calls of one reply: each tool's name, server, decision and arguments."""

    def __init__(self, message: Message) -> None:
        super().__init__(classes="tool-calls")
        self.message = message

    def compose(self) -> ComposeResult:
        for call in self.message.tool_calls:
            yield Static(call_line(call), classes="tool-call")
            yield Static(arguments_content(call), classes="tool-arguments")

    def refresh_calls(self) -> None:
        """Show the decisions taken since the view was composed."""
        lines = list(self.query(".tool-call").results(Static))
        for line, call in zip(lines, self.message.tool_calls, strict=False):
            line.update(call_line(call))


class ToolResultView(Collapsible):
    """A tool's result, folded: its title says which tool and how much came back."""

    def __init__(self, message: Message) -> None:
        size = len(message.content.encode())
        outcome = "failed" if message.error else f"{size:,} bytes"
        # The title is markup: only our own words go in it.
        super().__init__(
            Static(inert(message.content), classes="tool-result-text"),
            title=f"Result · {outcome}",
            collapsed=True,
            classes="tool-result",
        )
        self.message = message


class StructuredReply(Vertical):
    """A reply that had to follow a format: pretty, highlighted JSON, and where it departs
    from the format when it does."""

    def __init__(self, text: str, reply_format: ReplyFormat) -> None:
        super().__init__(classes="structured-reply")
        self.text = text
        self.reply_format = reply_format

    def compose(self) -> ComposeResult:
        pretty = pretty_json(self.text)
        if pretty is not None:
            from textual.highlight import highlight  # Pygments: not imported at start-up

            yield Static(highlight(sanitize(pretty), language="json"), classes="structured-json")
        else:
            yield Static(inert(self.text), classes="structured-json")
        problem = reply_problem(self.text, self.reply_format)
        if problem is not None:
            yield Static(inert(f"⚠ {problem}", "$warning"), classes="structured-problem")
