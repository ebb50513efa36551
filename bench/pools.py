"""Benchmark 7 — pool failover: time from Enter to the first token when the pool's first host
is down.

    .venv/bin/python bench/pools.py [--quick] [--runs N] [--connect-timeout 1.0]

Method. The working host is the fake Ollama in its own process (bench/_fake_server.py,
token_delay 0). A pool ["first", "working"] with strategy "priority" is opened as the app opens
its session (`Session.open`, connect_timeout from the flag), and one reply run is timed from its
start (what Enter starts) to its first ContentAdded event — the first token the screen would
draw. The first host is, per case:

* none        — a pool of the working host alone: the baseline;
* refused     — a loopback port where nothing listens (refused at once);
* known down  — the same, after one reply found it down (it is then not asked while the
                watcher has it down);
* no accept   — a listening socket that never accepts: the kernel completes the handshake into
                the backlog, and the request then waits for an answer that never comes;
* silent      — a socket that accepts and never answers.

Each run of the cases but "known down" uses a fresh session, so nothing is known of the first
host beforehand; its HTTP clients are made before the timer starts, as the app's watcher makes
them at start-up. The target: refused within ~50 ms of the baseline; no accept and silent under
the connect timeout + 50 ms (not the 60 s stall timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import MODEL, ServerProcess, fmt, parser, print_table, summary, write_results

from ollama_tui.config import HostSettings, PoolSettings, Settings
from ollama_tui.session import Session
from ollama_tui.session.reply import ContentAdded, ReplyEvent, ReplyRun

CASES = ("none", "refused", "known down", "no accept", "silent")


@contextlib.contextmanager
def never_accepting() -> Iterator[str]:
    """A listening socket nobody accepts from: connections wait in the backlog for ever."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@contextlib.contextmanager
def silent() -> Iterator[str]:
    """A socket that accepts every connection and never writes a byte."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()
        for connection in accepted:
            connection.close()


@contextlib.contextmanager
def refused() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    yield url


def pool_settings(first: str | None, working: str, connect_timeout: float) -> Settings:
    data_dir = Path(tempfile.mkdtemp(prefix="bench-pools-")) / "data"
    urls = {"first": first, "working": working} if first else {"working": working}
    return Settings(
        model=MODEL,
        data_dir=data_dir,
        config_path=data_dir.parent / "config.toml",
        state_path=data_dir.parent / "state.toml",
        connect_timeout=connect_timeout,
        hosts={name: HostSettings(name=name, url=url) for name, url in urls.items()},
        pools={"pool": PoolSettings("pool", list(urls), "priority")},
        default_host="pool",
    )


async def first_token(session: Session) -> tuple[float, str]:
    """Seconds from the start of a reply run to its first token, and the host that wrote it."""
    conversation = session.library.new_conversation()
    conversation.add_user_message("Hello")
    for host in session.hosts.members():
        session.hosts.client_for(host)  # made at start-up by the app's watcher, not on Enter
    run = ReplyRun(session, conversation, conversation.start_reply())
    arrived = asyncio.Event()

    def report(event: ReplyEvent) -> None:
        if isinstance(event, ContentAdded):
            arrived.set()

    started = time.perf_counter()
    task = asyncio.create_task(run.run(report))
    await arrived.wait()
    took = time.perf_counter() - started
    await task
    return took, run.reply.host


async def measure(case: str, working: str, runs: int, connect_timeout: float) -> dict[str, Any]:
    times: list[float] = []
    writers: set[str] = set()
    kinds = {"refused": refused, "known down": refused, "no accept": never_accepting}
    with kinds.get(case, silent)() as first:
        known = None
        for _ in range(runs):
            if case == "known down" and known is not None:
                session = known
            else:
                first_url = None if case == "none" else first
                session = Session.open(pool_settings(first_url, working, connect_timeout), print)
            if case == "known down" and known is None:
                await first_token(session)  # finds the first host down
                known = session
            took, host = await first_token(session)
            times.append(took)
            writers.add(host)
            if session is not known:
                await session.close()
        if known is not None:
            await known.close()
    return {"case": case, "first_token": summary(times), "hosts": sorted(writers), "samples": times}


async def measure_all(runs: int, connect_timeout: float) -> list[dict[str, Any]]:
    with ServerProcess() as server:
        warm_up = Session.open(pool_settings(None, server.url, connect_timeout), print)
        await first_token(warm_up)  # imports and the first connection, paid once, not timed
        await warm_up.close()
        return [await measure(case, server.url, runs, connect_timeout) for case in CASES]


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--connect-timeout", type=float, default=1.0)
    args = p.parse_args()
    runs = args.runs or (1 if args.quick else 10)
    cases = asyncio.run(measure_all(runs, args.connect_timeout))
    baseline = cases[0]["first_token"]["median"]
    print_table(
        f"Enter → first token through a pool whose first host is down, {runs} runs each, "
        f"connect timeout {args.connect_timeout:g} s; median (min–max), ms",
        ["first host", "first token", "over baseline", "written by"],
        [
            [
                c["case"],
                fmt(c["first_token"], 1000, 1),
                f"{(c['first_token']['median'] - baseline) * 1000:+.1f}",
                ", ".join(c["hosts"]),
            ]
            for c in cases
        ],
    )
    write_results(
        "pools",
        {
            "quick": args.quick,
            "runs": runs,
            "connect_timeout": args.connect_timeout,
            "cases": cases,
        },
    )


if __name__ == "__main__":
    main()
