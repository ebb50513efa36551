"""Benchmark 12 — the models screen with very many models: opening it, sorting, moving, memory.

    .venv/bin/python bench/models.py [--quick] [--runs N] [--sizes 1000,10000,100000] [--picker]

Method. For each size N, the fake Ollama (`python -m tests.fake_ollama --models N`, its own
process) serves N synthetic models. Each run is a fresh process: the app (make_app, headless
run_test() at 120x40) starts and waits until it is connected and has listed the models. Then,
in the app's event loop:

* "listing": one `client.list_models()` on its own (HTTP, JSON, N model summaries), the part
  of opening the screen that does not depend on how the screen shows the models;
* "open": the models screen is pushed, until it holds N rows and has nothing left to lay out or
  paint (so its first rows are on screen); it includes one listing;
* "sort": the sort key pressed three times (by name, by parameters, by quantisation), each
  until the screen has settled again; the median of the three;
* "end": End (the last model, or the last column for a table that scrolls sideways on End),
  until settled;
* memory: RSS before the screen opens, the peak (VmHWM, reset just before opening) while it
  opens and sorts, and the growth between the two.

With --picker, the model picker (ctrl+l) instead, in the same kind of run:

* "open": ctrl+l until the picker lists its first rows and has settled (the models are held
  already; the picker asks the server again meanwhile, which is waited for before typing);
* "key": each of the keys "054" typed into its filter, until settled; the median of the three;
* memory: RSS before ctrl+l, RSS with the picker open (after a garbage collection) and the
  peak (VmHWM) from just before ctrl+l.

Pilot's press waits for the app to go idle, which includes the key's work and its repaint.
"""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    ROOT,
    SIZE,
    fmt,
    make_app,
    parser,
    peak_rss_mb,
    print_table,
    reset_peak_rss,
    rss_mb,
    run_worker,
    runs_case,
    settled,
    wait_connected,
    write_results,
)


async def until_settled(pilot: Any, screen: Any, condition: Any, timeout: float) -> float:
    """Seconds until `condition` holds and `screen` has settled; inf on timeout."""
    start = time.perf_counter()
    while not (condition() and settled(screen)):
        if time.perf_counter() - start > timeout:
            return float("inf")
        await pilot.pause(0.005)
    return time.perf_counter() - start


async def one_run(url: str, models: int) -> dict[str, Any]:
    from ollama_tui.ui.screens.models import ModelsScreen

    app = make_app(Path(tempfile.mkdtemp(prefix="bench-models-")) / "data", url)
    async with app.run_test(size=SIZE) as pilot:
        if not await wait_connected(app, pilot, timeout=600):
            return {"error": "the app did not list the server's models"}
        client = app.session.hosts.client
        start = time.perf_counter()
        listed = len(await client.list_models())
        listing = time.perf_counter() - start
        if listed != models:
            return {"error": f"the server listed {listed} models, not {models}"}
        gc.collect()
        rss_before = rss_mb()
        reset_peak_rss()

        start = time.perf_counter()
        screen = ModelsScreen(client)
        await app.push_screen(screen)
        await until_settled(pilot, screen, lambda: screen.installed.row_count == models, 600)
        opened = time.perf_counter() - start
        if screen.installed.row_count != models:
            return {"error": f"the screen showed {screen.installed.row_count} of {models}"}

        sorts = []
        for key in ("s", "s", "s"):
            start = time.perf_counter()
            await pilot.press(key)
            await until_settled(pilot, screen, lambda: True, 600)
            sorts.append(time.perf_counter() - start)
        start = time.perf_counter()
        await pilot.press("end")
        await until_settled(pilot, screen, lambda: True, 600)
        end = time.perf_counter() - start
        peak = peak_rss_mb()
    return {
        "listing": listing,
        "open": opened,
        "sort": sorted(sorts)[1],
        "end": end,
        "rss_before_mb": rss_before,
        "peak_mb": peak,
        "growth_mb": peak - rss_before,
    }


async def picker_run(url: str, models: int) -> dict[str, Any]:
    from ollama_tui.ui.screens.picker import PickerScreen

    app = make_app(Path(tempfile.mkdtemp(prefix="bench-picker-")) / "data", url)
    async with app.run_test(size=SIZE) as pilot:
        if not await wait_connected(app, pilot, timeout=600):
            return {"error": "the app did not list the server's models"}
        gc.collect()
        rss_before = rss_mb()
        reset_peak_rss()
        start = time.perf_counter()
        await pilot.press("ctrl+l")

        def listed() -> bool:
            return isinstance(app.screen, PickerScreen) and bool(
                app.screen.query_one("#picker-options").option_count
            )

        await until_settled(pilot, app.screen, listed, 600)
        opened = time.perf_counter() - start

        def refreshed() -> bool:
            return not any(w.group == "picker-refresh" and not w.is_finished for w in app.workers)

        await until_settled(pilot, app.screen, refreshed, 600)
        keys = []
        for key in "054":
            start = time.perf_counter()
            await pilot.press(key)
            await until_settled(pilot, app.screen, lambda: True, 600)
            keys.append(time.perf_counter() - start)
        gc.collect()
        rss_open = rss_mb()
        peak = peak_rss_mb()
    return {
        "open": opened,
        "key": sorted(keys)[1],
        "rss_before_mb": rss_before,
        "rss_open_mb": rss_open,
        "peak_mb": peak,
    }


def worker(args: dict[str, Any]) -> None:
    run = picker_run if args.get("picker") else one_run
    print(json.dumps(asyncio.run(run(args["url"], args["models"]))))


class Server:
    """`python -m tests.fake_ollama --models N` in its own process."""

    def __init__(self, models: int) -> None:
        command = [sys.executable, "-m", "tests.fake_ollama", "--port", "0", "--models"]
        self.process = subprocess.Popen(
            [*command, str(models)], stdout=subprocess.PIPE, text=True, cwd=ROOT
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip().rsplit(" ", 1)[-1]
        if not self.url.startswith("http://"):
            self.stop()
            raise RuntimeError("the fake Ollama did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1000,10000,100000", help="numbers of models, by commas")
    p.add_argument("--picker", action="store_true", help="the model picker (ctrl+l) instead")
    args = p.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return
    sizes = [200] if args.quick else [int(size) for size in args.sizes.split(",")]
    runs = args.runs or (1 if args.quick else 3)
    if args.picker:
        keys: tuple[str, ...] = ("open", "key", "rss_before_mb", "rss_open_mb", "peak_mb")
    else:
        keys = ("listing", "open", "sort", "end", "rss_before_mb", "peak_mb", "growth_mb")
    cases = []
    for models in sizes:
        server = Server(models)
        try:
            job = {"url": server.url, "models": models, "picker": args.picker}
            results = [run_worker(Path(__file__), job, 1800) for _ in range(runs)]
        finally:
            server.stop()
        case = {"models": models, **runs_case(results, keys)}
        cases.append(case)
        print(f"{models:,} models: open {fmt(case['open'], 1000)} ms", flush=True)
    if args.picker:
        print_picker(cases, runs)
        write_results("models-picker", {"quick": args.quick, "runs": runs, "cases": cases})
        return
    print_table(
        f"The models screen, headless 120x40, median (min–max) of {runs} run(s)",
        ["models", "listing ms", "open ms", "sort ms", "end ms", "peak MB", "growth MB"],
        [
            [
                f"{c['models']:,}",
                fmt(c["listing"], 1000),
                fmt(c["open"], 1000),
                fmt(c["sort"], 1000),
                fmt(c["end"], 1000),
                fmt(c["peak_mb"]),
                fmt(c["growth_mb"]),
            ]
            for c in cases
        ],
    )
    write_results("models", {"quick": args.quick, "runs": runs, "cases": cases})


def print_picker(cases: list[dict[str, Any]], runs: int) -> None:
    print_table(
        f"The model picker (ctrl+l), headless 120x40, median (min–max) of {runs} run(s)",
        ["models", "open ms", "key ms", "RSS before MB", "RSS open MB", "peak MB"],
        [
            [
                f"{c['models']:,}",
                fmt(c["open"], 1000),
                fmt(c["key"], 1000),
                fmt(c["rss_before_mb"]),
                fmt(c["rss_open_mb"]),
                fmt(c["peak_mb"]),
            ]
            for c in cases
        ],
    )


if __name__ == "__main__":
    main()
