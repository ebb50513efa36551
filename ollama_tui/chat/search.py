"""Full-text search over every conversation: an SQLite FTS5 index beside the conversation files.

The index lives in `search.sqlite3` in the data dir and is only a cache of the JSON files: it
is brought up to date with `sync` (cheap when nothing changed: one stat per file), kept current
with `update` / `remove` as the app saves and deletes, and rebuilt from scratch when the file
is missing or damaged.

One FTS row holds the text of one message (user or assistant), or the title of a conversation.
A query matches rows that contain every word of it (the last word as a prefix, so results
follow the typing); results come one conversation after another, conversations whose title
matches first, each with its best few rows.

Thread-safety: one connection (`check_same_thread=False`) serialised by a lock, so the app may
call any method from worker threads. `sync` reads conversation files outside the lock, so a
search is never held up by more than one small batch of writes.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sqlite3
import stat
import threading
import unicodedata
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from ollama_tui.chat.conversation import Conversation, Role, is_valid_id
from ollama_tui.chat.store import ConversationStore, StoreError
from ollama_tui.sanitize import sanitize

INDEX_FILE = "search.sqlite3"
LOCK_WAIT = 0.25
"""Seconds to wait for another process's lock on the index before giving up (the app tries
again later); a write by another ollama-tui takes milliseconds."""
SCHEMA_VERSION = 1
"""Stored as PRAGMA user_version; an index of another version is rebuilt, not migrated."""

SNIPPET_WIDTH = 80
SYNC_BATCH = 100
"""Conversations written per transaction by `sync`; searches can run between batches."""

_WORD = re.compile(r"[^\W_]+")
"""A word as the unicode61 tokenizer sees it: a run of letters and digits."""

_SCHEMA = f"""
CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    stamp TEXT  -- size:mtime_ns:inode of the file `sync` last indexed; NULL after `update`
) WITHOUT ROWID;
CREATE TABLE entries (
    rowid INTEGER PRIMARY KEY,  -- the rowid of the text in `texts`
    conversation_id TEXT NOT NULL,
    message_id TEXT,  -- NULL for the title
    role TEXT,
    fingerprint TEXT NOT NULL  -- length and CRC-32 of the indexed text
);
CREATE INDEX entries_by_conversation ON entries (conversation_id);
CREATE VIRTUAL TABLE texts USING fts5 (
    text, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);
PRAGMA user_version = {SCHEMA_VERSION};
"""

# Every conversation's rows, best first: its title row if the title matches, then its messages
# by bm25. Conversations are ordered by their first row: title matches first, then by rank.
_SEARCH = """
SELECT cid, mid, role, rid, c.title, c.updated_at FROM (
    SELECT *, first_value(is_message) OVER best AS group_kind,
              first_value(rank) OVER best AS group_rank
    FROM (
        SELECT e.conversation_id AS cid, e.message_id AS mid, e.role AS role, t.rowid AS rid,
               t.rank AS rank, e.message_id IS NOT NULL AS is_message,
               row_number() OVER (
                   PARTITION BY e.conversation_id ORDER BY e.message_id IS NOT NULL, t.rank
               ) AS n
        FROM texts AS t JOIN entries AS e ON e.rowid = t.rowid
        WHERE texts MATCH :query AND t.rowid >= :floor
    )
    WINDOW best AS (PARTITION BY cid ORDER BY n)
) JOIN conversations AS c ON c.id = cid
WHERE n <= :per_conversation
ORDER BY group_kind, group_rank, cid, n
LIMIT :limit
"""

RANK_LIMIT = 2000
"""At most this many matching rows are ranked: a query that matches more (a common word, the
first letter typed) ranks the most recently written RANK_LIMIT of them, so a keystroke costs
milliseconds however large the library. bm25 has to look at every row it ranks."""

# The rowid above which the newest RANK_LIMIT matches lie (sync indexes oldest first, and
# every changed message is written again, so rowids grow with recency).
_FLOOR = "SELECT rowid FROM texts WHERE texts MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ?"

_T = TypeVar("_T")


class _ForeignIndex(sqlite3.DatabaseError):
    """The file is an SQLite database, but not an index of this version."""


class SearchError(Exception):
    """The index could not be used (locked, disk full, not writable); one line for the user."""


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One matching title or message, with a one-line plain-text snippet around the match."""

    conversation_id: str
    message_id: str | None
    """None when the hit is the conversation's title."""
    role: Role | None
    title: str
    snippet: str
    """Plain text (no markup), sanitized, on one line; about SNIPPET_WIDTH characters."""
    highlights: list[tuple[int, int]] = field(default_factory=list)
    """The matched words as [start, end) character ranges into `snippet`."""
    updated_at: str = ""


class SearchIndex:
    """The full-text index of one data dir's conversations."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / INDEX_FILE
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    def search(self, query: str, limit: int = 50, per_conversation: int = 3) -> list[SearchHit]:
        """The best `limit` hits for what the user typed, at most `per_conversation` each.

        Every word must occur in the same message (or title); the last word is a prefix unless
        the query ends with a space. Any text is a valid query: words are quoted, so quotes,
        `*`, `-`, AND, OR, NEAR( are searched for as words, never read as FTS syntax. Hits of
        one conversation come together, best first; see RANK_LIMIT for very common words.
        """
        parsed = Query.parse(query)
        if parsed is None or limit <= 0:
            return []

        def run(connection: sqlite3.Connection) -> list[SearchHit]:
            parameters = {
                "query": parsed.expression,
                "per_conversation": max(per_conversation, 1),
                "limit": limit,
            }
            floor = connection.execute(_FLOOR, (parsed.expression, RANK_LIMIT - 1)).fetchone()
            parameters["floor"] = floor[0] if floor else 0
            rows = connection.execute(_SEARCH, parameters).fetchall()
            texts = _texts(connection, [row[3] for row in rows])
            hits: list[SearchHit] = []
            title_snippets: dict[str, str] = {}
            for conversation_id, message_id, role, rowid, title, updated_at in rows:
                # The index file is read like every other file: its text is made inert.
                text = sanitize(texts.get(rowid, ""))
                snippet, highlights = make_snippet(plain_text(text), parsed)
                if message_id is None:
                    title_snippets[conversation_id] = snippet
                elif title_snippets.get(conversation_id) == snippet:
                    continue  # the first message, which the title was made from
                hits.append(
                    SearchHit(
                        conversation_id=conversation_id,
                        message_id=message_id,
                        role=Role(role) if role in _ROLES else None,
                        title=sanitize(title),
                        snippet=snippet,
                        highlights=highlights,
                        updated_at=updated_at,
                    )
                )
            return hits

        return self._run(run)

    def update(self, conversation: Conversation) -> None:
        """Index a conversation as it is now; only its new or changed messages are written."""

        def run(connection: sqlite3.Connection) -> None:
            with _transaction(connection):
                _write(connection, conversation, stamp=None)

        self._run(run)

    def remove(self, conversation_id: str) -> None:
        """Drop a conversation (deleted or moved to the trash) from the index."""

        def run(connection: sqlite3.Connection) -> None:
            with _transaction(connection):
                _delete(connection, conversation_id)

        self._run(run)

    def sync(self, store: ConversationStore) -> int:
        """Bring the index up to date with the files in `store`; return how many changed.

        A conversation is read again only when its file's size, mtime or inode differ from the
        ones the index last saw; conversations whose files are gone are dropped. With nothing
        changed it costs one directory scan, so call it at start-up and again whenever the
        search screen opens. From a worker thread, pass a ConversationStore of its own: a store
        object is not thread-safe (two on one folder are fine).
        """
        current = _file_stamps(store.folder)

        def known_stamps(connection: sqlite3.Connection) -> dict[str, str | None]:
            return dict(connection.execute("SELECT id, stamp FROM conversations").fetchall())

        known = self._run(known_stamps)
        gone: list[tuple[str, Conversation | None, str]] = [
            (cid, None, "") for cid in known if cid not in current
        ]
        if gone:
            self._run(functools.partial(_write_batch, batch=gone))
        # Oldest first, so rowids grow with recency (see RANK_LIMIT).
        stale = sorted(
            (cid for cid, stamp in current.items() if known.get(cid) != stamp.text),
            key=lambda cid: current[cid].mtime_ns,
        )
        changed = 0
        for start in range(0, len(stale), SYNC_BATCH):
            loaded: list[tuple[str, Conversation | None, str]] = []
            for conversation_id in stale[start : start + SYNC_BATCH]:
                stamp = current[conversation_id].text  # before reading: a later write re-syncs
                try:
                    loaded.append((conversation_id, store.load(conversation_id), stamp))
                except StoreError:  # vanished, or damaged and set aside by the store
                    loaded.append((conversation_id, None, stamp))
            changed += self._run(functools.partial(_write_batch, batch=loaded))
        return changed

    def close(self) -> None:
        """Close the database connection; the next call opens it again."""
        with self._lock:
            self._close()

    def _run(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run `operation` under the lock; a damaged index is deleted, rebuilt and tried again."""
        with self._lock:
            try:
                return self._attempt(operation)
            except sqlite3.Error as error:
                if not _is_damage(error):
                    raise self._failure(error) from error
            self._discard()
            try:
                return self._attempt(operation)
            except sqlite3.Error as error:
                raise self._failure(error) from error

    def _attempt(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        try:
            return operation(self._connect())
        except OSError as error:
            raise self._failure(error) from error

    def _failure(self, error: sqlite3.Error | OSError) -> SearchError:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        return SearchError(f"search index {self.path}: {reason}")

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))  # private from the start
            connection = sqlite3.connect(
                self.path, timeout=LOCK_WAIT, isolation_level=None, check_same_thread=False
            )
            try:
                _prepare(connection)
            except BaseException:
                connection.close()
                raise
            self._connection = connection
        return self._connection

    def _close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(sqlite3.Error):
                self._connection.close()
            self._connection = None

    def _discard(self) -> None:
        """Delete the index file and its journals; the next connection starts an empty index."""
        self._close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(OSError):  # if it stays, the retry reports why
                os.unlink(f"{self.path}{suffix}")


@dataclass(frozen=True, slots=True)
class Query:
    """What the user typed, as an FTS5 expression and as the words to mark in a snippet."""

    expression: str
    words: frozenset[str]
    """Folded words that match whole."""
    prefix: str
    """A folded word that matches any word it begins (the last one typed), or ""."""

    @classmethod
    def parse(cls, text: str) -> Query | None:
        """The query for what the user typed, or None when it holds no word to look for.

        Each whitespace-separated term is quoted, so it is a phrase of its words whatever
        characters it holds; terms without a letter or digit are dropped; the last term is a
        prefix unless the text ends with whitespace.
        """
        text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates cannot be bound
        raw = text.split()
        terms = [term for term in raw if _WORD.search(term)]
        if not terms:
            return None
        quoted = ['"' + term.replace('"', '""') + '"' for term in terms]
        words = [_fold(word) for term in terms for word in _WORD.findall(term)]
        prefix = ""
        if terms[-1] is raw[-1] and not text[-1].isspace():
            quoted[-1] += "*"
            prefix = words.pop()
        return cls(" ".join(quoted), frozenset(words), prefix)

    def matches(self, word: str) -> bool:
        """Whether a word of the text is one the query looks for."""
        folded = _fold(word)
        return folded in self.words or (bool(self.prefix) and folded.startswith(self.prefix))


_MARKDOWN_MARKS = (
    (re.compile(r"^ {0,3}(`{3,}|~{3,}).*$", re.MULTILINE), ""),  # code fences and their language
    (re.compile(r"^ {0,3}#{1,6}[ \t]+", re.MULTILINE), ""),  # heading markers
    (re.compile(r"^ {0,3}(?:>[ \t]?)+", re.MULTILINE), ""),  # block quotes
    (re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+(?:\[[ xX]\][ \t]+)?", re.MULTILINE), ""),
    (re.compile(r"^ {0,3}(?:[-*_][ \t]*){3,}$", re.MULTILINE), ""),  # thematic breaks
    (re.compile(r"!?\[([^\]\n]*)\]\([^)\n]*\)"), r"\1"),  # links and images: their text
    (re.compile(r"(\*{1,3}|_{2,3})(?=\S)(.+?)(?<=\S)\1"), r"\2"),  # emphasis
    (re.compile(r"(?<![\w`])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w`])"), r"\1"),  # _emphasis_
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),  # strike-through
    (re.compile(r"`+"), ""),  # inline code marks
    (re.compile(r"^[ \t]*\|?(?:[ \t]*:?-+:?[ \t]*\|)+[ \t]*(?::?-+:?)?[ \t]*$", re.MULTILINE), ""),
    (re.compile(r"[ \t]*\|[ \t]*"), " "),  # table cells
)


def plain_text(markdown: str) -> str:
    """Markdown as a reader sees it: the words, without the marks that format them."""
    for pattern, replacement in _MARKDOWN_MARKS:
        markdown = pattern.sub(replacement, markdown)
    return markdown


def make_snippet(
    text: str, query: Query, width: int = SNIPPET_WIDTH
) -> tuple[str, list[tuple[int, int]]]:
    """One line of about `width` characters around the first word of `text` that matches.

    Returns the plain text and the [start, end) ranges of the matching words within it.
    Whitespace runs become one space; "…" marks text cut off at either end.
    """
    first = next((m.start() for m in _WORD.finditer(text) if query.matches(m.group())), 0)
    low, high = max(0, first - 3 * width), first + 6 * width
    before = " ".join(text[low:first].split())
    if before and text[first - 1].isspace():
        before += " "
    body = before + " ".join(text[first:high].split())
    anchor = len(before)
    ranges = [m.span() for m in _WORD.finditer(body) if query.matches(m.group())]
    anchor_end = next((b for a, b in ranges if a == anchor), anchor)

    start = max(0, anchor - width // 4)
    end = min(len(body), start + width)
    start = max(0, end - width)
    if start > 0:  # begin at a word
        space = body.find(" ", start, anchor)
        start = space + 1 if space != -1 else start
    if end < len(body):  # end at a word
        space = body.rfind(" ", max(anchor_end, start), end)
        end = space if space != -1 else end

    cut_before = start > 0 or bool(text[:low].strip())
    cut_after = end < len(body) or bool(text[high:].strip())
    prefix = "…" if cut_before else ""
    shift = len(prefix) - start
    highlights = [
        (max(a, start) + shift, min(b, end) + shift) for a, b in ranges if a < end and b > start
    ]
    return prefix + body[start:end] + ("…" if cut_after else ""), highlights


_ROLES = {role.value for role in Role}


def _fold(word: str) -> str:
    """A word as the tokenizer indexes it: lower case, without diacritics."""
    if word.isascii():
        return word.lower()
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _texts(connection: sqlite3.Connection, rowids: list[int]) -> dict[int, str]:
    if not rowids:
        return {}
    placeholders = ",".join("?" * len(rowids))
    query = f"SELECT rowid, text FROM texts WHERE rowid IN ({placeholders})"
    return dict(connection.execute(query, rowids).fetchall())


def _indexable(text: str) -> str:
    """Text as stored: no control characters, and valid UTF-8 (JSON allows lone surrogates)."""
    return sanitize(text).encode("utf-8", "replace").decode("utf-8")


def _fingerprint(text: str) -> str:
    data = text.encode("utf-8")
    return f"{len(data)}:{zlib.crc32(data):08x}"


def _write(connection: sqlite3.Connection, conversation: Conversation, stamp: str | None) -> bool:
    """Make a conversation's rows match it; True when anything in the index changed."""
    wanted: dict[str | None, tuple[str | None, str]] = {}
    if conversation.has_title:
        wanted[None] = (None, _indexable(conversation.title))
    for message in conversation.messages:
        if message.content.strip():
            wanted[message.id] = (message.role.value, _indexable(message.content))
    fingerprints = {key: _fingerprint(text) for key, (_, text) in wanted.items()}

    kept: set[str | None] = set()
    stale: list[int] = []
    for rowid, message_id, fingerprint in connection.execute(
        "SELECT rowid, message_id, fingerprint FROM entries WHERE conversation_id = ?",
        (conversation.id,),
    ):
        if message_id in kept or fingerprints.get(message_id) != fingerprint:
            stale.append(rowid)
        else:
            kept.add(message_id)
    for rowid in stale:
        connection.execute("DELETE FROM texts WHERE rowid = ?", (rowid,))
        connection.execute("DELETE FROM entries WHERE rowid = ?", (rowid,))
    for key, (role, text) in wanted.items():
        if key in kept:
            continue
        cursor = connection.execute(
            "INSERT INTO entries (conversation_id, message_id, role, fingerprint) "
            "VALUES (?, ?, ?, ?)",
            (conversation.id, key, role, fingerprints[key]),
        )
        connection.execute(
            "INSERT INTO texts (rowid, text) VALUES (?, ?)", (cursor.lastrowid, text)
        )

    row = (_indexable(conversation.title), conversation.updated_at)
    before = connection.execute(
        "SELECT title, updated_at FROM conversations WHERE id = ?", (conversation.id,)
    ).fetchone()
    connection.execute(
        "INSERT INTO conversations (id, title, updated_at, stamp) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET title = excluded.title, "
        "updated_at = excluded.updated_at, stamp = excluded.stamp",
        (conversation.id, *row, stamp),
    )
    return bool(stale) or len(kept) < len(wanted) or before != row


def _write_batch(
    connection: sqlite3.Connection, batch: list[tuple[str, Conversation | None, str]]
) -> int:
    """Index what `sync` read, in one transaction; None drops a conversation it could not read."""
    changed = 0
    with _transaction(connection):
        for conversation_id, conversation, stamp in batch:
            if conversation is None:
                _delete(connection, conversation_id)
            elif _write(connection, conversation, stamp):
                changed += 1
    return changed


def _delete(connection: sqlite3.Connection, conversation_id: str) -> None:
    connection.execute(
        "DELETE FROM texts WHERE rowid IN (SELECT rowid FROM entries WHERE conversation_id = ?)",
        (conversation_id,),
    )
    connection.execute("DELETE FROM entries WHERE conversation_id = ?", (conversation_id,))
    connection.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))


def _prepare(connection: sqlite3.Connection) -> None:
    """Create the schema in a new file; an index of another version counts as damaged."""
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")  # a cache: losing the last write is fine
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    if version != 0 or connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
        raise _ForeignIndex(f"search index of version {version}, not {SCHEMA_VERSION}")
    connection.executescript(f"BEGIN; {_SCHEMA} COMMIT;")


@contextlib.contextmanager
def _transaction(connection: sqlite3.Connection) -> Iterator[None]:
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _is_damage(error: sqlite3.Error) -> bool:
    """Whether the file itself is bad (rebuild it), as opposed to locked, full or read-only."""
    if isinstance(error, _ForeignIndex):
        return True
    code = getattr(error, "sqlite_errorcode", None) or 0
    return code & 0xFF in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


@dataclass(frozen=True, slots=True)
class _FileStamp:
    """One version of a conversation file (an atomic write always makes a new inode)."""

    size: int
    mtime_ns: int
    inode: int

    @property
    def text(self) -> str:
        return f"{self.size}:{self.mtime_ns}:{self.inode}"


def _file_stamps(folder: Path) -> dict[str, _FileStamp]:
    """The version of every `<id>.json` in the store's folder, by id, from one directory scan.

    Read here rather than through `store.list()`, which would also read each changed file and
    rewrite the store's own index: twice the cost, and not safe beside the app's store.
    """
    stamps: dict[str, _FileStamp] = {}
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return stamps
    for entry in entries:
        conversation_id, suffix = os.path.splitext(entry.name)
        if suffix != ".json" or not is_valid_id(conversation_id):
            continue
        with contextlib.suppress(OSError):
            info = entry.stat()
            if stat.S_ISREG(info.st_mode):
                stamps[conversation_id] = _FileStamp(info.st_size, info.st_mtime_ns, info.st_ino)
    return stamps
