"""Benchmark 1 — start-up: process start to first usable frame, with 0, 1,000 and 10,000
saved conversations.

    .venv/bin/python bench/startup.py [--quick] [--runs N] [--no-tmux]

Two methods, each timing a new process from just before it is spawned:

* tmux (a real terminal): `python -m ollama_tui --host … --data-dir …` runs in a detached
  120x40 tmux session; `tmux capture-pane` is polled every 10 ms until the screen shows the
  status line (the host), the prompt's placeholder and — with a library — the newest
  conversation's title in the sidebar. Includes tmux's own start (~10 ms) and the polling step.
* headless: a subprocess builds the app with make_app and runs it in `run_test()` at 120x40;
  a hook after each composed frame notes the first one where the sidebar holds every
  conversation, the prompt has focus and nothing is left to lay out. The subprocess also times
  its parts (imports, store.list(), sidebar.set_summaries()) for the profile.

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
    parser,
    print_table,
    run_worker,
    summary,
    write_results,
)

T_IMPORTED = time.monotonic()

SIZES = (0, 1000, 10000)
QUICK_SIZES = (0, 50)


async def headless_run(data_dir: str, url: str, count: int, spawned: float) -> dict[str, Any]:
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

    t_before_app = time.monotonic()
    app = make_app(Path(data_dir), url)
    probe = RefreshProbe().install()

    def usable(screen: Any) -> bool:
        sidebar = app.chat.sidebar
        listed = getattr(sidebar, "summary_count", sidebar.option_count)
        return (
            listed == count
            and (sidebar.option_count > 0) == (count > 0)
            and (app.focused is app.chat.prompt)
        )

    async with app.run_test(size=SIZE):
        seen = await probe.wait_for(usable, 60)
    if seen is None:
        return {"error": "no usable frame within 60 s"}
    return {
        "startup": seen[0] - spawned,
        "to_imports": T_IMPORTED - spawned,
        "interpreter_start": T_PROCESS - spawned,
        "app_start": seen[0] - t_before_app,
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


def tmux_run(data_dir: Path, url: str, title: str, home: Path) -> dict[str, Any]:
    session = f"bench-startup-{os.getpid()}-{time.monotonic_ns()}"
    command = (
        f"env XDG_CONFIG_HOME={home / 'config'} XDG_DATA_HOME={home / 'data'} TERM=xterm-256color "
        f"{sys.executable} -m ollama_tui --host {url} --data-dir {data_dir}"
    )
    needles = [url.removeprefix("http://"), "Message — Enter"]
    if title:
        needles.append(title[:15])
    else:
        needles.append("A new conversation")
    spawned = time.monotonic()
    size = ["-x", str(SIZE[0]), "-y", str(SIZE[1])]
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, *size, command],
        check=True,
        cwd=ROOT,
    )
    try:
        deadline = spawned + 60
        while time.monotonic() < deadline:
            screen = subprocess.run(
                ["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True
            ).stdout
            if all(needle in screen for needle in needles):
                return {"startup": time.monotonic() - spawned}
            time.sleep(0.01)
        return {"error": "the screen never showed the app within 60 s"}
    finally:
        subprocess.run(["tmux", "send-keys", "-t", session, "C-q"], capture_output=True)
        time.sleep(0.3)
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def compile_sources() -> None:
    """Write the `__pycache__` of every module the measured processes import from the repo."""
    for folder in ("ollama_tui", "bench", "tests"):
        compileall.compile_dir(ROOT / folder, quiet=1)


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--no-tmux", action="store_true", help="only the headless method")
    args = p.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return
    sizes = QUICK_SIZES if args.quick else SIZES
    runs = args.runs or (1 if args.quick else 5)
    use_tmux = not args.no_tmux and shutil.which("tmux") is not None
    compile_sources()
    root = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    cases = []
    with ServerProcess(token_delay=0.005) as server:
        for count in sizes:
            data_dir = root / f"library-{count}" / "data"
            generated = time.perf_counter()
            make_library(data_dir, count)
            generated = time.perf_counter() - generated
            title = newest_title(data_dir)
            headless, tty = [], []
            for _ in range(runs):
                headless.append(
                    run_worker(
                        Path(__file__),
                        {
                            "data_dir": str(data_dir),
                            "url": server.url,
                            "count": count,
                            "spawned": time.monotonic(),
                        },
                        timeout=120,
                    )
                )
                if use_tmux:
                    tty.append(tmux_run(data_dir, server.url, title, root / "home"))
            good = [r for r in headless if "error" not in r]
            case = {
                "conversations": count,
                "library_generation_s": generated,
                "headless": summary([r["startup"] for r in good]),
                "headless_parts": {
                    key: summary([r[key] for r in good])
                    for key in (
                        "interpreter_start",
                        "to_imports",
                        "app_start",
                        "store_list",
                        "set_summaries",
                    )
                },
                "tmux": summary([r["startup"] for r in tty if "error" not in r]),
                "errors": [r["error"] for r in headless + tty if "error" in r],
                "runs": {"headless": headless, "tmux": tty},
            }
            cases.append(case)
            print(
                f"{count:>6} conversations: tmux {fmt(case['tmux'], 1000)} ms, "
                f"headless {fmt(case['headless'], 1000)} ms"
                + (f", errors {case['errors']}" if case["errors"] else ""),
                flush=True,
            )
    shutil.rmtree(root, ignore_errors=True)
    rows = [
        [
            f"{c['conversations']:,}",
            fmt(c["tmux"], 1000),
            fmt(c["headless"], 1000),
            fmt(c["headless_parts"]["to_imports"], 1000),
            fmt(c["headless_parts"]["store_list"], 1000),
            fmt(c["headless_parts"]["set_summaries"], 1000),
        ]
        for c in cases
    ]
    print_table(
        f"Start-up to first usable frame, 120x40, median (min–max) of {runs} run(s); ms",
        [
            "conversations",
            "tmux (real terminal)",
            "headless",
            "of which imports",
            "store.list()",
            "sidebar.set_summaries()",
        ],
        rows,
    )
    write_results("startup", {"quick": args.quick, "runs": runs, "cases": cases})


if __name__ == "__main__":
    main()
