"""Benchmark 5 — saving: time per saved message in a 2,000-message conversation.

    .venv/bin/python bench/saving.py [--quick] [--runs N]

Method. A conversation of N - 1 messages (N = 20, 200 and 2,000; typical sizes: a question of
~20 words, a reply of 1–3 paragraphs, a code block in one reply of five) is saved once with
ConversationStore into a temp data dir. Then, `--runs` times, one message is appended and
ConversationStore.save() of the N messages is timed, and the message taken off again (unsaved),
so every save writes exactly N messages — the call the app makes for your message, at each 2 s
checkpoint of a streaming reply and at its end (atomic: temp file, fsync, rename, fsync of the
folder, under the store's lock). Its parts are timed separately on the same conversation:
Conversation.to_json() as the store calls it (each message's JSON cached; the last message
changed before each call, as a streaming reply does), for comparison json.dumps of the whole
to_dict() (what every save cost before the cache), and write_atomic() of the bytes.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    conversation_messages,
    fmt,
    long_conversation,
    parser,
    percentile,
    print_table,
    summary,
    write_results,
)

from ollama_tui.atomic import write_atomic
from ollama_tui.chat.store import ConversationStore

SIZES = (20, 200, 2000)
QUICK_SIZES = (20, 200)


def timed(action: Any, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return times


def measure(messages: int, runs: int) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="bench-save-")) / "data"
    store = ConversationStore(data_dir)
    conversation = long_conversation(messages - 1)
    store.save(conversation)
    rng = random.Random(3)
    extra = conversation_messages(runs, rng, start=datetime.now(UTC))
    saves = []
    saved_lengths = set()
    for index in range(runs):
        # Every timed save writes exactly `messages` messages: the one appended is taken off
        # again (unsaved) before the next is appended.
        conversation.messages.append(extra[index])
        saved_lengths.add(len(conversation.messages))
        started = time.perf_counter()
        store.save(conversation)
        saves.append(time.perf_counter() - started)
        conversation.messages.pop()
    conversation.messages.append(extra[0])
    data = conversation.to_json().encode()
    path = store.path_of(conversation.id)
    last = conversation.messages[-1]

    def encode_after_a_change() -> None:
        last.content += "."
        conversation.to_json()

    parts = {
        "to_json": timed(encode_after_a_change, runs),
        "dumps_whole": timed(
            lambda: json.dumps(conversation.to_dict(), ensure_ascii=False, separators=(",", ":")),
            runs,
        ),
        "write_atomic": timed(lambda: write_atomic(path, data), runs),
    }
    return {
        "messages": messages,
        "messages_saved": sorted(saved_lengths),
        "file_kb": len(data) / 1024,
        "save": summary(saves),
        "save_p95": percentile(saves, 0.95),
        "per_message_us": 1e6 * percentile(saves, 0.5) / messages,
        "parts": {name: summary(values) for name, values in parts.items()},
        "samples": saves,
    }


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    args = p.parse_args()
    sizes = QUICK_SIZES if args.quick else SIZES
    runs = args.runs or (5 if args.quick else 30)
    cases = []
    for messages in sizes:
        case = measure(messages, runs)
        cases.append(case)
        print(
            f"{messages:>5} messages: save p50 {case['save']['median'] * 1000:.1f} ms, "
            f"p95 {case['save_p95'] * 1000:.1f} ms",
            flush=True,
        )
    print_table(
        f"ConversationStore.save() after appending one message, {runs} saves each; "
        "median (min–max), ms",
        [
            "messages",
            "file KB",
            "save",
            "save p95",
            "to_json",
            "whole json.dumps",
            "write_atomic",
        ],
        [
            [
                f"{c['messages']:,}",
                f"{c['file_kb']:,.0f}",
                fmt(c["save"], 1000, 1),
                f"{c['save_p95'] * 1000:.1f}",
                fmt(c["parts"]["to_json"], 1000, 1),
                fmt(c["parts"]["dumps_whole"], 1000, 1),
                fmt(c["parts"]["write_atomic"], 1000, 1),
            ]
            for c in cases
        ],
    )
    write_results("saving", {"quick": args.quick, "runs": runs, "cases": cases})


if __name__ == "__main__":
    main()
