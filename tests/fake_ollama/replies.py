"""What a reply says: canned texts, trigger words, faults, and the plan of one reply."""

from __future__ import annotations

import json
import random
import re
import string
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tests.fake_ollama.chat_request import ChatRequest

FAULTS = frozenset(
    {"drop", "error", "stall", "nodone", "malformed", "huge_line", "split_utf8", "text_in_done"}
)
CONTENT_TRIGGERS = ("#code", "#long", "#markup", "#slowload", "#tool")
TOOL_TRIGGER = "#tool"
HUGE_DELTA = "0123456789abcdef" * 65536  # 1 MiB of content in a single line
MIDSTREAM_ERROR = "an error was encountered while running the model: unexpected EOF"
STALL_SECONDS = 600.0
SLOWLOAD_SECONDS = 3.0
ERROR_TEXTS = {
    500: "model runner has unexpectedly stopped, this may be due to resource limitations or an "
    "internal error, check ollama server logs for details",
    503: "server busy, please try again.  maximum pending requests exceeded",
}
_TOKEN = re.compile(r"\s*\S{1,4}|\s+")


def tokenize(text: str) -> list[str]:
    """Split into ~4-character pieces that keep their leading whitespace, like real tokens."""
    return _TOKEN.findall(text)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


FILLER = (
    "This is a canned answer from the fake Ollama server. It arrives in small pieces, like real "
    "tokens, so you can watch the reply render while it streams."
)
CODE = """Here is the same greeting in two languages.

```python
def greet(name: str) -> str:
    \"\"\"Return a friendly greeting.\"\"\"
    return f"Hello, {name}!"


print(greet("llama"))
```

And from the shell:

```bash
for name in llama alpaca; do
    echo "Hello, ${name}!"
done
```

Both print one greeting per name."""
MARKUP = (
    "Markup that must show as plain text: [bold]x[/bold] [@click=app.quit]click[/] arr[/0]\n\n"
    "Escapes that must not reach the terminal: \x1b]52;c;aGk=\x07 (OSC 52 clipboard write), "
    "\x1b]0;pwned\x07 (OSC 0 title), \x1b[2J (clear screen), \x07 (bell) and "
    "\u202edesrever\u202c (bidi override)."
)
UTF8 = (
    "Ünïcödé all the way: ñandú, Straße, Ελληνικά, русский текст, 日本語のテキスト, 한국어 문장, "
    "emoji 🦙🚀✨🧪 and a combining é. Ça marche très bien — 「終わり」。"
)
_LONG_SENTENCES = (
    "Streaming a long answer exercises the client's rendering, scrolling and memory use.",
    "Each paragraph repeats a few sentences, so the text is predictable but not trivial.",
    "A real model would wander off topic here; this one stays politely on script.",
    "Tokens arrive one line at a time, and the interface should keep up without stutter.",
    "Markdown such as **bold**, *italics* and `inline code` appears now and then.",
    "If you can read this smoothly, incremental rendering is doing its job.",
)


def long_text() -> str:
    paragraphs = []
    for number in range(1, 16):
        start = number % len(_LONG_SENTENCES)
        sentences = _LONG_SENTENCES[start:] + _LONG_SENTENCES[:start]
        heading = f"## Section {number // 4 + 1}\n\n" if number % 4 == 1 else ""
        paragraphs.append(f"{heading}**Paragraph {number}.** " + " ".join(sentences))
    return "\n\n".join(paragraphs)


QUOTE_LIMIT = 400
"""Characters of the last user message the unscripted answer quotes back."""


def default_reply(model: str, messages: Sequence[dict[str, Any]], body: str = FILLER) -> str:
    """The unscripted answer: says what arrived (messages, and images when there are any),
    so a test can check the whole history did."""
    users = [m for m in messages if m.get("role") == "user"]
    last = str(users[-1].get("content", "")) if users else ""
    if len(last) > QUOTE_LIMIT:  # like a model asked to be brief, it does not echo a transcript
        last = last[:QUOTE_LIMIT] + "…"
    quoted = "\n".join(f"> {line}" if line else ">" for line in last.splitlines()) or "> …"
    images = sum(len(m.get("images") or []) for m in messages)
    seen = f" · **images** {images}" if images else ""
    return (
        f"**model** `{model}` · **history** {plural(len(messages), 'message')} "
        f"({len(users)} from you){seen}\n\n"
        f"You said:\n\n{quoted}\n\n{body}"
    )


def default_thinking(messages: Sequence[dict[str, Any]]) -> str:
    return (
        f"The user sent {plural(len(messages), 'message')}. I should repeat the last one back, "
        "say how many arrived, and keep the answer short."
    )


# --------------------------------------------------------------------------- records & scripts


@dataclass(frozen=True)
class Script:
    text: str | None
    thinking: str | None
    fault: str | None
    fault_after: int
    status: int | None
    error: str | None
    tool_calls: tuple[tuple[str, dict[str, Any]], ...] | None = None


@dataclass
class Plan:
    """How one reply will be produced."""

    pieces: list[tuple[str, str]]  # ("thinking" | "content", text), in order
    done_reason: str
    fault: str | None
    fault_after: int
    error: str
    extra_delay: float
    hold: tuple[int, threading.Event] | None
    prompt_eval_count: int
    tool_calls: list[dict[str, Any]]
    """Sent whole on one line after the text, as Ollama sends them (`message.tool_calls`)."""


def plan_reply(
    chat: ChatRequest,
    script: Script | None,
    hold: tuple[int, threading.Event] | None,
) -> Plan:
    users = [m for m in chat.messages if m["role"] == "user"]
    last = str(users[-1].get("content") or "") if users else ""
    fault = script.fault if script is not None else None
    if fault is None:
        fault = next((name for name in sorted(FAULTS) if f"#{name}" in last), None)
    calls = _planned_calls(chat, script, last)
    if script is not None and script.text is not None:
        content = script.text
    elif calls:
        content = ""  # a model that calls a tool usually says nothing else
    elif chat.format not in (None, ""):
        content = structured_reply(chat)
    elif chat.messages and chat.messages[-1].get("role") == "tool":
        content = tool_result_reply(chat.messages)
    else:
        body = FILLER
        if "#code" in last:
            body = CODE
        elif "#long" in last:
            body = long_text()
        elif "#markup" in last:
            body = MARKUP
        elif fault == "split_utf8":
            body = UTF8
        content = default_reply(chat.model, chat.messages, body)
    done_reason = "stop"
    stops = chat.options.get("stop") or []
    cut = min((i for s in stops if s and (i := content.find(s)) >= 0), default=-1)
    if cut >= 0:
        content = content[:cut]
    thinking = ""
    if chat.think is not False:
        if script is not None and script.thinking is not None:
            thinking = script.thinking
        elif chat.thinking_requested:
            thinking = default_thinking(chat.messages)
    pieces = [("thinking", t) for t in tokenize(thinking)]
    pieces += [("content", t) for t in tokenize(content)]
    num_predict = chat.options.get("num_predict")
    if isinstance(num_predict, int | float) and 0 < num_predict < len(pieces):
        pieces = pieces[: int(num_predict)]
        done_reason = "length"
    prompt_chars = sum(len(str(m.get("content") or "")) for m in chat.messages)
    return Plan(
        pieces=pieces,
        done_reason=done_reason,
        fault=fault,
        fault_after=script.fault_after if script is not None else 10,
        error=(script.error if script is not None else None) or MIDSTREAM_ERROR,
        extra_delay=SLOWLOAD_SECONDS if "#slowload" in last else 0.0,
        hold=hold,
        prompt_eval_count=max(1, prompt_chars // 4),
        tool_calls=calls,
    )


# --------------------------------------------------------------------------- tools and format


def _planned_calls(
    chat: ChatRequest, script: Script | None, last_user: str
) -> list[dict[str, Any]]:
    """The calls of this reply: the script's, else with #tool in the newest message (a user's)
    a call of the first tool offered. Only a request that offers tools gets any."""
    if not chat.tools:
        return []
    if script is not None and script.tool_calls is not None:
        wanted = list(script.tool_calls)
    elif TOOL_TRIGGER in last_user and chat.messages[-1].get("role") == "user":
        function = _function(chat.tools[0])
        wanted = [(str(function.get("name") or "tool"), sample_value(function.get("parameters")))]
    else:
        return []
    return [
        {
            "id": "call_" + "".join(random.choices(string.ascii_lowercase + string.digits, k=8)),
            "function": {"index": index, "name": name, "arguments": arguments},
        }
        for index, (name, arguments) in enumerate(wanted)
    ]


def _function(tool: object) -> Mapping[str, Any]:
    function = tool.get("function") if isinstance(tool, dict) else None
    return function if isinstance(function, dict) else {}


def sample_value(schema: object) -> Any:
    """A value that follows a JSON Schema's type, enum and properties (every property filled),
    as a model constrained by `format` produces one."""
    if not isinstance(schema, dict):
        return {}
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    samples: dict[str, Any] = {
        "string": "example",
        "integer": 42,
        "number": 3.5,
        "boolean": True,
        "null": None,
    }
    if kind in samples:
        return samples[kind]
    if kind == "array":
        return [sample_value(schema.get("items"))] if isinstance(schema.get("items"), dict) else []
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return {}
    return {name: sample_value(value) for name, value in properties.items()}


def structured_reply(chat: ChatRequest) -> str:
    """The answer to a request with `format`: JSON following the schema, or for "json" an
    object saying what arrived."""
    if isinstance(chat.format, dict):
        value = sample_value(chat.format)
    else:
        users = [m for m in chat.messages if m.get("role") == "user"]
        value = {
            "model": chat.model,
            "messages": len(chat.messages),
            "said": str(users[-1].get("content") or "")[:QUOTE_LIMIT] if users else "",
        }
    return json.dumps(value, ensure_ascii=False)


def tool_result_reply(messages: Sequence[dict[str, Any]]) -> str:
    """The answer after tool results: quotes each result of the latest round back."""
    results: list[dict[str, Any]] = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        results.insert(0, message)
    parts = []
    for message in results:
        text = str(message.get("content") or "")
        if len(text) > QUOTE_LIMIT:
            text = text[:QUOTE_LIMIT] + "…"
        quoted = "\n".join(f"> {line}" if line else ">" for line in text.splitlines()) or "> …"
        parts.append(f"The tool `{message.get('tool_name') or '?'}` answered:\n\n{quoted}")
    return "\n\n".join(parts)
