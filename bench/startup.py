"""Benchmark 1 — start-up: process start to first usable frame, with 0, 1,000 and 10,000
saved conversations.

    .venv/bin/python bench/startup.py [--quick] [--runs N] [--no-tmux]

Two methods, each timing a new process from just before it is spawned:

* tmux (a real terminal): `python -m ollama_tui --host … --data-dir …` runs in a detached
  120x40 tmux session; `tmux capture-pane` is polled every 10 ms until the screen shows the
  status line (the host), the prompt's placeholder and — with a library — the newest
  conversation's title in the sidebar (usable: the list, the conversation and the prompt), then
  until the parameter panel's fields and the footer's keys are drawn too (the whole page).
  Includes tmux's own start (~10 ms) and the polling step.
* headless: a subprocess builds the app with make_app and runs it in `run_test()` at 120x40;
  a hook after each composed frame notes the first one where the sidebar holds every
  conversation and the prompt has focus, then the first one with the panel's fields and the
  footer's keys too (the whole page). The subprocess also times its consecutive parts, which
  add up to its total: Python's start, importing the benchmark's helpers (the store and config,
  and the fake server's module, which the app itself does not import), importing the app with
  Textual, make_app, and from there to the first usable frame (of which store.list() and
  sidebar.set_summaries()).

Runs alternate (`--runs` rounds, 9 by default): each round starts every library with both
methods, the order reversed every other round, so the load of a shared machine drifts over all
cases alike. Each figure is the median with the middle half of the runs [p25–p75] and all of
them (min–max); the parts are those of the median run, so they add up to the figure shown.

The library is written with ConversationStore (4 messages each) and its index built once, as the
first start would; the fake Ollama runs in its own process. The project's bytecode caches are
written first, as installing the app does: otherwise (with PYTHONDONTWRITEBYTECODE set) every
measured start would also compile the app's sources (~0.08 s of CPU on the 2-core machine).
"""

from __future__ import annotations

import asyncio
import compileall
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

T_PROCESS = time.monotonic()  # for a worker: as early as this module can note it

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    ROOT,
    SIZE,
    RefreshProbe,
    ServerProcess,
    fmt,
    make_library,
    nothing_pending,
    parser,
    print_table,
    run_worker,
    spread,
    summary,
    write_results,
)

SIZES = (0, 1000, 10000)
QUICK_SIZES = (0, 50)


async def headless_run(data_dir: str, url: str, count: int, spawned: float) -> dict[str, Any]:
    from textual.widgets._footer import FooterKey

    from ollama_tui.chat.store import ConversationStore
    from ollama_tui.ui.widgets.sidebar import ConversationSidebar

    parts: dict[str, float] = {}

    def timed(cls: type, name: str) -> None:
        original = getattr(cls, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                parts[name] = parts.get(name, 0.0) + time.perf_counter() - started

        setattr(cls, name, wrapper)

    timed(ConversationStore, "list")
    timed(ConversationSidebar, "set_summaries")
    from _common import make_app

    t_started_imports = time.monotonic()
    import ollama_tui.ui.app  # noqa: F401  (what make_app imports first: the app and Textual)

    t_app_imported = time.monotonic()
    app = make_app(Path(data_dir), url)
    t_app_built = time.monotonic()
    probe = RefreshProbe().install()

    def usable(screen: Any) -> bool:
        sidebar = app.chat.sidebar
        listed = getattr(sidebar, "summary_count", sidebar.option_count)
        return (
            listed == count
            and (sidebar.option_count > 0) == (count > 0)
            and (app.focused is app.chat.prompt)
        )

    def whole(screen: Any) -> bool:
        chat = app.chat
        return usable(screen) and bool(chat.query("#model-select")) and bool(chat.query(FooterKey))

    # Watching from before the app starts: its first frames can come before run_test() yields.
    # Usable: the frame shows the list, the conversation and the prompt, though the rest of the
    # page is still being made (so the screen as a whole is not settled yet).
    watch_usable = asyncio.ensure_future(
        probe.wait_for(
            lambda screen: usable(screen) and nothing_pending(app.chat), 60, settle=False
        )
    )
    watch_whole = asyncio.ensure_future(probe.wait_for(whole, 60))
    async with app.run_test(size=SIZE):
        seen, seen_whole = await watch_usable, await watch_whole
    if seen is None or seen_whole is None:
        return {"error": "no usable or whole frame within 60 s"}
    # The parts add up to the whole, run by run.
    return {
        "startup": seen[0] - spawned,
        "whole": seen_whole[0] - spawned,
        "python_start": T_PROCESS - spawned,
        "domain_imports": t_started_imports - T_PROCESS,
        "app_imports": t_app_imported - t_started_imports,
        "app_built": t_app_built - t_app_imported,
        "first_frame": seen[0] - t_app_built,
        "store_list": parts.get("list", 0.0),
        "set_summaries": parts.get("set_summaries", 0.0),
    }


def worker(args: dict[str, Any]) -> None:
    result = asyncio.run(
        headless_run(args["data_dir"], args["url"], args["count"], args["spawned"])
    )
    print(json.dumps(result))


def newest_title(data_dir: Path) -> str:
    from ollama_tui.chat.store import ConversationStore

    summaries = ConversationStore(data_dir).list()
    return summaries[0].title if summaries else ""


TMUX = ["tmux", "-L", f"ollama-tui-bench-{os.getpid()}"]
"""tmux on a server of this benchmark's own, apart from anyone else's sessions."""


WHOLE_PAGE = ("Temperature", "Quit")
"""On screen once the parameter panel's fields and the footer's keys are drawn."""


def tmux_run(data_dir: Path, url: str, title: str, home: Path) -> dict[str, Any]:
    session = f"bench-startup-{os.getpid()}-{time.monotonic_ns()}"
    command = (
        f"env XDG_CONFIG_HOME={home / 'config'} XDG_DATA_HOME={home / 'data'} "
        f"XDG_STATE_HOME={home / 'state'} TERM=xterm-256color "
        f"{sys.executable} -m ollama_tui --host {url} --data-dir {data_dir}"
    )
    needles = [url.removeprefix("http://"), "Enter sends"]
    if title:
        needles.append(title[:15])
    else:
        needles.append("A new conversation")
    size = ["-x", str(SIZE[0]), "-y", str(SIZE[1])]
    for _ in range(5):
        spawned = time.monotonic()
        started = subprocess.run(
            [*TMUX, "new-session", "-d", "-s", session, *size, command],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        if started.returncode == 0:
            break
        # The previous run's tmux server may still be exiting ("server exited unexpectedly").
        time.sleep(0.2)
    else:
        return {"error": f"tmux did not start: {started.stderr.strip()}"}
    usable = None
    try:
        deadline = spawned + 60
        while time.monotonic() < deadline:
            screen = subprocess.run(
                [*TMUX, "capture-pane", "-p", "-t", session], capture_output=True, text=True
            ).stdout
            now = time.monotonic() - spawned
            if usable is None and all(needle in screen for needle in needles):
                usable = now
            if usable is not None and all(needle in screen for needle in WHOLE_PAGE):
                return {"startup": usable, "whole": now}
            time.sleep(0.01)
        return {"error": "the screen never showed the app within 60 s"}
    finally:
        subprocess.run([*TMUX, "send-keys", "-t", session, "C-q"], capture_output=True)
        time.sleep(0.3)
        subprocess.run([*TMUX, "kill-session", "-t", session], capture_output=True)


def compile_sources() -> None:
    """Write the `__pycache__` of every module the measured processes import from the repo."""
    for folder in ("ollama_tui", "bench", "tests"):
        compileall.compile_dir(ROOT / folder, quiet=1)


PARTS = ("python_start", "domain_imports", "app_imports", "app_built", "first_frame")
"""A headless run's consecutive parts: they add up to its start-up time."""
PART_NAMES = {
    "python_start": "Python start",
    "domain_imports": "imports: bench helpers, store, config",
    "app_imports": "imports: the app, Textual",
    "app_built": "make_app",
    "first_frame": "→ first usable frame",
}


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The run whose start-up is the median (the lower one of an even count): its parts add up
    to the figure shown, which medians of each part would not."""
    good = sorted((r for r in runs if "error" not in r), key=lambda r: r["startup"])
    return good[(len(good) - 1) // 2] if good else None


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--no-tmux", action="store_true", help="only the headless method")
    args = p.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return
    if not args.no_tmux and shutil.which("tmux") is None:
        sys.exit("tmux not found: install it (the real-terminal method needs it) or pass --no-tmux")
    sizes = QUICK_SIZES if args.quick else SIZES
    rounds = args.runs or (1 if args.quick else 9)
    compile_sources()
    root = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    libraries: dict[int, tuple[Path, str, float]] = {}
    for count in sizes:
        data_dir = root / f"library-{count}" / "data"
        generated = time.perf_counter()
        make_library(data_dir, count)
        libraries[count] = (data_dir, newest_title(data_dir), time.perf_counter() - generated)
    headless: dict[int, list[dict[str, Any]]] = {count: [] for count in sizes}
    tty: dict[int, list[dict[str, Any]]] = {count: [] for count in sizes}
    with ServerProcess(token_delay=0.005) as server:
        for round_number in range(rounds):
            # Alternating: every round runs every library and both methods, in an order that
            # reverses from one round to the next, so the machine's load drifts over all alike.
            order = sizes if round_number % 2 == 0 else tuple(reversed(sizes))
            for count in order:
                data_dir, title, _ = libraries[count]
                methods = ["headless", "tmux"] if not args.no_tmux else ["headless"]
                if round_number % 2:
                    methods.reverse()
                for method in methods:
                    if method == "tmux":
                        tty[count].append(tmux_run(data_dir, server.url, title, root / "home"))
                        continue
                    job = {
                        "data_dir": str(data_dir),
                        "url": server.url,
                        "count": count,
                        "spawned": time.monotonic(),
                    }
                    headless[count].append(run_worker(Path(__file__), job, timeout=120))
            print(f"round {round_number + 1} of {rounds} done", flush=True)
    shutil.rmtree(root, ignore_errors=True)
    cases = []
    for count in sizes:
        good = [r for r in headless[count] if "error" not in r]
        middle = median_run(headless[count])
        case = {
            "conversations": count,
            "library_generation_s": libraries[count][2],
            "tmux": summary([r["startup"] for r in tty[count] if "error" not in r]),
            "tmux_whole": summary([r["whole"] for r in tty[count] if "error" not in r]),
            "headless": summary([r["startup"] for r in good]),
            "headless_whole": summary([r["whole"] for r in good]),
            "headless_parts": {
                key: summary([r[key] for r in good])
                for key in (*PARTS, "store_list", "set_summaries")
            },
            "median_run": middle,
            "errors": [r["error"] for r in headless[count] + tty[count] if "error" in r],
            "runs": {"headless": headless[count], "tmux": tty[count]},
        }
        cases.append(case)
    ms = {"scale": 1000}
    print_table(
        f"Start-up to the first usable frame and to the whole page, 120x40, {rounds} "
        "alternating round(s); median, interquartile range [p25–p75] and (min–max), ms",
        [
            "conversations",
            "tmux: usable",
            "tmux: whole page",
            "headless: usable",
            "headless: whole page",
            "errors",
        ],
        [
            [
                f"{c['conversations']:,}",
                spread(c["tmux"], **ms),
                spread(c["tmux_whole"], **ms),
                spread(c["headless"], **ms),
                spread(c["headless_whole"], **ms),
                str(len(c["errors"])),
            ]
            for c in cases
        ],
    )
    print_table(
        "Headless: the parts of the median run, which add up to its total; ms",
        [
            "conversations",
            "total",
            *(PART_NAMES[key] for key in PARTS),
            "of which store.list()",
            "sidebar.set_summaries()",
        ],
        [
            [
                f"{c['conversations']:,}",
                *(
                    f"{c['median_run'][key] * 1000:,.0f}"
                    for key in ("startup", *PARTS, "store_list", "set_summaries")
                ),
            ]
            for c in cases
            if c["median_run"]
        ],
    )
    print_table(
        "Headless: each part's own median (min–max) over the runs; ms",
        [
            "conversations",
            *(PART_NAMES[key] for key in PARTS),
            "store.list()",
            "sidebar.set_summaries()",
        ],
        [
            [
                f"{c['conversations']:,}",
                *(
                    fmt(c["headless_parts"][key], **ms)
                    for key in (*PARTS, "store_list", "set_summaries")
                ),
            ]
            for c in cases
        ],
    )
    write_results("startup", {"quick": args.quick, "runs": rounds, "cases": cases})


if __name__ == "__main__":
    main()
