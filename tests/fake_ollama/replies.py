"""What a reply says: canned texts, trigger words, faults, and the plan of one reply."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tests.fake_ollama.chat_request import ChatRequest

FAULTS = frozenset(
    {"drop", "error", "stall", "nodone", "malformed", "huge_line", "split_utf8", "text_in_done"}
)
CONTENT_TRIGGERS = ("#code", "#long", "#markup", "#slowload")
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
    if script is not None and script.text is not None:
        content = script.text
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
    )
