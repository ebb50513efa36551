"""Benchmark 7 — documents: indexing throughput, query latency and memory at 10,000 and
100,000 chunks.

    .venv/bin/python bench/docs.py [--quick] [--runs N] [--sizes 10000,100000]

Method.

* Indexing: a corpus of Markdown files (a heading and a few paragraphs each, ~4 chunks a file)
  is indexed by the real Indexer against the fake Ollama in its own process (768-dimension
  vectors, as nomic-embed-text). Throughput is chunks divided by the run's time minus the time
  spent waiting for /api/embed answers (the server's embedding time, which on a real server
  depends on its hardware): what ollama-tui itself costs — scanning, hashing, chunking, storing
  chunks, FTS5 rows and vectors.
* Queries: for each size a store is filled directly (replace_file, 50 chunks a file) with
  generated text and random unit vectors of 768 dimensions, in a fresh process. The query
  vector is computed beforehand, so the figure is ollama-tui's retrieval — the exact vector
  scan, the FTS5/BM25 ranking, the fusion and reading the chunks back — without the server's
  embedding of the query (one short text: ~10–30 ms on a real server). The first query loads
  the collection's vectors into memory and is shown apart ("cold").
* Memory: RSS of that process after the store is opened, and after the first query (the vector
  matrix is resident); the database file's size.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    ServerProcess,
    fmt,
    parser,
    print_table,
    rss_mb,
    run_worker,
    summary,
    write_results,
)

from ollama_tui.docs.chunking import Chunk
from ollama_tui.docs.indexer import Indexer
from ollama_tui.docs.retrieval import retrieve
from ollama_tui.docs.store import DocumentStore
from ollama_tui.ollama.client import OllamaClient

EMBEDDER = "nomic-embed-text:latest"
DIMENSIONS = 768
SIZES = (10_000, 100_000)
QUICK_SIZES = (1_000, 3_000)
QUERIES = ("configure the server port", "sourdough starter", "xylophone", "error 4711 disk")
COMMON = ["the", "of", "and", "to", "a", "in", "is", "it", "that", "for", "on", "with", "as",
          "was", "be", "by", "this", "are", "or", "from"]  # fmt: skip
TOPICAL = [
    "server", "port", "config", "install", "model", "chat", "token", "memory", "disk", "file",
    "folder", "index", "search", "query", "vector", "embed", "chunk", "heading", "paragraph",
    "markdown", "python", "function", "class", "error", "retry", "network", "sourdough", "bread",
    "garden", "roses", "widget", "manual", "calibrate", "terminal", "keyboard", "screen", "theme",
]  # fmt: skip
VOCABULARY = [*COMMON, *TOPICAL, *(f"w{n:x}" for n in range(5000))]
"""Word frequencies follow Zipf's law (weight 1/rank), as in natural text: function words
first, then the topical words, then a long tail; a topical word is in ~5-15% of chunks."""
CUMULATIVE = list(itertools.accumulate(1 / rank for rank in range(1, len(VOCABULARY) + 1)))
CHUNKS_PER_FILE = 50


class PrecomputedEmbedder:
    """Stands in for the client's embed() so query figures leave out the server's time."""

    def __init__(self, vector: list[float]) -> None:
        self.vector = vector

    async def embed(self, model: str, texts: list[str]) -> list[list[float]]:
        return [self.vector for _ in texts]


def words(rng: random.Random, count: int) -> str:
    return " ".join(rng.choices(VOCABULARY, cum_weights=CUMULATIVE, k=count))


def write_corpus(folder: Path, files: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    for number in range(files):
        paragraphs = "\n\n".join(words(rng, 90) + "." for _ in range(6))
        (folder / f"note{number:05}.md").write_text(f"# Note {number}\n\n{paragraphs}\n")


async def index_corpus(folder: Path, url: str) -> dict[str, Any]:
    store = DocumentStore(folder / "data" / "documents.sqlite3")
    store.add_collection("bench", EMBEDDER, [folder / "corpus"])
    async with OllamaClient(url) as client:
        report = await Indexer(store, client, folder / "data" / "locks").run("bench")
    store.close()
    own = report.seconds - report.embed_seconds
    return {
        "files": report.indexed,
        "chunks": report.chunks,
        "seconds": report.seconds,
        "embed_seconds": report.embed_seconds,
        "chunks_per_second": report.chunks / own if own > 0 else float("nan"),
    }


def measure_indexing(files: int, runs: int) -> dict[str, Any]:
    results = []
    with ServerProcess() as server:
        for _ in range(runs):
            with tempfile.TemporaryDirectory(prefix="ollama-tui-bench-docs-index-") as name:
                folder = Path(name)
                (folder / "corpus").mkdir()
                write_corpus(folder / "corpus", files)
                results.append(asyncio.run(index_corpus(folder, server.url)))
    return {
        "files": files,
        "chunks": results[0]["chunks"],
        "chunks_per_second": summary([r["chunks_per_second"] for r in results]),
        "embed_share": summary([r["embed_seconds"] / r["seconds"] for r in results]),
    }


def fill_store(store: DocumentStore, chunks: int, rng: random.Random) -> None:
    import numpy as np

    generator = np.random.default_rng(1)
    store.add_collection("bench", EMBEDDER, [])
    store.set_model("bench", EMBEDDER, "digest", DIMENSIONS)
    for file_number in range(chunks // CHUNKS_PER_FILE):
        pieces = [
            Chunk(n * 10 + 1, n * 10 + 9, f"Section {n}", words(rng, 120))
            for n in range(CHUNKS_PER_FILE)
        ]
        if file_number == 7:  # the one chunk with the rare word
            pieces[3] = Chunk(31, 39, "Music", "The xylophone is a percussion instrument.")
        vectors = generator.standard_normal((CHUNKS_PER_FILE, DIMENSIONS), dtype=np.float32)
        path = f"/bench/file{file_number:06}.md"
        store.replace_file("bench", path, path[1:], f"{file_number:064}", 6000, pieces, vectors)


def query_worker(args: dict[str, Any]) -> None:
    """One size in a fresh process: fill, open, query; print the figures as JSON."""
    import numpy as np

    chunks, runs = args["chunks"], args["runs"]
    with tempfile.TemporaryDirectory(prefix="ollama-tui-bench-docs-query-") as name:
        path = Path(name) / "documents.sqlite3"
        writer = DocumentStore(path)
        started = time.perf_counter()
        fill_store(writer, chunks, random.Random(3))
        fill_seconds = time.perf_counter() - started
        writer.close()
        database_mb = sum(p.stat().st_size for p in Path(name).glob("documents.sqlite3*")) / 1e6

        baseline = rss_mb()
        store = DocumentStore(path)
        vector = np.random.default_rng(5).standard_normal(DIMENSIONS).tolist()
        embedder: Any = PrecomputedEmbedder(vector)

        def query(text: str) -> float:
            began = time.perf_counter()
            asyncio.run(retrieve(store, embedder, ["bench"], text, limit=5))
            return time.perf_counter() - began

        cold = query(QUERIES[0])
        loaded = rss_mb()
        timings: dict[str, list[float]] = {text: [] for text in QUERIES}
        for _ in range(runs):
            for text in QUERIES:
                timings[text].append(query(text))
        vector_only = []
        for _ in range(runs):
            began = time.perf_counter()
            store.nearest("bench", vector, 50)
            vector_only.append(time.perf_counter() - began)
        store.close()
    every = [value for values in timings.values() for value in values]
    print(
        json.dumps(
            {
                "chunks": chunks,
                "fill_seconds": fill_seconds,
                "database_mb": database_mb,
                "rss_open_mb": baseline,
                "rss_loaded_mb": loaded,
                "cold_query": cold,
                "query": summary(every),
                "query_max": max(every),
                "queries": {text: summary(values) for text, values in timings.items()},
                "vector_scan": summary(vector_only),
            }
        )
    )


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--sizes", help="chunk counts, comma-separated (default 10000,100000)")
    args = p.parse_args()
    if args.worker:
        query_worker(json.loads(args.worker))
        return
    runs = args.runs or (1 if args.quick else 5)
    sizes = (
        tuple(int(size) for size in args.sizes.split(","))
        if args.sizes
        else (QUICK_SIZES if args.quick else SIZES)
    )
    indexing = measure_indexing(20 if args.quick else 500, runs if args.quick else 3)
    queries = [run_worker(Path(__file__), {"chunks": size, "runs": runs}, 1800) for size in sizes]
    failed = [result["error"] for result in queries if "error" in result]
    if failed:
        raise SystemExit(f"a query worker failed: {failed[0]}")

    print_table(
        "Indexing (fake Ollama in its own process; the server's embedding time excluded)",
        ("files", "chunks", "chunks/s", "share of time waiting for vectors"),
        [(f"{indexing['files']:,}", f"{indexing['chunks']:,}",
          fmt(indexing["chunks_per_second"]), fmt(indexing["embed_share"], 100) + " %")],
    )  # fmt: skip
    ms = {"scale": 1000, "digits": 1}
    print_table(
        "Retrieval of 5 passages (ms; median (min–max) over every query), memory (MB)",
        ("chunks", "query", "max", "cold (loads vectors)", "vector scan", "RSS open", "RSS loaded",
         "database"),
        [(f"{r['chunks']:,}", fmt(r["query"], **ms), f"{r['query_max'] * 1000:.1f}",
          f"{r['cold_query'] * 1000:.0f}", fmt(r["vector_scan"], **ms), f"{r['rss_open_mb']:.0f}",
          f"{r['rss_loaded_mb']:.0f}", f"{r['database_mb']:.0f}") for r in queries],
    )  # fmt: skip
    if len(queries) > 1:
        first, last = queries[0], queries[-1]
        scale = last["chunks"] / first["chunks"]
        latency = last["query"]["median"] / first["query"]["median"]
        memory = (last["rss_loaded_mb"] - last["rss_open_mb"]) / max(
            first["rss_loaded_mb"] - first["rss_open_mb"], 1e-9
        )
        print(f"\ngrowth ×{scale:g} chunks: query ×{latency:.1f}, resident vectors ×{memory:.1f}")
    write_results(
        "docs", {"quick": args.quick, "runs": runs, "indexing": indexing, "queries": queries}
    )


if __name__ == "__main__":
    main()
