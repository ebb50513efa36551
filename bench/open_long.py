"""Benchmark 4 — opening a 2,000-message conversation: time to first view, then scrolling to its
top.

    .venv/bin/python bench/open_long.py [--quick] [--runs N] [--messages 2000]

Method. A library of 20 short conversations plus one of 2,000 messages (the newest, so first
in the sidebar) is written with ConversationStore. Each run is a fresh process: the app
(make_app, headless run_test() at 120x40) starts, the sidebar gets focus with the long
conversation highlighted, and Enter is sent through the driver. "First view" is the first
composed frame, with nothing left to lay out, where the conversation's last message is mounted
and inside the visible part of the message list. Then PageUp is sent, one at a time, each as
soon as the previous one's frame is composed (the position or the number of loaded messages
changed), until the first message is loaded and the list is at its top: the total time, the
number of key presses, and each press's latency (p50/p95/max; the presses that mounted earlier
messages separately) are reported.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    SIZE,
    RefreshProbe,
    WindowProfiler,
    fmt,
    make_app,
    make_library,
    parser,
    percentile,
    press,
    print_table,
    rss_mb,
    run_worker,
    summary,
    unused_url,
    write_results,
)


async def one_run(data_dir: str, long_id: str, messages: int, limit: float) -> dict[str, Any]:
    app = make_app(Path(data_dir), unused_url())
    probe = RefreshProbe().install()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.chat.sidebar.focus()
        await pilot.pause()
        app.chat.sidebar.highlight_id(long_id)
        await pilot.pause()
        message_list = app.chat.message_list

        def latest_visible(screen: Any) -> bool:
            conversation = app.chat.conversation
            if conversation.id != long_id:
                return False
            last = conversation.messages[-1]
            view = message_list.view_of(last)
            if view is None or not view.region:
                return False
            body = view.query_one("MessageBody")
            if last.content and not (body.children and body.children[-1].region):
                return False  # its Markdown is not rendered and laid out yet
            return bool(view.region.intersection(message_list.region))

        profiler = WindowProfiler()
        profiler.start()
        started = time.monotonic()
        press(app, "enter")
        # The first frame that draws the latest message's text is the first view; the rest of
        # the page is mounted right after it, so that frame need not be "settled".
        seen = await probe.wait_for(latest_visible, 60, settle=False)
        profiler.stop()
        if seen is None:
            return {"error": "the conversation was not shown within 60 s"}
        first_view = seen[0] - started
        mounted_at_open = len(message_list.query("MessageView"))
        rss_open = rss_mb()
        app.chat.prompt.focus()
        await pilot.pause()

        def state() -> tuple[float, int]:
            return (message_list.scroll_y, message_list._first_shown)

        latencies: list[float] = []
        loading: list[float] = []
        scroll_started = time.monotonic()
        while time.monotonic() - scroll_started < limit:
            before = state()
            if before == (0, 0):
                break
            pressed = time.monotonic()
            press(app, "pageup")
            moved = await probe.wait_for(lambda screen, before=before: state() != before, 10)
            if moved is None:
                break
            latencies.append(moved[0] - pressed)
            if state()[1] != before[1]:
                loading.append(moved[0] - pressed)
        at_top = state() == (0, 0)
        scroll_total = time.monotonic() - scroll_started
        mounted_at_top = len(message_list.query("MessageView"))
        rss_top = rss_mb()
    return {
        "first_view": first_view,
        "mounted_at_open": mounted_at_open,
        "reached_top": at_top,
        "scroll_to_top": scroll_total,
        "presses": len(latencies),
        "press_p50": percentile(latencies, 0.5),
        "press_p95": percentile(latencies, 0.95),
        "press_max": max(latencies) if latencies else float("nan"),
        "load_p50": percentile(loading, 0.5),
        "load_max": max(loading) if loading else float("nan"),
        "loads": len(loading),
        "mounted_at_top": mounted_at_top,
        "rss_open_mb": rss_open,
        "rss_top_mb": rss_top,
    }


def worker(args: dict[str, Any]) -> None:
    result = asyncio.run(
        one_run(args["data_dir"], args["long_id"], args["messages"], args["limit"])
    )
    print(json.dumps(result))


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=None)
    p.add_argument("--limit", type=float, default=300.0, help="seconds allowed for scrolling")
    args = p.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return
    messages = args.messages or (40 if args.quick else 2000)
    runs = args.runs or (1 if args.quick else 3)
    data_dir = Path(tempfile.mkdtemp(prefix="bench-open-")) / "data"
    long_id = make_library(data_dir, 20, long_messages=messages)
    results = []
    for _ in range(runs):
        result = run_worker(
            Path(__file__),
            {
                "data_dir": str(data_dir),
                "long_id": long_id,
                "messages": messages,
                "limit": args.limit,
            },
            timeout=args.limit + 120,
        )
        results.append(result)
        if "error" in result:
            print(f"error: {result['error']}", file=sys.stderr)
            continue
        print(
            f"first view {result['first_view'] * 1000:.0f} ms ({result['mounted_at_open']} "
            f"mounted); to the top {result['scroll_to_top']:.1f} s in {result['presses']} "
            f"PageUps (p95 {result['press_p95'] * 1000:.0f} ms), reached: {result['reached_top']}",
            flush=True,
        )
    good = [r for r in results if "error" not in r]
    keys = (
        "first_view",
        "scroll_to_top",
        "presses",
        "press_p50",
        "press_p95",
        "press_max",
        "load_p50",
        "load_max",
        "mounted_at_top",
        "rss_open_mb",
        "rss_top_mb",
    )
    case = {key: summary([r[key] for r in good]) for key in keys}
    print_table(
        f"Opening a {messages:,}-message conversation, headless 120x40, median (min–max) of "
        f"{len(good)} run(s)",
        [
            "first view ms",
            "PageUps to top",
            "to top s",
            "PageUp p50/p95/max ms",
            "loading PageUp p50/max ms",
            "RSS open → top MB",
        ],
        [
            [
                fmt(case["first_view"], 1000),
                fmt(case["presses"]),
                fmt(case["scroll_to_top"], 1, 1),
                f"{fmt(case['press_p50'], 1000)} / {fmt(case['press_p95'], 1000)} / "
                f"{fmt(case['press_max'], 1000)}",
                f"{fmt(case['load_p50'], 1000)} / {fmt(case['load_max'], 1000)}",
                f"{fmt(case['rss_open_mb'])} → {fmt(case['rss_top_mb'])}",
            ]
        ],
    )
    write_results(
        "open_long",
        {
            "quick": args.quick,
            "runs": runs,
            "messages": messages,
            "summary": case,
            "results": results,
            "errors": [r["error"] for r in results if "error" in r],
        },
    )


if __name__ == "__main__":
    main()
