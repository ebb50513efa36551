"""Tool calls in a conversation: what the model asked to run, what the user decided, and the
result text that goes back to the model. Nothing here runs a tool."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ollama_tui.sanitize import sanitize


class Decision(StrEnum):
    """What became of one call; saved with it."""

    ONCE = "once"
    """The user allowed this call."""
    ALWAYS = "always"
    """The user allowed this tool for the rest of the conversation, starting with this call."""
    ALLOWED = "allowed"
    """Ran without asking: the tool was allowed always earlier in the conversation."""
    REFUSED = "refused"
    STOPPED = "stopped"
    """The user stopped the reply before the call ran or while it ran."""
    NOT_RUN = "not run"
    """Not run: the round limit was reached, or no server offers the tool."""


RAN = frozenset({Decision.ONCE, Decision.ALWAYS, Decision.ALLOWED})
DECISION_LABELS = {
    None: "waiting for you",
    Decision.ONCE: "run once",
    Decision.ALWAYS: "always allowed",
    Decision.ALLOWED: "allowed earlier",
    Decision.REFUSED: "refused",
    Decision.STOPPED: "stopped",
    Decision.NOT_RUN: "not run",
}


@dataclass
class ToolCall:
    """One call the model made: the tool's name and its arguments (untrusted, as sent)."""

    name: str
    arguments: dict[str, Any]
    id: str = ""
    index: int | None = None
    server: str = ""
    """The MCP server whose tool this is ("" when none offers it)."""
    decision: Decision | None = None
    """None while the call waits for the user."""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "arguments": self.arguments}
        if self.id:
            data["id"] = self.id
        if self.index is not None:
            data["index"] = self.index
        if self.server:
            data["server"] = self.server
        if self.decision is not None:
            data["decision"] = self.decision.value
        return data

    def to_request(self) -> dict[str, Any]:
        """The call as the assistant message of a request's history carries it back."""
        function: dict[str, Any] = {"name": self.name, "arguments": self.arguments}
        if self.index is not None:
            function["index"] = self.index
        return {"id": self.id, "function": function} if self.id else {"function": function}

    def key(self) -> tuple[object, ...]:
        """Every saved field, for the message's JSON cache."""
        return (self.name, repr(self.arguments), self.id, self.index, self.server, self.decision)

    @classmethod
    def from_dict(cls, data: Any) -> ToolCall:
        """A saved call; raises TypeError or ValueError when it is not one."""
        name, arguments = data["name"], data.get("arguments") or {}
        if not isinstance(name, str) or not isinstance(arguments, dict):
            raise TypeError("a tool call needs a name and an object of arguments")
        index = data.get("index")
        decision = data.get("decision")
        return cls(
            name=sanitize(name),
            arguments=arguments,
            id=str(data.get("id") or ""),
            index=index if isinstance(index, int) and not isinstance(index, bool) else None,
            server=str(data.get("server") or ""),
            decision=Decision(decision) if decision is not None else None,
        )


REFUSED_TEXT = "The user refused to run this tool. Do not call it again for this request."
STOPPED_TEXT = "The user stopped the reply before this tool finished."
ROUND_LIMIT_TEXT = "Not run: the limit of tool rounds for one reply was reached."


def unknown_tool_text(name: str) -> str:
    return f"Not run: no tool named {name!r} is offered in this conversation."


def arguments_json(call: ToolCall) -> str:
    """A call's arguments as indented JSON, to show and export."""
    return json.dumps(call.arguments, indent=2, ensure_ascii=False)


def capped(text: str, limit: int) -> str:
    """`text` made inert and cut to at most `limit` bytes of UTF-8, saying where it was cut."""
    text = sanitize(text)
    size = len(text.encode())
    if size <= limit:
        return text
    kept = text.encode()[:limit].decode(errors="ignore")
    return f"{kept}\n[cut: the result was {size:,} bytes; the first {limit:,} are kept]"
