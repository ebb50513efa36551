"""`ollama-tui docs …`: add, list, index, search and remove collections from the shell.

`docs index` draws a progress bar on a terminal and prints plain lines when its output is piped;
Ctrl+C stops it after keeping the files already indexed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ollama_tui.config import Settings
from ollama_tui.docs import database_path, lock_folder, missing_extra
from ollama_tui.docs.errors import DocsError
from ollama_tui.sanitize import one_line
from ollama_tui.session.hosts import Hosts
from ollama_tui.ui.formatting import human_bytes

if TYPE_CHECKING:
    from ollama_tui.docs.indexer import IndexProgress, IndexReport
    from ollama_tui.docs.store import DocumentStore
    from ollama_tui.ollama.client import OllamaClient

_PLAIN_EVERY = 2.0  # seconds between progress lines when the output is not a terminal


def register(commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add the `docs` command and its subcommands to the CLI's subparsers."""
    docs = commands.add_parser(
        "docs", parents=parents, help="collections of files to chat with (add, index, search…)"
    )
    actions = docs.add_subparsers(dest="docs_command", metavar="ACTION", required=True)
    add = actions.add_parser(
        "add", parents=parents, help="create a collection, or add paths to one"
    )
    add.add_argument("name", metavar="NAME")
    add.add_argument("paths", metavar="PATH", nargs="+", type=Path, help="files or folders")
    add.add_argument("--model", metavar="MODEL", help="embedding model (default: an installed one)")
    actions.add_parser(
        "list", parents=parents, help="the collections with their files, chunks and model"
    )
    index = actions.add_parser(
        "index", parents=parents, help="embed new and changed files (resumable)"
    )
    index.add_argument("name", metavar="NAME")
    search = actions.add_parser(
        "search", parents=parents, help="the passages that best match a query"
    )
    search.add_argument("name", metavar="NAME")
    search.add_argument("query", metavar="QUERY")
    search.add_argument("-n", "--limit", type=int, default=5, help="how many (default 5)")
    remove = actions.add_parser(
        "remove", parents=parents, help="delete a collection, or stop indexing a path"
    )
    remove.add_argument("name", metavar="NAME")
    remove.add_argument("path", metavar="PATH", nargs="?", help="only this path")


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Carry out one `docs` action; 2 for an error, said in one line."""
    if problem := missing_extra():
        return _fail(problem)
    from ollama_tui.docs.store import DocumentStore

    try:
        store = DocumentStore(database_path(settings))
    except DocsError as error:
        return _fail(error.message)
    try:
        action = args.docs_command
        if action == "list":
            return _list(store)
        if action == "remove":
            return _remove(store, args.name, args.path)
        return asyncio.run(_with_client(settings, store, args))
    except DocsError as error:
        return _fail(error.message)
    except KeyboardInterrupt:
        print("ollama-tui: stopped; finished files are kept — run it again to resume",
              file=sys.stderr)  # fmt: skip
        return 130
    finally:
        store.close()


async def _with_client(settings: Settings, store: DocumentStore, args: argparse.Namespace) -> int:
    hosts = Hosts(settings)  # the active server, with the app's headers and TLS settings
    try:
        client = hosts.client
        if args.docs_command == "add":
            return await _add(store, client, args.name, args.paths, args.model)
        if args.docs_command == "index":
            return await _index(settings, store, client, args.name)
        return await _search(store, client, args.name, args.query, args.limit)
    finally:
        await hosts.aclose()


async def _add(
    store: DocumentStore, client: OllamaClient, name: str, paths: list[Path], model: str | None
) -> int:
    from ollama_tui.docs.indexer import installed_embedding_model

    roots = [path.expanduser().absolute() for path in paths]
    for root in roots:
        if not root.exists():
            return _fail(f"no such file or folder: {one_line(str(root), 300)}")
    existing = {info.name for info in store.collections()}
    if name not in existing and not model:
        model = await installed_embedding_model(client)
    info = store.add_collection(name, model or "", roots)
    print(f"{info.name}: {len(info.roots)} path(s), embedding model {info.model}; "
          f"index it with `ollama-tui docs index {info.name}`")  # fmt: skip
    return 0


def _list(store: DocumentStore) -> int:
    collections = store.collections()
    if not collections:
        print("no collections; create one with `ollama-tui docs add NAME PATH…`", file=sys.stderr)
        return 0
    print("NAME  FILES  CHUNKS  SIZE  MODEL  INDEXED")
    for info in collections:
        indexed = (
            time.strftime("%Y-%m-%d %H:%M", time.localtime(info.indexed_at))
            if info.indexed_at
            else "never"
        )
        print(f"{info.name}  {info.files}  {info.chunks}  {human_bytes(info.size)}  "
              f"{one_line(info.model, 60)}  {indexed}")  # fmt: skip
        for root in info.roots:
            print(f"  {one_line(root, 300)}")
    return 0


def _remove(store: DocumentStore, name: str, path: str | None) -> int:
    info = store.collection(name)
    if path is None:
        store.remove_collection(name)
        print(f"removed collection {name} ({info.files} files, {info.chunks} chunks)")
        return 0
    root = str(Path(path).expanduser().absolute())
    if root not in info.roots:
        return _fail(f"'{one_line(path, 300)}' is not a path of {name}; see `ollama-tui docs list`")
    store.remove_path(name, root)
    print(f"{name} no longer indexes {one_line(root, 300)}; its files go at the next indexing")
    return 0


async def _index(settings: Settings, store: DocumentStore, client: OllamaClient, name: str) -> int:
    from ollama_tui.docs.indexer import Indexer

    progress = ProgressPrinter(sys.stderr)
    report = await Indexer(store, client, lock_folder(settings)).run(
        name, on_progress=progress.update
    )
    progress.close()
    print(describe_report(name, report))
    return 0


async def _search(
    store: DocumentStore, client: OllamaClient, name: str, query: str, limit: int
) -> int:
    from ollama_tui.docs.retrieval import retrieve

    info = store.collection(name)
    if not info.chunks:
        return _fail(f"'{name}' has nothing indexed yet; run `ollama-tui docs index {name}`")
    for passage in await retrieve(store, client, [name], query, limit=max(1, limit)):
        heading = f"  {one_line(passage.heading, 80)}" if passage.heading else ""
        print(f"{one_line(passage.location, 300)}  {passage.score:.2f}{heading}")
    return 0


def describe_report(name: str, report: IndexReport) -> str:
    """One line on what an indexing run did."""
    parts = [
        f"{name}: {report.indexed} file(s) indexed ({report.chunks} chunks)",
        f"{report.unchanged} unchanged",
    ]
    if report.removed:
        parts.append(f"{report.removed} removed")
    if report.skipped:
        skipped = ", ".join(f"{count} {why}" for why, count in sorted(report.skipped.items()))
        parts.append(f"skipped {skipped}")
    if report.missing:
        parts.append("gone: " + ", ".join(one_line(path, 200) for path in report.missing))
    if report.model_changed:
        parts.append("the embedding model changed, so every file was embedded again")
    if report.cancelled:
        parts.append("stopped before the end — run it again to resume")
    return "; ".join(parts)


class ProgressPrinter:
    """A redrawn progress bar on a terminal; a plain line every few seconds otherwise."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.terminal = out.isatty()
        self._last = 0.0
        self._drawn = False

    def update(self, progress: IndexProgress) -> None:
        """Show where the run is (rate-limited when not on a terminal)."""
        now = time.monotonic()
        if not self.terminal:
            if now - self._last >= _PLAIN_EVERY or progress.files_done == progress.files_total:
                self._last = now
                print(progress_line(progress), file=self.out, flush=True)
            return
        if now - self._last < 0.1 and progress.files_done < progress.files_total:
            return
        self._last = now
        share = progress.files_done / progress.files_total if progress.files_total else 1.0
        bar = "█" * int(share * 24) + "░" * (24 - int(share * 24))
        self.out.write(f"\r\x1b[2K{bar} {progress_line(progress)}"[:200])
        self.out.flush()
        self._drawn = True

    def close(self) -> None:
        """End the bar's line."""
        if self._drawn:
            self.out.write("\n")
            self.out.flush()


def progress_line(progress: IndexProgress) -> str:
    """`12/40 files  310 chunks  52.1 chunks/s  0:42 left  notes/setup.md`."""
    left = progress.seconds_left
    remaining = f"{int(left) // 60}:{int(left) % 60:02d} left" if left is not None else "…"
    return (
        f"{progress.files_done}/{progress.files_total} files  {progress.chunks_done} chunks  "
        f"{progress.rate:.1f} chunks/s  {remaining}  {one_line(progress.current, 60)}"
    )


def _fail(message: str) -> int:
    print(f"ollama-tui: {message}", file=sys.stderr)
    return 2
