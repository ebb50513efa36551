"""Benchmark 6 — memory: RSS with 10,000 conversations in the library and a 2,000-message
conversation open.

    .venv/bin/python bench/memory.py [--quick] [--runs N]

Method. The library (10,000 conversations of 4 messages, plus one of 2,000 messages, the newest)
is written with ConversationStore and its index built. Each run is a fresh process: the app
(make_app, headless run_test() at 120x40, no server) starts; its RSS is read from /proc once the
sidebar holds every conversation and the screen has settled ("library"), then the long
conversation is opened from the sidebar and RSS is read again once its last message is shown
and the screen has settled ("open"); a run that never gets there is an error, not a figure.
VmHWM gives the peak. A run with an empty
library gives the baseline of Python + Textual + the app.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    SIZE,
    fmt,
    make_app,
    make_library,
    parser,
    peak_rss_mb,
    print_table,
    rss_mb,
    run_worker,
    runs_case,
    settled,
    unused_url,
    write_results,
)


async def settle(pilot: Any, app: Any, condition: Any, timeout: float) -> bool:
    """Wait until `condition` holds and the screen has nothing left to lay out or paint, over
    five looks 50 ms apart (pages of messages mount over a few frames); False on timeout."""
    deadline = time.monotonic() + timeout
    calm = 0
    while calm < 5:
        if time.monotonic() > deadline:
            return False
        await pilot.pause(0.05)
        calm = calm + 1 if condition() and settled(app.screen) else 0
    return True


async def one_run(data_dir: str, listed: int, long_id: str | None) -> dict[str, Any]:
    app = make_app(Path(data_dir), unused_url())
    async with app.run_test(size=SIZE) as pilot:
        if not await settle(pilot, app, lambda: app.chat.sidebar.summary_count == listed, 60):
            return {"error": f"the sidebar listed {app.chat.sidebar.summary_count} of {listed}"}
        gc.collect()
        library = rss_mb()
        opened = library
        if long_id:
            app.chat.sidebar.focus()
            await pilot.pause()
            app.chat.sidebar.highlight_id(long_id)
            await pilot.press("enter")

            def shown() -> bool:
                conversation = app.chat.conversation
                return conversation.id == long_id and (
                    app.chat.message_list.view_of(conversation.messages[-1]) is not None
                )

            if not await settle(pilot, app, shown, 60):
                return {"error": "the long conversation was not shown"}
            gc.collect()
            opened = rss_mb()
        mounted = len(app.chat.message_list.query("MessageView"))
    return {"library_mb": library, "open_mb": opened, "peak_mb": peak_rss_mb(), "mounted": mounted}


def worker(args: dict[str, Any]) -> None:
    print(json.dumps(asyncio.run(one_run(args["data_dir"], args["listed"], args["long_id"]))))


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    args = p.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return
    conversations, messages = (100, 100) if args.quick else (10_000, 2_000)
    runs = args.runs or (1 if args.quick else 3)
    root = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    empty = root / "empty" / "data"
    empty.mkdir(parents=True)
    full = root / "full" / "data"
    long_id = make_library(full, conversations, long_messages=messages)
    cases = []
    for label, data_dir, listed, conversation_id in (
        ("empty library", empty, 0, None),
        (
            f"{conversations:,} conversations + {messages:,}-message one open",
            full,
            conversations + 1,
            long_id,
        ),
    ):
        job = {"data_dir": str(data_dir), "listed": listed, "long_id": conversation_id}
        results = [run_worker(Path(__file__), job, 180) for _ in range(runs)]
        case = {"case": label, **runs_case(results, ("library_mb", "open_mb", "peak_mb"))}
        cases.append(case)
        print(f"{label}: {fmt(case['open_mb'])} MB (peak {fmt(case['peak_mb'])} MB)", flush=True)
    print_table(
        f"Resident memory of the app, headless 120x40, median (min–max) of {runs} run(s); MB",
        ["case", "RSS, library listed", "RSS, conversation open", "peak RSS"],
        [[c["case"], fmt(c["library_mb"]), fmt(c["open_mb"]), fmt(c["peak_mb"])] for c in cases],
    )
    write_results(
        "memory",
        {
            "quick": args.quick,
            "runs": runs,
            "conversations": conversations,
            "messages": messages,
            "cases": cases,
        },
    )


if __name__ == "__main__":
    main()
