"""One SQLite file for every collection: its paths, files, chunks, full-text index and vectors.

Vectors are float32 BLOBs in the same file, with their sign bits beside them; vectors.py says
how a query uses both. The bits of a collection are held in memory, loaded again when its
`generation` (bumped by every write) changes. The vector extension sqlite-vec was the first
choice, but it needs `enable_load_extension`, which many Python builds leave out of their
sqlite3 module; numpy does the same work in any Python, within the 50 ms target at 100,000
chunks (bench/docs.py). Keyword ranking is FTS5's BM25 over the chunks' text and headings; each
chunk also carries its collection as a token, so FTS5 itself keeps to one collection.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from ollama_tui.docs.chunking import Chunk
from ollama_tui.docs.errors import DocsError
from ollama_tui.docs.vectors import as_words, best, normalised, shortlist, sign_bits

if TYPE_CHECKING:
    import numpy as np

SCHEMA_VERSION = 1
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_WORD = re.compile(r"\w+")
# Left out of the keyword query: they match nearly every chunk, which costs BM25 time and
# ranks nothing. A query made only of them keeps them.
STOP_WORDS = frozenset(
    ("a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "do", "does", "for", "from",
     "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "not", "of", "on", "or", "so",
     "that", "the", "their", "then", "there", "these", "this", "to", "was", "we", "what", "when",
     "where", "which", "who", "why", "will", "with", "you", "your")
)  # fmt: skip
COMMON_SHARE, COMMON_FLOOR = 0.05, 2000
"""A word in more chunks than this share (and this floor) is left out of the keyword ranking:
it says little about which chunk answers, and BM25's cost grows with every chunk it matches.
A query of only such words is ranked by its vector alone."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS collections (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    model TEXT NOT NULL,
    model_digest TEXT NOT NULL DEFAULT '',
    dimensions INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    indexed_at REAL,
    generation INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS roots (
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    PRIMARY KEY (collection_id, path)
);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY,
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    shown TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    chunk_count INTEGER NOT NULL,
    indexed_at REAL NOT NULL,
    UNIQUE (collection_id, path)
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    collection_id INTEGER NOT NULL,
    start_line INTEGER NOT NULL,
    end_line INTEGER NOT NULL,
    heading TEXT NOT NULL,
    text TEXT NOT NULL,
    scope TEXT NOT NULL  -- 'c' || collection_id: the collection as a full-text token
);
CREATE INDEX IF NOT EXISTS chunks_by_file ON chunks(file_id);
CREATE TABLE IF NOT EXISTS vectors (
    chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
    collection_id INTEGER NOT NULL,
    bits BLOB NOT NULL,  -- before the vector, so a scan of the bits reads no overflow pages
    embedding BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS vectors_by_collection ON vectors(collection_id, chunk_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    text, heading, scope, content='chunks', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_vocabulary USING fts5vocab(chunks_fts, 'row');
CREATE TRIGGER IF NOT EXISTS chunks_added AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, text, heading, scope)
    VALUES (new.id, new.text, new.heading, new.scope);
END;
CREATE TRIGGER IF NOT EXISTS chunks_removed AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, text, heading, scope)
    VALUES ('delete', old.id, old.text, old.heading, old.scope);
END;
"""


@dataclass(frozen=True)
class CollectionInfo:
    """A collection and its figures, as the list and the collections screen show them."""

    id: int
    name: str
    model: str
    model_digest: str
    dimensions: int
    roots: tuple[str, ...]
    files: int
    chunks: int
    size: int
    indexed_at: float | None


@dataclass(frozen=True)
class FileRecord:
    """One indexed file: where it is, how it is shown, its hash and when it was indexed."""

    path: str
    shown: str
    sha256: str
    size: int
    chunks: int
    indexed_at: float


@dataclass(frozen=True)
class StoredChunk:
    """A chunk read back with the file it came from."""

    id: int
    shown: str
    start_line: int
    end_line: int
    heading: str
    text: str


class DocumentStore:
    """The documents database (one file); opened per use, safe to share between processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(path, timeout=10, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError as error:
            raise DocsError(f"cannot open the documents database {path}: {error}") from None
        self._codes_cache: dict[int, tuple[int, np.ndarray, np.ndarray]] = {}

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    # -- collections

    def add_collection(self, name: str, model: str, roots: Sequence[Path]) -> CollectionInfo:
        """Create `name` with these paths, or add the paths to it if it exists; a `model`
        other than "" also becomes its embedding model (the next indexing embeds it all again,
        the digest having changed)."""
        if not NAME_PATTERN.fullmatch(name):
            raise DocsError(
                f"'{name[:64]}' cannot name a collection; use letters, digits, '.', '_' or '-'"
            )
        with self._transaction():
            self._db.execute(
                "INSERT OR IGNORE INTO collections(name, model, created_at) VALUES (?, ?, ?)",
                (name, model, time.time()),
            )
            collection_id = self._id(name)
            if model:
                self._db.execute(
                    "UPDATE collections SET model = ? WHERE id = ?", (model, collection_id)
                )
            self._db.executemany(
                "INSERT OR IGNORE INTO roots(collection_id, path) VALUES (?, ?)",
                [(collection_id, str(root)) for root in roots],
            )
        return self.collection(name)

    def remove_path(self, name: str, root: str) -> None:
        """Stop indexing one path of a collection; its files go at the next indexing."""
        with self._transaction():
            self._db.execute(
                "DELETE FROM roots WHERE collection_id = ? AND path = ?", (self._id(name), root)
            )

    def remove_collection(self, name: str) -> None:
        """Delete a collection with all its chunks and vectors."""
        collection_id = self._id(name)
        with self._transaction():
            self._db.execute("DELETE FROM chunks WHERE collection_id = ?", (collection_id,))
            self._db.execute("DELETE FROM collections WHERE id = ?", (collection_id,))
        self._codes_cache.pop(collection_id, None)

    def collections(self) -> list[CollectionInfo]:
        """Every collection, by name."""
        names = [row[0] for row in self._db.execute("SELECT name FROM collections ORDER BY name")]
        return [self.collection(name) for name in names]

    def collection(self, name: str) -> CollectionInfo:
        """One collection with its figures; DocsError if there is none of that name."""
        row = self._db.execute(
            "SELECT id, model, model_digest, dimensions, indexed_at FROM collections "
            "WHERE name = ?",
            (name,),
        ).fetchone()
        if row is None:
            raise DocsError(f"no collection named '{name[:64]}'; see `ollama-tui docs list`")
        collection_id, model, digest, dimensions, indexed_at = row
        roots = tuple(
            path
            for (path,) in self._db.execute(
                "SELECT path FROM roots WHERE collection_id = ? ORDER BY path", (collection_id,)
            )
        )
        files, chunks, size = self._db.execute(
            "SELECT count(*), coalesce(sum(chunk_count), 0), coalesce(sum(size), 0) FROM files "
            "WHERE collection_id = ?",
            (collection_id,),
        ).fetchone()
        return CollectionInfo(
            collection_id, name, model, digest, dimensions, roots, files, chunks, size, indexed_at
        )

    def set_model(self, name: str, model: str, digest: str, dimensions: int) -> bool:
        """Record the embedding model; if it differs from the one the chunks were made with,
        drop every file so all are embedded again. Returns whether that happened."""
        info = self.collection(name)
        changed = (info.model, info.model_digest, info.dimensions) != (model, digest, dimensions)
        stale = changed and bool(info.model_digest or info.dimensions)
        with self._transaction():
            if stale:
                self._db.execute("DELETE FROM chunks WHERE collection_id = ?", (info.id,))
                self._db.execute("DELETE FROM files WHERE collection_id = ?", (info.id,))
            self._db.execute(
                "UPDATE collections SET model = ?, model_digest = ?, dimensions = ?, "
                "generation = generation + 1 WHERE id = ?",
                (model, digest, dimensions, info.id),
            )
        return stale

    def mark_indexed(self, name: str) -> None:
        """Note that a full indexing run finished now."""
        with self._transaction():
            self._db.execute(
                "UPDATE collections SET indexed_at = ? WHERE name = ?", (time.time(), name)
            )

    # -- files

    def files(self, name: str) -> dict[str, FileRecord]:
        """The indexed files of a collection, by path."""
        rows = self._db.execute(
            "SELECT path, shown, sha256, size, chunk_count, indexed_at FROM files "
            "WHERE collection_id = ? ORDER BY shown",
            (self._id(name),),
        )
        return {row[0]: FileRecord(*row) for row in rows}

    def replace_file(
        self,
        name: str,
        path: str,
        shown: str,
        sha256: str,
        size: int,
        chunks: Sequence[Chunk],
        vectors: Sequence[Sequence[float]],
    ) -> None:
        """Store a file's chunks and vectors in place of its old ones, all or nothing."""
        np = _numpy()
        matrix = normalised(np.asarray(vectors, dtype=np.float32)) if chunks else []
        codes = sign_bits(matrix) if chunks else []
        collection_id = self._id(name)
        with self._transaction():
            self._db.execute(
                "DELETE FROM files WHERE collection_id = ? AND path = ?", (collection_id, path)
            )
            file_id = self._db.execute(
                "INSERT INTO files(collection_id, path, shown, sha256, size, chunk_count, "
                "indexed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (collection_id, path, shown, sha256, size, len(chunks), time.time()),
            ).lastrowid
            for chunk, vector, code in zip(chunks, matrix, codes, strict=True):
                chunk_id = self._db.execute(
                    "INSERT INTO chunks(file_id, collection_id, start_line, end_line, heading, "
                    "text, scope) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (file_id, collection_id, chunk.start_line, chunk.end_line, chunk.heading,
                     chunk.text, f"c{collection_id}"),
                ).lastrowid  # fmt: skip
                self._db.execute(
                    "INSERT INTO vectors(chunk_id, collection_id, bits, embedding) "
                    "VALUES (?, ?, ?, ?)",
                    (chunk_id, collection_id, code.tobytes(), vector.astype("<f4").tobytes()),
                )
            self._bump(collection_id)

    def drop_files(self, name: str, paths: Iterable[str]) -> None:
        """Forget files that are gone, with their chunks."""
        collection_id = self._id(name)
        with self._transaction():
            self._db.executemany(
                "DELETE FROM files WHERE collection_id = ? AND path = ?",
                [(collection_id, path) for path in paths],
            )
            self._bump(collection_id)

    # -- search

    def nearest(self, name: str, query: Sequence[float], limit: int) -> list[tuple[int, float]]:
        """The `limit` chunks whose vectors are most similar to `query`: (id, cosine)."""
        np = _numpy()
        ids, codes, dimensions = self._codes(name)
        if not len(ids):
            return []
        vector = normalised(np.asarray(query, dtype=np.float32).reshape(1, -1))[0]
        if vector.shape[0] != dimensions:
            raise DocsError(
                f"the query vector has {vector.shape[0]} dimensions and the collection "
                f"{dimensions}; index the collection again"
            )
        candidates = [int(ids[i]) for i in shortlist(codes, vector, limit)]
        found: list[tuple[int, bytes]] = []
        for start in range(0, len(candidates), 500):
            part = candidates[start : start + 500]
            found += self._db.execute(
                "SELECT chunk_id, embedding FROM vectors "
                f"WHERE chunk_id IN ({','.join('?' * len(part))})",
                part,
            ).fetchall()
        if not found:
            return []
        matrix = np.frombuffer(b"".join(blob for _, blob in found), dtype="<f4")
        scores = matrix.reshape(len(found), dimensions) @ vector
        return [(found[i][0], float(scores[i])) for i in best(scores, limit)]

    def keyword(self, name: str, query: str, limit: int) -> list[tuple[int, float]]:
        """The `limit` chunks that best match the query's words by BM25: (id, bm25)."""
        words = list(dict.fromkeys(_WORD.findall(query.lower())))
        words = [word for word in words if word not in STOP_WORDS] or words
        if not words:
            return []
        collection_id = self._id(name)
        telling = self._telling(words)
        if not telling:
            return []
        expression = " OR ".join(f'"{word}"' for word in telling)
        rows = self._db.execute(
            "SELECT rowid, bm25(chunks_fts, 1.0, 2.0, 0.0) AS score FROM chunks_fts "
            "WHERE chunks_fts MATCH ? ORDER BY score LIMIT ?",
            (f'scope : "c{collection_id}" AND ({expression})', limit),
        )
        return [(row[0], row[1]) for row in rows]

    def _telling(self, words: list[str]) -> list[str]:
        """The words that are not common (see COMMON_SHARE)."""
        (total,) = self._db.execute("SELECT count(*) FROM vectors").fetchone()
        marks = ",".join("?" * len(words))
        counts = dict(
            self._db.execute(
                f"SELECT term, doc FROM chunks_vocabulary WHERE term IN ({marks})", words
            ).fetchall()
        )
        limit = max(COMMON_SHARE * total, COMMON_FLOOR)
        return [word for word in words if counts.get(word, 0) <= limit]

    def chunks(self, ids: Sequence[int]) -> dict[int, StoredChunk]:
        """The chunks with these ids, with the file each came from."""
        marks = ",".join("?" * len(ids))
        rows = self._db.execute(
            "SELECT chunks.id, files.shown, start_line, end_line, heading, text FROM chunks "
            f"JOIN files ON files.id = chunks.file_id WHERE chunks.id IN ({marks})",
            list(ids),
        )
        return {row[0]: StoredChunk(*row) for row in rows}

    # -- internals

    def _id(self, name: str) -> int:
        row = self._db.execute("SELECT id FROM collections WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise DocsError(f"no collection named '{name[:64]}'; see `ollama-tui docs list`")
        return int(row[0])

    def _bump(self, collection_id: int) -> None:
        self._db.execute(
            "UPDATE collections SET generation = generation + 1 WHERE id = ?", (collection_id,)
        )

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def _codes(self, name: str) -> tuple[np.ndarray, np.ndarray, int]:
        """The collection's chunk ids, sign bits and dimensions, read again after a write."""
        np = _numpy()
        collection_id, generation, dimensions = self._db.execute(
            "SELECT id, generation, dimensions FROM collections WHERE name = ?", (name,)
        ).fetchone() or (None, None, 0)
        if collection_id is None:
            raise DocsError(f"no collection named '{name[:64]}'; see `ollama-tui docs list`")
        cached = self._codes_cache.get(collection_id)
        if cached is not None and cached[0] == generation:
            return cached[1], cached[2], dimensions
        rows = self._db.execute(
            "SELECT chunk_id, bits FROM vectors WHERE collection_id = ? ORDER BY chunk_id",
            (collection_id,),
        ).fetchall()
        width = (dimensions + 7) // 8
        ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        bits = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.uint8)
        codes = as_words(bits.reshape(len(rows), width))
        self._codes_cache[collection_id] = (generation, ids, codes)
        return ids, codes, dimensions


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any exception (the connection autocommits
    otherwise); IMMEDIATE takes the write lock at once, so a busy database waits here."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")


def _numpy() -> ModuleType:
    """numpy, with its BLAS kept to one thread when this process is the first to load it.

    Scoring is one matrix-vector product, bound by memory bandwidth: extra BLAS threads only
    compete with the interface and other programs (3,000 vectors: 0.5 ms on one thread,
    20-50 ms with OpenBLAS's threads on a busy two-core machine).
    """
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")
    import numpy

    return numpy
