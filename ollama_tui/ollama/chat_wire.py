"""A /api/chat request body, and reading the `tool_calls` of a reply."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ollama_tui.ollama.events import ToolCall
from ollama_tui.sanitize import sanitize


def parse_tool_calls(value: object) -> tuple[ToolCall, ...]:
    """The calls in a `message.tool_calls` value; entries without a function name are skipped.

    Ollama sends `arguments` as an object; a JSON string holding one (as OpenAI-style servers
    send) is read too, and anything else counts as no arguments.
    """
    if not isinstance(value, list):
        return ()
    calls: list[ToolCall] = []
    for item in value:
        function = item.get("function") if isinstance(item, dict) else None
        if not isinstance(function, dict):
            continue
        name = function.get("name")
        if not isinstance(name, str) or not sanitize(name).strip():
            continue
        index = function.get("index")
        call_id = item.get("id")
        calls.append(
            ToolCall(
                name=sanitize(name).strip(),
                arguments=_arguments(function.get("arguments")),
                id=call_id if isinstance(call_id, str) else "",
                index=index if isinstance(index, int) and not isinstance(index, bool) else None,
            )
        )
    return tuple(calls)


def _arguments(value: object) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def chat_body(
    model: str,
    messages: list[dict[str, Any]],
    *,
    stream: bool,
    options: Mapping[str, object] | None,
    think: bool | str | None,
    keep_alive: str | float | None,
    tools: Sequence[Mapping[str, object]] | None = None,
    format: str | Mapping[str, object] | None = None,
) -> dict[str, object]:
    """A /api/chat request; parameters left as None are not sent, so the server's defaults hold."""
    body: dict[str, object] = {"model": model, "messages": messages, "stream": stream}
    extras = {
        "options": dict(options) if options is not None else None,
        "think": think,
        "keep_alive": keep_alive,
        "tools": [dict(tool) for tool in tools] if tools else None,
        "format": dict(format) if isinstance(format, Mapping) else format or None,
    }
    body.update({key: value for key, value in extras.items() if value is not None})
    return body
