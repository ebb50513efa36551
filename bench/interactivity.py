"""Benchmark 3 — interactivity: keystroke latency while a reply streams at 200 tokens/s for 30 s
in a conversation with 500 earlier messages.

    .venv/bin/python bench/interactivity.py [--quick] [--runs N] [--seconds 30]

Method. The fake Ollama runs in its own process with token_delay=0.005 (200 tokens/s). The app
(make_app, headless run_test() at 120x40) opens a saved conversation of 500 messages from the
sidebar and sends a message; the reply streams for `--seconds`. Meanwhile the benchmark types a
letter into the prompt every 100 ms (±30 ms), sending each key through the driver as a terminal
would (Pilot's press() would wait for the app to go idle, which it never does while streaming).
A hook after every composed frame looks at the prompt: a keystroke's latency is from sending
the key to the first frame composed after the prompt's text holds it and the prompt has been
repainted; a keystroke that never appears counts as a failure, infinitely late, in every
percentile (and is counted apart). CPU% is the client process's CPU time over the streaming
window ÷ its wall time.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    SIZE,
    RefreshProbe,
    ServerProcess,
    WindowProfiler,
    fmt,
    long_conversation,
    make_app,
    parser,
    percentile,
    press,
    print_table,
    reply_request,
    run_worker,
    summary,
    write_results,
)

from ollama_tui.chat.store import ConversationStore

TOKENS_PER_SECOND = 200


async def one_run(url: str, history: int, seconds: float) -> dict[str, Any]:
    from ollama_tui.ui.widgets.status_bar import Connection

    data_dir = Path(tempfile.mkdtemp(prefix="bench-interactive-")) / "data"
    conversation = long_conversation(history)
    ConversationStore(data_dir).save(conversation)
    app = make_app(data_dir, url)
    probe = RefreshProbe().install()
    tokens = int(TOKENS_PER_SECOND * seconds)
    async with app.run_test(size=SIZE) as pilot:
        deadline = time.monotonic() + 15
        while not (
            app.chat.status.connection is Connection.CONNECTED and app.session.models.listed
        ):
            if time.monotonic() > deadline:
                return {"error": "not connected"}
            await pilot.pause(0.02)
        app.chat.sidebar.focus()
        await pilot.pause()
        app.chat.sidebar.highlight_id(conversation.id)
        await pilot.press("enter")
        deadline = time.monotonic() + 30
        while app.chat.conversation.id != conversation.id:
            if time.monotonic() > deadline:
                return {"error": "the saved conversation did not open"}
            await pilot.pause(0.02)
        await pilot.pause()
        app.chat.prompt.text = reply_request("paragraphs", tokens)
        press(app, "enter")
        # Wait for the reply's first words (a long history may be summarised first).
        deadline = time.monotonic() + 60
        while not any(live.content for live in app.chat.replies.values()):
            if time.monotonic() > deadline:
                return {"error": "the reply did not start"}
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)

        sent: list[float] = []
        shown: dict[int, float] = {}

        def on_frame(screen: Any, now: float) -> None:
            prompt = app.chat.prompt
            if prompt._repaint_required or prompt._layout_required:
                return
            for index in range(min(len(prompt.text), len(sent))):
                if index not in shown:
                    shown[index] = now - sent[index]

        probe.hooks.append(on_frame)
        rng = random.Random(5)
        letters = "the quick brown fox jumps over the lazy dog "
        profiler = WindowProfiler()
        profiler.start()
        started, cpu_started = time.monotonic(), time.process_time()
        while app.chat.replies_in_progress and time.monotonic() - started < seconds + 30:
            sent.append(time.monotonic())
            press(app, letters[len(sent) % len(letters)])
            await asyncio.sleep(0.1 + rng.uniform(-0.03, 0.03))
        wall, cpu = time.monotonic() - started, time.process_time() - cpu_started
        profiler.stop()
        for _ in range(50):  # let the last keystrokes show
            if len(shown) >= len(sent):
                break
            await asyncio.sleep(0.02)
        probe.hooks.remove(on_frame)
        mounted = len(app.chat.message_list.query("MessageView"))
        app.chat.prompt.clear()
        await pilot.pause()  # handle the prompt's queued changes while the screen is alive
    # A keystroke that never appeared is a failure: it counts, as never shown, in every
    # percentile (a p95 reaching one is infinite, printed as such).
    latencies = [shown.get(index, math.inf) for index in range(len(sent))]
    return {
        "keystrokes": len(sent),
        "shown": len(shown),
        "not_shown": len(sent) - len(shown),
        "p50": percentile(latencies, 0.5),
        "p95": percentile(latencies, 0.95),
        "max": max(latencies) if latencies else float("nan"),
        "cpu_percent": 100 * cpu / wall,
        "stream_seconds": wall,
        "mounted_messages": mounted,
        "latencies": latencies,
    }


def worker(args: dict[str, Any]) -> None:
    print(json.dumps(asyncio.run(one_run(args["url"], args["history"], args["seconds"]))))


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=None, help="how long the reply streams")
    p.add_argument("--history", type=int, default=None, help="earlier messages")
    args = p.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return
    seconds = args.seconds or (2.0 if args.quick else 30.0)
    history = args.history or (20 if args.quick else 500)
    runs = args.runs or (1 if args.quick else 3)
    results = []
    with ServerProcess(token_delay=1 / TOKENS_PER_SECOND) as server:
        for _ in range(runs):
            result = run_worker(
                Path(__file__),
                {"url": server.url, "history": history, "seconds": seconds},
                timeout=seconds + 180,
            )
            results.append(result)
            if "error" in result:
                print(f"error: {result['error']}", file=sys.stderr)
                continue
            print(
                f"p50 {result['p50'] * 1000:.0f} ms, p95 {result['p95'] * 1000:.0f} ms, "
                f"max {result['max'] * 1000:.0f} ms over {result['shown']}/{result['keystrokes']}"
                f" keystrokes, CPU {result['cpu_percent']:.0f}%",
                flush=True,
            )
    good = [r for r in results if "error" not in r]
    case = {
        key: summary([r[key] for r in good])
        for key in ("p50", "p95", "max", "cpu_percent", "keystrokes", "not_shown")
    }
    print_table(
        f"Keystroke → character on screen while streaming {TOKENS_PER_SECOND} tokens/s for "
        f"{seconds:g} s, {history} earlier messages; median (min–max) of {len(good)} run(s)",
        ["p50 ms", "p95 ms", "max ms", "client CPU %", "keystrokes per run", "never shown"],
        [
            [
                fmt(case["p50"], 1000),
                fmt(case["p95"], 1000),
                fmt(case["max"], 1000),
                fmt(case["cpu_percent"]),
                fmt(case["keystrokes"]),
                fmt(case["not_shown"]),
            ]
        ],
    )
    write_results(
        "interactivity",
        {
            "quick": args.quick,
            "runs": runs,
            "seconds": seconds,
            "history": history,
            "tokens_per_second": TOKENS_PER_SECOND,
            "summary": case,
            "results": results,
            "errors": [r["error"] for r in results if "error" in r],
        },
    )


if __name__ == "__main__":
    main()
