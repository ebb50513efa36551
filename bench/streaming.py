"""Benchmark 2 — streaming render: replies of 1k–64k tokens sent as fast as the server can.

    .venv/bin/python bench/streaming.py [--quick] [--runs N] [--sizes 1000,4000] [--shapes ...]

Method. The fake Ollama (bench/_fake_server.py) runs in its own process with token_delay=0, so
it writes one NDJSON line per token as fast as it can and never shares the client's CPU. Each
run is a fresh client process (so peak RSS is that run's own): the app built by make_app, in a
headless `run_test()` at 120x40, connected, with an empty library. The run types
`bench-reply shape=… tokens=…` into the prompt and sends Enter through the driver, as a
terminal would. A hook after every compositor refresh (a composed frame) notes the first frame
after which the reply's stream has ended, the reply's Markdown source equals the whole reply,
and nothing in the message list is left to lay out or repaint: "last token on screen".

* Enter → final render = that frame's time − the moment Enter was sent: what a user waits
              for the whole reply;
* latency   = that frame's time − the time the client read the end of the stream (the client's
              chat() yielding its ChatDone: the done line read and parsed). The server's own
              time.monotonic() after it wrote the last byte is recorded too, and how far the
              client's read lags behind it (both CLOCK_MONOTONIC, comparable across processes
              on Linux): at full speed the client falls behind the server, so a latency from
              the server's write would count reading the backlog as rendering;
* CPU       = client process CPU time (all threads) from Enter to that frame;
* CPU / 1k  = CPU ÷ (tokens / 1000) — flat across sizes means linear cost;
* peak RSS  = the client's VmHWM, reset just before Enter (and RSS growth over the run).

After timing, each run checks (untimed) that the reply's Markdown blocks equal those of a
Markdown widget given the whole reply at once, and that the reply's last word is on screen.

Paced replies (`--rates 50,100,200`, `--seconds`): the fake server writes prose at a model's
pace (one token every 1/rate s) for about `--seconds`, and each run measures

* end read → shown = the first settled frame showing the whole reply's text − the moment the
              client read the end of the stream (OllamaClient.chat yielding ChatDone);
* → closed    = the same for the frame where the reply is also finished: saved, its stream
              closed, its header saying how it ended; "closing CPU" is the client's CPU time
              from the end read to that frame;
* CPU while streaming = client CPU time ÷ wall time from the first token read to the end read,
              in % of one core;
* CPU after   = client CPU ÷ wall time in the windows 0–100, 100–200, 200–500 ms after the
              text is shown, and in the second that follows (idle).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import re
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    SHAPES,
    SIZE,
    RefreshProbe,
    ServerProcess,
    WindowProfiler,
    fmt,
    last_stream,
    make_app,
    parser,
    peak_rss_mb,
    press,
    print_table,
    reply_request,
    reply_text,
    reset_peak_rss,
    rss_mb,
    screen_text,
    summary,
    wait_connected,
    write_results,
)

SIZES = (1000, 4000, 16000, 64000)
QUICK_SIZES = (200,)
RATES = (50, 100, 200)
PACED_SECONDS = 8.0
QUIET_WINDOWS = ((0.0, 0.1), (0.1, 0.2), (0.2, 0.5), (0.5, 1.5))
"""Windows after the last token is shown (s) whose CPU share is reported."""


def block_signature(markdown: Any) -> list[tuple[Any, ...]]:
    """What a Markdown widget shows, block by block: kind, text, styles (and code, lexer)."""
    from textual.widgets._markdown import MarkdownBlock, MarkdownFence

    blocks = []
    for block in markdown.query(MarkdownBlock):
        item: tuple[Any, ...] = (type(block).__name__, block._content.plain)
        if isinstance(block, MarkdownFence):
            item += (block.code, block.lexer, block._highlighted_code.plain)
            item += (tuple((s.start, s.end, str(s.style)) for s in block._highlighted_code.spans),)
        else:
            item += (tuple((s.start, s.end, str(s.style)) for s in block._content.spans),)
        blocks.append(item)
    return blocks


def note_stream_ends() -> list[float]:
    """Note the time the client reads the end of each reply's stream: OllamaClient.chat
    yielding ChatDone (the done line read and parsed; a model load's done is skipped). From
    there on only rendering remains. Patched on the class, whoever holds the client."""
    from ollama_tui.ollama import ChatDone
    from ollama_tui.ollama.client import OllamaClient

    noted: list[float] = []
    chat = OllamaClient.chat

    async def timed_chat(self: Any, *args: Any, **kwargs: Any) -> Any:
        async for event in chat(self, *args, **kwargs):
            if isinstance(event, ChatDone) and event.done_reason != "load":
                noted.append(time.monotonic())
            yield event

    OllamaClient.chat = timed_chat  # type: ignore[method-assign]
    return noted


def reply_conditions(app: Any, expected: str) -> tuple[Callable[[Any], bool], ...]:
    """Frame conditions: the reply's whole text is shown (as Markdown, or as the plain-text
    preview of a block still being finished); the reply is also finished (its stream closed,
    nothing in progress) with the Markdown holding all of it."""
    from textual.widgets import Markdown

    def reply_view() -> Any:
        messages = app.chat.conversation.messages
        return app.chat.message_list.view_of(messages[-1]) if len(messages) > 1 else None

    def source(view: Any) -> str | None:
        bodies = view.query(Markdown)  # empty while a new view is being composed
        return bodies.first().source if bodies else None

    def text_shown(screen: Any) -> bool:
        view = reply_view()
        if view is None:
            return False
        stream = view._stream
        if stream is not None:
            # The Markdown's source holds a batch as soon as appending it begins, before its
            # blocks are made and mounted: the batch being rendered is not on screen yet.
            return stream.shown == expected and not stream._lock.locked()
        return source(view) == expected

    def final(screen: Any) -> bool:
        view = reply_view()
        if app.chat.replies_in_progress or view is None or view._stream is not None:
            return False
        return source(view) == expected

    return text_shown, final


def last_word(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("```")]
    words = re.findall(r"[A-Za-z0-9_]+", lines[-1]) if lines else []
    return words[-1] if words else ""


@contextlib.asynccontextmanager
async def app_asking(url: str, shape: str, tokens: int) -> AsyncIterator[tuple[Any, Any, Any]]:
    """The app, connected to the fake server with an empty library, its prompt holding the
    request for a `shape` reply of `tokens` tokens; (None, None, None) if it cannot connect."""
    data_dir = Path(tempfile.mkdtemp(prefix="bench-stream-")) / "data"
    app = make_app(data_dir, url)
    probe = RefreshProbe().install()
    async with app.run_test(size=SIZE) as pilot:
        if not await wait_connected(app, pilot):
            yield None, None, None
            return
        await pilot.pause()
        app.chat.prompt.text = reply_request(shape, tokens)
        yield app, pilot, probe


async def one_run(shape: str, tokens: int, url: str, timeout: float) -> dict[str, Any]:
    from textual.widgets import Markdown

    from ollama_tui.ui.widgets import message_body
    from ollama_tui.ui.widgets.message_body import MessageBody

    previews: list[str] = []
    preview_mount = message_body.StreamPreview.on_mount

    def counting_mount(preview: Any) -> None:
        previews.append("code" if preview.has_class("-code") else "text")
        preview_mount(preview)

    message_body.StreamPreview.on_mount = counting_mount  # type: ignore[method-assign]
    expected = reply_text(shape, tokens)
    async with app_asking(url, shape, tokens) as (app, pilot, probe):
        if app is None:
            return {"error": "not connected"}
        stream_ends = note_stream_ends()
        await pilot.pause()
        gc.collect()
        rss_before = rss_mb()
        reset_peak_rss()

        text_shown, final = reply_conditions(app, expected)

        profiler = WindowProfiler()
        profiler.start()
        started, cpu_started = time.monotonic(), time.process_time()
        press(app, "enter")
        seen = await probe.wait_for_all({"text": text_shown, "final": final}, timeout)
        profiler.stop()
        if "final" not in seen:
            return {"error": f"not on screen within {timeout:.0f} s"}
        (text_at, _), (shown, cpu_shown) = seen["text"], seen["final"]
        peak = peak_rss_mb()
        server = last_stream(url)
        if len(stream_ends) != 1:
            return {"error": f"the client read {len(stream_ends)} ends of a reply, not one"}
        (received,) = stream_ends

        # Untimed checks: the blocks equal a from-scratch render; the last word is visible.
        reply = app.chat.conversation.messages[-1]
        view = app.chat.message_list.view_of(reply)
        assert view is not None
        streamed = block_signature(view.query_one(Markdown))
        fresh = MessageBody(expected)
        await app.screen.mount(fresh)
        await pilot.pause()
        render_ok = streamed == block_signature(fresh)
        await fresh.remove()
        await pilot.pause()
        visible = last_word(expected) in screen_text(app)

    return {
        "shape": shape,
        "tokens": server["tokens"],
        "chars": len(expected),
        "latency": shown - received,
        "text_latency": text_at - received,
        "client_lag": received - server["end"],
        "wall": shown - started,
        "text_wall": text_at - started,
        "server_seconds": server["end"] - server["start"],
        "cpu": cpu_shown - cpu_started,
        "cpu_per_1k": (cpu_shown - cpu_started) / (server["tokens"] / 1000),
        "peak_rss_mb": peak,
        "rss_growth_mb": peak - rss_before,
        "frames": probe.frames,
        "render_ok": render_ok,
        "last_word_visible": visible,
        "content_ok": reply.content == expected,
        "previews": previews,
    }


def note_reading() -> dict[str, tuple[float, float]]:
    """Note (time, process CPU time) when the client reads the first token of a reply and the
    end of its stream (OllamaClient.chat yielding ContentDelta / ChatDone; a model load's done
    is skipped). Patched on the class, whoever holds the client."""
    from ollama_tui.ollama import ChatDone, ContentDelta
    from ollama_tui.ollama.client import OllamaClient

    noted: dict[str, tuple[float, float]] = {}
    chat = OllamaClient.chat

    async def timed_chat(self: Any, *args: Any, **kwargs: Any) -> Any:
        async for event in chat(self, *args, **kwargs):
            if isinstance(event, ContentDelta) and "first" not in noted:
                noted["first"] = (time.monotonic(), time.process_time())
            elif isinstance(event, ChatDone) and event.done_reason != "load":
                noted["end"] = (time.monotonic(), time.process_time())
            yield event

    OllamaClient.chat = timed_chat  # type: ignore[method-assign]
    return noted


async def cpu_windows(start: float, cpu_start: float) -> list[float]:
    """CPU share (of one core) in each of QUIET_WINDOWS after `start`, its CPU `cpu_start`."""
    shares = []
    for begin, end in QUIET_WINDOWS:
        now = time.monotonic()
        if now < start + begin:
            await asyncio.sleep(start + begin - now)
        t0, c0 = (start, cpu_start) if begin == 0 else (time.monotonic(), time.process_time())
        await asyncio.sleep(max(0.0, start + end - time.monotonic()))
        shares.append((time.process_time() - c0) / (time.monotonic() - t0))
    return shares


async def paced_run(rate: int, tokens: int, url: str, timeout: float) -> dict[str, Any]:
    """One reply of `tokens` tokens of prose, written by the server at `rate` tokens/s."""

    shape = "paragraphs"
    expected = reply_text(shape, tokens)
    async with app_asking(url, shape, tokens) as (app, pilot, probe):
        if app is None:
            return {"error": "not connected"}
        reading = note_reading()
        await pilot.pause()

        text_shown, final = reply_conditions(app, expected)

        profiler = WindowProfiler()
        profiler.start()
        press(app, "enter")
        seen = await probe.wait_for_all({"text": text_shown, "final": final}, timeout)
        if "final" not in seen:
            profiler.stop()
            return {"error": f"not on screen within {timeout:.0f} s"}
        (shown, cpu_shown), (closed, cpu_closed) = seen["text"], seen["final"]
        after = await cpu_windows(shown, cpu_shown)
        profiler.stop()
        if "end" not in reading or "first" not in reading:
            return {"error": "the client's reading was not noted"}
        (first, cpu_first), (end, cpu_end) = reading["first"], reading["end"]
        server = last_stream(url)
        visible = last_word(expected) in screen_text(app)
        content_ok = app.chat.conversation.messages[-1].content == expected

    return {
        "rate": rate,
        "tokens": server["tokens"],
        "first_read_at": first,
        "end_read_at": end,
        "latency": shown - end,
        "final_latency": closed - end,
        "cpu_closing": cpu_closed - cpu_end,
        "server_lag": end - server["end"],
        "streaming_seconds": end - first,
        "achieved_rate": server["tokens"] / (end - first) if end > first else float("nan"),
        "cpu_streaming": (cpu_end - cpu_first) / (end - first),
        "cpu_after": after,
        "frames": probe.frames,
        "last_word_visible": visible,
        "content_ok": content_ok,
    }


def worker(args: dict[str, Any]) -> None:
    if "rate" in args:
        run = paced_run(args["rate"], args["tokens"], args["url"], args["timeout"])
    else:
        run = one_run(args["shape"], args["tokens"], args["url"], args["timeout"])
    print(json.dumps(asyncio.run(run)))


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--sizes", default=None, help="comma-separated token counts ('' for none)")
    p.add_argument("--shapes", default=",".join(SHAPES))
    p.add_argument("--timeout", type=float, default=180.0, help="seconds per run")
    p.add_argument(
        "--token-delay", type=float, default=0.0, help="seconds between tokens (0: full speed)"
    )
    p.add_argument(
        "--rates", default=None, help="paced replies: comma-separated tokens/s ('' for none)"
    )
    p.add_argument("--seconds", type=float, default=None, help="length of a paced reply (s)")
    args = p.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return

    sizes = (
        [int(s) for s in args.sizes.split(",") if s]
        if args.sizes is not None
        else list(QUICK_SIZES if args.quick else SIZES)
    )
    shapes = args.shapes.split(",")
    rates = (
        [int(r) for r in args.rates.split(",") if r]
        if args.rates is not None
        else ([200] if args.quick else list(RATES))
    )
    seconds = args.seconds or (1.0 if args.quick else PACED_SECONDS)
    runs = args.runs or (1 if args.quick else 5)
    cases = full_speed(shapes, sizes, runs, args.token_delay, args.timeout) if sizes else []
    paced = paced_cases(rates, seconds, runs, args.timeout)
    write_results(
        "streaming",
        {
            "quick": args.quick,
            "runs": runs,
            "sizes": sizes,
            "cases": cases,
            "rates": rates,
            "paced_seconds": seconds,
            "paced": paced,
        },
    )


def full_speed(
    shapes: list[str], sizes: list[int], runs: int, token_delay: float, timeout: float
) -> list[dict[str, Any]]:
    """The replies written as fast as the server can (or `token_delay` apart), every shape."""
    from _common import run_worker

    cases: list[dict[str, Any]] = []
    with ServerProcess(token_delay=token_delay) as server:
        for shape in shapes:
            for size in sizes:
                results = []
                for _ in range(runs):
                    result = run_worker(
                        Path(__file__),
                        {"shape": shape, "tokens": size, "url": server.url, "timeout": timeout},
                        timeout=timeout + 60,
                    )
                    results.append(result)
                    if "error" in result:
                        print(f"{shape} {size}: {result['error']}", file=sys.stderr)
                        break
                cases.append(aggregate(shape, size, results))
                print_case(cases[-1])
    rows = [
        [
            c["shape"],
            f"{c['tokens']:,}",
            fmt(c["text_wall"], 1000),
            fmt(c["wall"], 1000),
            fmt(c["text_latency"], 1000),
            fmt(c["latency"], 1000),
            fmt(c["client_lag"], 1000),
            fmt(c["cpu"], 1000),
            fmt(c["cpu_per_1k"], 1000),
            fmt(c["peak_rss_mb"]),
            "yes" if c["checks_ok"] else "NO",
        ]
        for c in cases
    ]
    print_table(
        f"Streaming render, headless 120x40, median (min–max) of {runs} run(s); times in ms",
        [
            "shape",
            "tokens",
            "Enter → all text shown",
            "Enter → final render",
            "end read → all text shown",
            "end read → final render",
            "server wrote end → client read it",
            "client CPU",
            "CPU / 1k tokens",
            "peak RSS MB",
            "checks",
        ],
        rows,
    )
    growth = []
    for shape in shapes:
        per = {c["tokens_nominal"]: c for c in cases if c["shape"] == shape}
        smallest, largest = min(per), max(per)
        base = per[smallest]["cpu_per_1k"]["median"]
        top = per[largest]["cpu_per_1k"]["median"]
        growth.append([shape, f"{smallest:,} → {largest:,}", f"{top / base:.2f}x" if base else "—"])
    print_table("Cost per 1k tokens, largest size ÷ smallest", ["shape", "sizes", "ratio"], growth)
    return cases


def paced_cases(
    rates: list[int], seconds: float, runs: int, timeout: float
) -> list[dict[str, Any]]:
    """Prose replies at a model's pace, one server per rate; runs of the rates interleaved, so
    a change in the machine's load falls on all of them alike."""
    from _common import run_worker

    if not rates:
        return []
    results: dict[int, list[dict[str, Any]]] = {rate: [] for rate in rates}
    servers = {rate: ServerProcess(token_delay=1 / rate) for rate in rates}
    try:
        for _ in range(runs):
            for rate in rates:
                tokens = max(50, round(rate * seconds))
                result = run_worker(
                    Path(__file__),
                    {"rate": rate, "tokens": tokens, "url": servers[rate].url, "timeout": timeout},
                    timeout=timeout + 60,
                )
                if "error" in result:
                    print(f"{rate} tok/s: {result['error']}", file=sys.stderr)
                results[rate].append(result)
    finally:
        for server in servers.values():
            server.stop()
    cases = [aggregate_paced(rate, results[rate]) for rate in rates]
    windows = [f"{int(b * 1000)}–{int(e * 1000)} ms" for b, e in QUIET_WINDOWS]
    print_table(
        f"Paced prose, headless 120x40, median (min–max) of {runs} run(s)",
        [
            "tok/s",
            "tokens",
            "end read → shown ms",
            "→ closed ms",
            "closing CPU ms",
            "server wrote → client read ms",
            "CPU streaming %",
            *(f"CPU {w} after %" for w in windows),
            "checks",
        ],
        [
            [
                c["rate"],
                f"{c['tokens']:,}",
                fmt(c["latency"], 1000),
                fmt(c["final_latency"], 1000),
                fmt(c["cpu_closing"], 1000),
                fmt(c["server_lag"], 1000),
                fmt(c["cpu_streaming"], 100, 1),
                *(fmt(w, 100, 1) for w in c["cpu_after"]),
                "yes" if c["checks_ok"] else "NO",
            ]
            for c in cases
        ],
    )
    return cases


def aggregate_paced(rate: int, results: list[dict[str, Any]]) -> dict[str, Any]:
    good = [r for r in results if "error" not in r]
    case: dict[str, Any] = {
        "rate": rate,
        "tokens": good[0]["tokens"] if good else 0,
        "errors": [r["error"] for r in results if "error" in r],
        "checks_ok": bool(good) and all(r["content_ok"] and r["last_word_visible"] for r in good),
        "runs": good,
    }
    keys = ("latency", "final_latency", "cpu_closing", "server_lag", "cpu_streaming")
    for key in (*keys, "achieved_rate"):
        case[key] = summary([r[key] for r in good])
    case["cpu_after"] = [
        summary([r["cpu_after"][i] for r in good]) for i in range(len(QUIET_WINDOWS))
    ]
    return case


def aggregate(shape: str, size: int, results: list[dict[str, Any]]) -> dict[str, Any]:
    good = [r for r in results if "error" not in r]
    case: dict[str, Any] = {
        "shape": shape,
        "tokens_nominal": size,
        "tokens": good[0]["tokens"] if good else size,
        "errors": [r["error"] for r in results if "error" in r],
        "checks_ok": bool(good)
        and all(r["render_ok"] and r["content_ok"] and r["last_word_visible"] for r in good),
        "runs": good,
    }
    keys = ("latency", "text_latency", "client_lag", "text_wall", "wall", "cpu", "cpu_per_1k")
    for key in (*keys, "peak_rss_mb", "rss_growth_mb"):
        case[key] = summary([r[key] for r in good])
    return case


def print_case(case: dict[str, Any]) -> None:
    print(
        f"{case['shape']:>12} {case['tokens']:>6} tokens:"
        f" text {fmt(case['text_latency'], 1000)} ms,"
        f" final {fmt(case['latency'], 1000)} ms,"
        f" client read the end {fmt(case['client_lag'], 1000)} ms after the server wrote it,"
        f" CPU {fmt(case['cpu'], 1000)} ms, {fmt(case['cpu_per_1k'], 1000)} ms/1k,"
        f" peak RSS {fmt(case['peak_rss_mb'])} MB, checks {'ok' if case['checks_ok'] else 'FAILED'}"
        + (f", errors {case['errors']}" if case["errors"] else ""),
        flush=True,
    )


if __name__ == "__main__":
    main()
