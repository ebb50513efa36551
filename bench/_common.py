"""Shared helpers for the benchmarks: data, the fake server, timing probes, statistics, output.

Every benchmark script imports this module first; it puts the repository root on `sys.path` so
`ollama_tui` and `tests.fake_ollama` import from a plain `python bench/<name>.py`, and it keeps
the benchmarks away from the user's own config and data (XDG folders point at a temp dir).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = Path(os.environ.get("BENCH_RESULTS_DIR") or BENCH / "results")
"""Where each benchmark writes <name>.json (the smoke test points this at a temp dir)."""
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

_SANDBOX = Path(tempfile.mkdtemp(prefix="ollama-tui-bench-home-"))
os.environ.setdefault("XDG_CONFIG_HOME", str(_SANDBOX / "config"))
os.environ.setdefault("XDG_DATA_HOME", str(_SANDBOX / "data"))
os.environ["TZ"] = "UTC"
time.tzset()

from ollama_tui.chat.conversation import Conversation, Message, MessageState, Role  # noqa: E402
from ollama_tui.chat.store import ConversationStore  # noqa: E402
from ollama_tui.config import Settings, load_settings  # noqa: E402
from tests.fake_ollama import tokenize  # noqa: E402

MODEL = "llama3.2:latest"
SIZE = (120, 40)
"""Terminal size of every headless run (the size the notes' figures were taken at)."""


# --------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], fraction: float) -> float:
    """The `fraction` percentile (0..1) by linear interpolation; nan for no values. Values may
    be infinite (a failure counted as never done): a percentile that reaches one is infinite."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    if position == low or ordered[low] == ordered[high]:
        return ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values: Sequence[float]) -> dict[str, float]:
    """Median with min and max (the figures every table shows) and the run count."""
    if not values:
        return {"median": float("nan"), "min": float("nan"), "max": float("nan"), "n": 0}
    return {
        "median": statistics.median(values),
        "p25": percentile(values, 0.25),
        "p75": percentile(values, 0.75),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def runs_case(results: Sequence[dict[str, Any]], keys: Sequence[str]) -> dict[str, Any]:
    """The summary of each figure over the runs without an error, the errors, and every run."""
    good = [r for r in results if "error" not in r]
    return {
        **{key: summary([r[key] for r in good]) for key in keys},
        "errors": [r["error"] for r in results if "error" in r],
        "runs": list(results),
    }


def fmt(stat: dict[str, float], scale: float = 1.0, digits: int = 0) -> str:
    """'median (min–max)' with values multiplied by `scale`."""
    if not stat or stat.get("n", 1) == 0 or stat["median"] != stat["median"]:
        return "—"

    def number(value: float) -> str:
        return f"{value * scale:,.{digits}f}"

    if stat["min"] == stat["max"]:
        return number(stat["median"])
    return f"{number(stat['median'])} ({number(stat['min'])}–{number(stat['max'])})"


def spread(stat: dict[str, float], scale: float = 1.0, digits: int = 0) -> str:
    """'median [p25–p75] (min–max)': the middle half of the runs, and all of them."""
    if not stat or stat.get("n", 0) == 0:
        return "—"

    def number(value: float) -> str:
        return f"{value * scale:,.{digits}f}"

    return (
        f"{number(stat['median'])} [{number(stat['p25'])}–{number(stat['p75'])}] "
        f"({number(stat['min'])}–{number(stat['max'])})"
    )


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain text table, right-aligned numbers, that also reads well pasted into Markdown."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]
    print(f"\n{title}\n")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        print("| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |")
    sys.stdout.flush()


def environment() -> dict[str, Any]:
    """Where and when the figures were taken, saved beside them."""
    import textual

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "textual": textual.__version__,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "commit": commit,
    }


def write_results(name: str, data: dict[str, Any]) -> Path:
    """Save a benchmark's figures to bench/results/<name>.json, or <name>-quick.json."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    # A --quick smoke run never overwrites the figures of a full run.
    path = RESULTS / (f"{name}-quick.json" if data.get("quick") else f"{name}.json")
    document = {"benchmark": name, "environment": environment(), **data}
    path.write_text(json.dumps(document, indent=1, default=str) + "\n")
    print(f"\nwrote {path}")
    return path


def parser(description: str) -> argparse.ArgumentParser:
    """The command line every benchmark shares: --quick for CI's smoke, --runs to override."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="tiny sizes, one run: a smoke test")
    p.add_argument("--runs", type=int, default=None, help="repetitions per case")
    p.add_argument("--worker", help=argparse.SUPPRESS)  # one measurement in a fresh process
    return p


# --------------------------------------------------------------------------- memory


def _status_kb(field: str, pid: int | str = "self") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_mb(pid: int | str = "self") -> float:
    """Resident set size now, in MB (Linux /proc)."""
    return _status_kb("VmRSS", pid) / 1024


def peak_rss_mb(pid: int | str = "self") -> float:
    """Peak resident set size since start or since `reset_peak_rss`, in MB."""
    return _status_kb("VmHWM", pid) / 1024


def reset_peak_rss() -> bool:
    """Start a new peak-RSS window (Linux: writing 5 to clear_refs resets VmHWM)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# --------------------------------------------------------------------------- data


_WORDS = [
    "the",
    "model",
    "streams",
    "tokens",
    "while",
    "a",
    "client",
    "renders",
    "markdown",
    "into",
    "a",
    "terminal",
    "and",
    "every",
    "frame",
    "should",
    "arrive",
    "quickly",
    "because",
    "people",
    "read",
    "as",
    "the",
    "answer",
    "grows",
    "so",
    "the",
    "interface",
    "must",
    "keep",
    "up",
    "with",
    "fast",
    "local",
    "hardware",
    "long",
    "conversations",
    "and",
    "large",
    "libraries",
    "of",
    "saved",
    "chats",
    "written",
    "as",
    "plain",
    "json",
    "files",
    "on",
    "disk",
    "with",
    "an",
    "index",
    "that",
    "lists",
    "titles",
    "dates",
    "and",
    "models",
]
_IDENTIFIERS = ("value", "items", "result", "total", "name", "index", "buffer", "count", "node")


def _words(rng: random.Random, count: int, *, inline_markup: bool = True) -> str:
    words = []
    for _ in range(count):
        word = rng.choice(_WORDS)
        roll = rng.random() if inline_markup else 1.0
        if roll < 0.03:
            word = f"**{word}**"
        elif roll < 0.05:
            word = f"`{word}()`"
        elif roll < 0.06:
            word = f"*{word}*"
        words.append(word)
    return " ".join(words)


def _paragraph(rng: random.Random) -> str:
    sentences = []
    for _ in range(rng.randint(3, 6)):
        sentence = _words(rng, rng.randint(8, 18))
        sentences.append(sentence[0].upper() + sentence[1:] + ".")
    return " ".join(sentences)


def _code_line(rng: random.Random, depth: int) -> str:
    name, other = rng.choice(_IDENTIFIERS), rng.choice(_IDENTIFIERS)
    body = rng.choice(
        (
            f"{name} = {other} + {rng.randint(0, 999)}",
            f"{name}.append({other}[{rng.randint(0, 9)}])",
            f'print(f"{name}={{{name}}} {other}={{{other}!r}}")',
            f"if {name} > {rng.randint(0, 99)}:  # {rng.choice(_WORDS)} {rng.choice(_WORDS)}",
            f"for {name} in range(len({other})):",
            f'{name} = "{rng.choice(_WORDS)} {rng.choice(_WORDS)}"',
            f"return {name} * {other}",
        )
    )
    return "    " * depth + body


def _code(rng: random.Random, lines: int) -> str:
    out = [f"def {rng.choice(_IDENTIFIERS)}_{rng.randint(0, 99)}({rng.choice(_IDENTIFIERS)}):"]
    for _ in range(lines - 1):
        out.append(_code_line(rng, rng.randint(1, 3)))
    return "\n".join(out)


SHAPES = ("paragraphs", "code_blocks", "huge_code", "one_line")
"""The four reply shapes of the streaming benchmark."""


def _count(text: str) -> int:
    return len(tokenize(text))


@cache
def reply_text(shape: str, tokens: int, seed: int = 1) -> str:
    """A deterministic reply of `tokens` fake-server tokens (~4 characters each, within 1%).

    paragraphs   prose paragraphs with inline markup and a heading now and then;
    code_blocks  a sentence, a 6–20 line python fence, repeated;
    huge_code    one sentence, then a single python fence holding the whole reply;
    one_line     one paragraph of prose with inline markup and no line break at all.
    """
    rng = random.Random(f"{shape}-{tokens}-{seed}")
    head, tail, joiner = "", "", "\n\n"
    pieces: list[str] = []

    def piece() -> str:
        if shape == "one_line":
            return _words(rng, 40) + "."
        if shape == "huge_code":
            return _code_line(rng, rng.randint(0, 3))
        if shape == "paragraphs":
            block = _paragraph(rng)
            if len(pieces) % 8 == 0:
                block = f"## Part {len(pieces) // 8 + 1}\n\n{block}"
            return block
        if shape == "code_blocks":
            return f"{_paragraph(rng)[:120]}.\n\n```python\n{_code(rng, rng.randint(6, 20))}\n```"
        raise ValueError(f"unknown shape {shape!r}")

    if shape == "one_line":
        joiner = " "
    elif shape == "huge_code":
        head, tail, joiner = "Here is the whole program:\n\n```python\n", "\n```", "\n"

    def text() -> str:
        return head + joiner.join(pieces) + tail

    while (actual := _count(text())) < tokens:
        estimate = actual
        while estimate < tokens:  # grow by estimate, then recount the whole text once
            pieces.append(piece())
            estimate += _count(pieces[-1] + joiner)
    return text()


def conversation_messages(
    count: int, rng: random.Random, *, start: datetime, model: str = MODEL
) -> list[Message]:
    """`count` alternating user/assistant messages of realistic size (a code block now and then)."""
    messages = []
    for index in range(count):
        stamp = (start + timedelta(seconds=30 * index)).isoformat(timespec="milliseconds")
        if index % 2 == 0:
            text = _words(rng, rng.randint(6, 30), inline_markup=False).capitalize() + "?"
            messages.append(Message(Role.USER, text, created_at=stamp))
        else:
            parts = [_paragraph(rng) for _ in range(rng.randint(1, 3))]
            if rng.random() < 0.2:
                parts.append(f"```python\n{_code(rng, rng.randint(4, 12))}\n```")
            messages.append(
                Message(
                    Role.ASSISTANT,
                    "\n\n".join(parts),
                    model=model,
                    created_at=stamp,
                    state=MessageState.COMPLETE,
                    done_reason="stop",
                    stats={"eval_count": 180, "eval_duration": 900_000_000},
                )
            )
    return messages


@contextlib.contextmanager
def no_fsync() -> Iterator[None]:
    """Skip fsync while *generating* test data (never while measuring): 10,000 files in seconds."""
    original = os.fsync
    os.fsync = lambda fd: None  # type: ignore[assignment]
    try:
        yield
    finally:
        os.fsync = original


def make_library(
    data_dir: Path,
    conversations: int,
    *,
    messages_each: int = 4,
    long_messages: int = 0,
    seed: int = 7,
) -> str | None:
    """Fill `data_dir` with saved conversations through ConversationStore, then build the index.

    With `long_messages`, one more conversation of that many messages is saved last (so it is the
    newest, first in the sidebar); its id is returned.
    """
    rng = random.Random(seed)
    store = ConversationStore(data_dir)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    long_id = None
    with no_fsync():
        for index in range(conversations):
            begun = start + timedelta(minutes=47 * index)
            conversation = Conversation(model=MODEL)
            conversation.messages = conversation_messages(messages_each, rng, start=begun)
            conversation.title = _words(rng, rng.randint(3, 9), inline_markup=False).capitalize()
            conversation.created_at = begun.isoformat(timespec="milliseconds")
            conversation.updated_at = conversation.messages[-1].created_at
            store.save(conversation)
        if long_messages:
            conversation = long_conversation(long_messages, seed=seed)
            store.save(conversation)
            long_id = conversation.id
    store.list()  # writes index.json, as the first start of the app would
    return long_id


def long_conversation(messages: int, *, seed: int = 11) -> Conversation:
    """A conversation of `messages` messages, updated now (so it is listed first)."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    conversation = Conversation(model=MODEL, title=f"A long conversation of {messages} messages")
    conversation.messages = conversation_messages(
        messages, rng, start=now - timedelta(seconds=30 * messages)
    )
    conversation.created_at = conversation.messages[0].created_at if messages else now.isoformat()
    conversation.updated_at = now.isoformat(timespec="milliseconds")
    return conversation


def bench_settings(data_dir: Path, host: str) -> Settings:
    """Settings as the CLI builds them, isolated in `data_dir`, with a throwaway config path."""
    settings = load_settings(
        config_path=None, environ={}, host=host, model=MODEL, data_dir=data_dir
    )
    settings.config_path = data_dir.parent / "config" / "config.toml"
    return settings


def make_app(data_dir: Path, host: str):
    """The app exactly as `ollama-tui` builds it (ollama_tui.cli.make_app)."""
    from ollama_tui.cli import make_app as build

    return build(bench_settings(data_dir, host))


def unused_url() -> str:
    """A loopback URL where nothing listens (connection refused at once)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


# --------------------------------------------------------------------------- fake server


class ServerProcess:
    """bench/_fake_server.py in its own process, so it never shares the client's GIL or CPU time.

    `last_stream()` asks it when it wrote the last byte of the last reply (time.monotonic(),
    i.e. CLOCK_MONOTONIC, which is the same clock in every process on Linux).
    """

    def __init__(self, token_delay: float = 0.0) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(BENCH / "_fake_server.py"), "--token-delay", str(token_delay)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()
        if not self.url.startswith("http://"):
            self.stop()
            raise RuntimeError("the benchmark's fake Ollama did not start")

    def last_stream(self) -> dict[str, float]:
        import httpx

        return httpx.get(f"{self.url}/bench/last", timeout=10).json()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def last_stream(url: str) -> dict[str, float]:
    """The fake server's record of its last reply (see ServerProcess)."""
    import httpx

    return httpx.get(f"{url}/bench/last", timeout=10).json()


def reply_request(shape: str, tokens: int) -> str:
    """The user message that makes bench/_fake_server.py answer with reply_text(shape, tokens)."""
    return f"bench-reply shape={shape} tokens={tokens}"


# --------------------------------------------------------------------------- subprocess workers


def run_worker(script: Path, args: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run `script --worker JSON` in a fresh process and return the JSON line it prints last."""
    try:
        done = subprocess.run(
            [sys.executable, str(script), "--worker", json.dumps(args)],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-8:]
        return {"error": " | ".join(tail) or f"exit status {done.returncode}"}
    return json.loads(lines[-1])


# --------------------------------------------------------------------------- screen probes


class RefreshProbe:
    """Calls hooks after every compositor refresh (the moment a frame is composed).

    Headless, Textual composes the frame exactly as for a terminal and only skips writing the
    escape sequences; under tmux the same hook fires right before the bytes are written.
    """

    def __init__(self) -> None:
        self.hooks: list[Callable[[Any, float], None]] = []
        self.frames = 0

    def install(self) -> RefreshProbe:
        from textual.screen import Screen

        original = Screen._compositor_refresh
        probe = self

        def _compositor_refresh(screen: Screen) -> None:  # type: ignore[type-arg]
            original(screen)
            probe.frames += 1
            now = time.monotonic()
            for hook in list(probe.hooks):
                hook(screen, now)

        Screen._compositor_refresh = _compositor_refresh  # type: ignore[method-assign]
        return self

    async def wait_for(
        self, condition: Callable[[Any], bool], timeout: float, *, settle: bool = True
    ) -> tuple[float, float] | None:
        """(monotonic time, process CPU time) of the first frame after which `condition` holds
        and (with `settle`) nothing is left to lay out or repaint; None on timeout."""
        seen = await self.wait_for_all({"done": condition}, timeout, settle=settle)
        return seen.get("done")

    async def wait_for_all(
        self,
        conditions: dict[str, Callable[[Any], bool]],
        timeout: float,
        *,
        settle: bool = True,
    ) -> dict[str, tuple[float, float]]:
        """For each named condition, (time, CPU time) of the first settled frame after which it
        holds; returns when all have held, or at the timeout with those that did."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        seen: dict[str, tuple[float, float]] = {}

        def hook(screen: Any, now: float) -> None:
            if done.done():
                return
            cpu = time.process_time()
            waiting = [name for name in conditions if name not in seen]
            holding = [name for name in waiting if conditions[name](screen)]
            if holding and (not settle or settled(screen)):
                for name in holding:
                    seen[name] = (now, cpu)
                if len(seen) == len(conditions):
                    done.set_result(None)

        self.hooks.append(hook)
        try:
            await asyncio.wait_for(done, timeout)
        except TimeoutError:
            pass
        finally:
            self.hooks.remove(hook)
        return seen


def nothing_pending(widget: Any) -> bool:
    """`widget` and everything displayed inside it are laid out and painted."""
    stack = [widget]
    while stack:
        node = stack.pop()
        if not node.display:
            continue
        if node._layout_required or node._repaint_required:
            return False
        stack.extend(node._nodes)
    return True


def settled(screen: Any) -> bool:
    """No layout, repaint or queued message left that could still change the frame.

    Only displayed widgets of the message list count (hidden ones are never laid out, so their
    flags stay set); the walk prunes hidden subtrees.
    """
    # (screen._layout_required is still set while the layout it asked for is being drawn:
    # pending layout requests are in _layout_widgets.)
    if screen._layout_widgets or screen._dirty_widgets or screen._repaint_required:
        return False
    if not screen._message_queue.empty():
        return False
    stack = list(screen.query("MessageList"))
    while stack:
        widget = stack.pop()
        if not widget.display:
            continue
        if widget._layout_required or widget._repaint_required:
            return False
        stack.extend(widget._nodes)
    return True


async def wait_connected(app: Any, pilot: Any, timeout: float = 15.0) -> bool:
    """Wait until the app is connected to the fake server and has listed its models."""
    from ollama_tui.ui.widgets.status_bar import Connection

    deadline = time.monotonic() + timeout
    while not (app.chat.status.connection is Connection.CONNECTED and app.session.models.listed):
        if time.monotonic() > deadline:
            return False
        await pilot.pause(0.02)
    return True


def press(app: Any, key: str, character: str | None = None) -> None:
    """Send a key as the terminal driver does, without Pilot's wait for the app to go idle."""
    from textual import events

    if character is None and len(key) == 1:
        character = key
    event = events.Key(key, character)
    event.set_sender(app)
    app._driver.send_message(event)


def screen_text(app: Any) -> str:
    """The plain text of the current frame (slow: only for checks, never inside a timing)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


@dataclass
class Timer:
    """Wall and CPU time of a block: `with Timer() as t: ...; t.wall, t.cpu`."""

    wall: float = 0.0
    cpu: float = 0.0

    def __enter__(self) -> Timer:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


class WindowProfiler:
    """pyinstrument over one measured window, when BENCH_PROFILE names an output file.

    Only for investigation (`pip install pyinstrument`); benchmarks never need it. Writes the
    call tree to BENCH_PROFILE and the flat list of functions by own time beside it (.flat.txt).
    """

    def __init__(self) -> None:
        self.path = os.environ.get("BENCH_PROFILE")
        self._profiler: Any = None

    def start(self) -> None:
        if self.path:
            from pyinstrument import Profiler

            self._profiler = Profiler(interval=0.0005, async_mode="disabled")
            self._profiler.start()

    def stop(self) -> None:
        if self._profiler is None or not self.path:
            return
        self._profiler.stop()
        tree = self._profiler.output_text(
            unicode=True, color=False, show_all=bool(os.environ.get("BENCH_PROFILE_ALL"))
        )
        flat = self._profiler.output_text(unicode=True, color=False, flat=True)
        Path(self.path).write_text(tree)
        Path(self.path).with_suffix(".flat.txt").write_text(flat)
        self._profiler = None
