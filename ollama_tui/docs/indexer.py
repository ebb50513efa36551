"""Indexing a collection: find its files, chunk the new and changed ones, embed, store.

Each file's chunks and vectors are written in one transaction once all its batches are
embedded, so a run stopped at any point — cancelled, the server gone, the process killed —
leaves every file either as it was or fully indexed, and the next run carries on from there:
files whose content hash is unchanged are skipped. A lock file keeps a second process from
indexing the same collection at the same time. File reading and chunking run in a thread, so
an app's event loop stays responsive.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ollama_tui.docs.chunking import Chunk, chunk_document
from ollama_tui.docs.errors import DocsError
from ollama_tui.docs.sources import MAX_FILE_BYTES, Document, Unindexable, read_document, scan
from ollama_tui.docs.store import DocumentStore, FileRecord
from ollama_tui.ollama.errors import OllamaError

if TYPE_CHECKING:
    from ollama_tui.ollama.client import OllamaClient

DEFAULT_EMBEDDING_MODEL = "nomic-embed-text"
BATCH_SIZE = 32


@dataclass(frozen=True)
class IndexProgress:
    """Where a run is: files and chunks done, bytes for the time left, the file at hand."""

    files_done: int
    files_total: int
    chunks_done: int
    bytes_done: int
    bytes_total: int
    elapsed: float
    current: str

    @property
    def rate(self) -> float:
        """Chunks embedded per second so far."""
        return self.chunks_done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def seconds_left(self) -> float | None:
        """Estimated from the bytes still to read; None until some are done."""
        if self.bytes_done <= 0 or self.elapsed <= 0:
            return None
        return self.elapsed / self.bytes_done * max(self.bytes_total - self.bytes_done, 0)


@dataclass
class IndexReport:
    """What a run did; `cancelled` runs keep what they finished."""

    indexed: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    missing: list[str] = field(default_factory=list)
    cancelled: bool = False
    model_changed: bool = False
    seconds: float = 0.0
    embed_seconds: float = 0.0  # time spent waiting for the server's vectors


class NoEmbeddingModel(DocsError):
    """The server has no model that makes embeddings (the app offers to pull one)."""


async def installed_embedding_model(client: OllamaClient) -> str:
    """The first installed model whose capabilities include embedding."""
    try:
        models = await client.list_models()
    except OllamaError as error:
        raise DocsError(error.message) from None
    for model in models:
        if "embedding" in model.capabilities:
            return model.name
    raise NoEmbeddingModel(
        "no embedding model is installed; pull one with "
        f"`ollama pull {DEFAULT_EMBEDDING_MODEL}` or name one with --model"
    )


async def embedding_model_identity(client: OllamaClient, model: str) -> tuple[str, int]:
    """The model's digest and its vectors' dimensions; DocsError if it cannot embed."""
    try:
        models = await client.list_models()
        wanted = _full_name(model)
        match = next((m for m in models if _full_name(m.name) == wanted), None)
        if match is None:
            raise DocsError(
                f"embedding model '{model}' is not installed; pull it with `ollama pull {model}`"
            )
        if match.capabilities and "embedding" not in match.capabilities:
            raise DocsError(
                f"'{model}' is not an embedding model; choose one whose capabilities include "
                f"embedding, e.g. `ollama pull {DEFAULT_EMBEDDING_MODEL}`"
            )
        (probe,) = await client.embed(model, ["dimensions"])
    except OllamaError as error:
        raise DocsError(error.message) from None
    return match.digest or "", len(probe)


class Indexer:
    """Brings one collection of a store up to date with its files (see the module docs)."""

    def __init__(
        self,
        store: DocumentStore,
        client: OllamaClient,
        lock_folder: Path,
        *,
        batch_size: int = BATCH_SIZE,
        max_bytes: int = MAX_FILE_BYTES,
    ) -> None:
        self.store = store
        self.client = client
        self.lock_folder = lock_folder
        self.batch_size = batch_size
        self.max_bytes = max_bytes

    async def run(
        self,
        name: str,
        *,
        on_progress: Callable[[IndexProgress], None] | None = None,
        cancel: asyncio.Event | None = None,
    ) -> IndexReport:
        """Index `name`; DocsError on a failure, after keeping every file finished so far."""
        from ollama_tui.docs.locking import IndexLock

        started = time.monotonic()
        info = self.store.collection(name)
        with IndexLock(self.lock_folder, name):
            digest, dimensions = await embedding_model_identity(self.client, info.model)
            report = IndexReport()
            report.model_changed = self.store.set_model(name, info.model, digest, dimensions)
            found = await asyncio.to_thread(
                scan, [Path(root) for root in info.roots], max_bytes=self.max_bytes
            )
            report.skipped.update(found.skipped)
            report.missing = [str(root) for root in found.missing]
            known = self.store.files(name)
            present = {str(path) for path, _ in found.files}
            gone = [path for path in known if path not in present]
            self.store.drop_files(name, gone)
            report.removed = len(gone)
            size = sum(_size(p) for p, _ in found.files)
            run = _Run(report, len(found.files), size, started, info.model, dimensions)
            pending: list[_Pending] = []
            for path, root in found.files:
                if cancel is not None and cancel.is_set():
                    report.cancelled = True
                    break
                shown = str(Path(root.name) / path.relative_to(root)) if path != root else root.name
                item = await self._prepare(name, path, shown, known.get(str(path)), report)
                if item is None:
                    run.finish(path, shown, on_progress)
                    continue
                pending.append(item)
                if sum(len(waiting.chunks) for waiting in pending) >= self.batch_size:
                    await self._store(name, pending, run, on_progress, cancel)
                    pending = []
            if pending and not report.cancelled:
                await self._store(name, pending, run, on_progress, cancel)
            if not report.cancelled:
                self.store.mark_indexed(name)
        report.seconds = time.monotonic() - started
        return report

    async def _prepare(
        self, name: str, path: Path, shown: str, record: FileRecord | None, report: IndexReport
    ) -> _Pending | None:
        """The file read and chunked, or None when it is skipped or unchanged (counted)."""
        try:
            document, chunks = await asyncio.to_thread(self._read, path)
        except Unindexable as skipped:
            report.skipped[skipped.reason] += 1
            if record is not None:
                self.store.drop_files(name, [str(path)])
                report.removed += 1
            return None
        if record is not None and record.sha256 == document.sha256:
            report.unchanged += 1
            return None
        return _Pending(path, shown, document, chunks)

    async def _store(
        self,
        name: str,
        pending: list[_Pending],
        run: _Run,
        on_progress: Callable[[IndexProgress], None] | None,
        cancel: asyncio.Event | None,
    ) -> None:
        """Embed the chunks of several files in full batches, then write each file whole.

        Small files (most notes) share a request instead of costing one each; a run stopped
        here writes none of these files, so each is indexed completely or not at all.
        """
        texts = [chunk.text for item in pending for chunk in item.chunks]
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            if cancel is not None and cancel.is_set():
                run.report.cancelled = True
                return
            batch = texts[start : start + self.batch_size]
            vectors.extend(await self._embed(batch, run))
            run.chunks_done += len(batch)
            if on_progress is not None:
                on_progress(run.progress(pending[0].shown))
        offset = 0
        for item in pending:
            count = len(item.chunks)
            document, mine = item.document, vectors[offset : offset + count]
            self.store.replace_file(name, str(item.path), item.shown, document.sha256,
                                    document.size, item.chunks, mine)  # fmt: skip
            offset += count
            run.report.indexed += 1
            run.report.chunks += count
            run.finish(item.path, item.shown, on_progress)

    async def _embed(self, batch: list[str], run: _Run) -> list[list[float]]:
        asked = time.monotonic()
        try:
            vectors = await self.client.embed(run.model, batch)
        except OllamaError as error:
            raise DocsError(
                f"{error.message} — indexing stopped after {run.files_done} of "
                f"{run.files_total} files; run it again to resume"
            ) from None
        finally:
            run.report.embed_seconds += time.monotonic() - asked
        if vectors and len(vectors[0]) != run.dimensions:
            raise DocsError(
                f"the embedding model sent vectors of {len(vectors[0])} dimensions instead of "
                f"{run.dimensions}; index the collection again, and check the model if it repeats"
            )
        return vectors

    def _read(self, path: Path) -> tuple[Document, list[Chunk]]:
        document = read_document(path, max_bytes=self.max_bytes)
        chunks = chunk_document(document.text, document.kind, page_starts=document.page_starts)
        return document, [chunk for chunk in chunks if chunk.text.strip()]


@dataclass(frozen=True)
class _Pending:
    """A new or changed file, chunked, waiting for its vectors."""

    path: Path
    shown: str
    document: Document
    chunks: list[Chunk]


class _Run:
    """The counters of one run, for its progress reports."""

    def __init__(
        self,
        report: IndexReport,
        files: int,
        size: int,
        started: float,
        model: str,
        dimensions: int,
    ) -> None:
        self.report = report
        self.model = model
        self.dimensions = dimensions
        self.files_total = files
        self.bytes_total = size
        self.started = started
        self.files_done = 0
        self.chunks_done = 0
        self.bytes_done = 0

    def finish(
        self, path: Path, shown: str, on_progress: Callable[[IndexProgress], None] | None
    ) -> None:
        """Count a file as done (indexed, unchanged or skipped) and report it."""
        self.files_done += 1
        self.bytes_done += _size(path)
        if on_progress is not None:
            on_progress(self.progress(shown))

    def progress(self, current: str) -> IndexProgress:
        return IndexProgress(
            self.files_done,
            self.files_total,
            self.chunks_done,
            self.bytes_done,
            self.bytes_total,
            time.monotonic() - self.started,
            current,
        )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _full_name(name: str) -> str:
    name = name.lower()
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"
