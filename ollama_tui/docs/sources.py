"""Finding a collection's files and reading their text, skipping what cannot be indexed.

Walking follows symbolic links but never enters a folder twice (a link loop ends there), skips
hidden files and folders and the usual build and dependency folders, and looks at each file's
size before reading it, so a 2 GB log costs one stat. A file is binary when its first 8 KiB hold
a NUL byte or it is not UTF-8 text; a PDF is read with pypdf, page by page.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ollama_tui.docs.chunking import kind_of

MAX_FILE_BYTES = 20 * 1024 * 1024
SKIPPED_FOLDERS = frozenset({"node_modules", "__pycache__", "venv", "target", "dist", "build"})
_SNIFF_BYTES = 8192


class Unindexable(Exception):
    """A file that is skipped; `reason` is one of: binary, too large, unreadable, encrypted."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Scan:
    """The files found under a collection's paths, and what was passed over."""

    files: list[tuple[Path, Path]] = field(default_factory=list)  # (file, the root it is under)
    skipped: Counter[str] = field(default_factory=Counter)
    missing: list[Path] = field(default_factory=list)  # roots that no longer exist


@dataclass(frozen=True)
class Document:
    """A file's text ready to chunk: its kind, content hash and PDF page starts."""

    text: str
    kind: str
    sha256: str
    size: int
    page_starts: tuple[int, ...] = ()


def scan(roots: Sequence[Path], *, max_bytes: int = MAX_FILE_BYTES) -> Scan:
    """Every indexable-looking file under `roots` (files or folders), in a stable order."""
    found = Scan()
    seen_folders: set[tuple[int, int]] = set()
    seen_files: set[Path] = set()
    for root in roots:
        if not os.path.lexists(root) or not root.exists():
            found.missing.append(root)
            continue
        paths = [root] if not root.is_dir() else _walk(root, seen_folders, found.skipped)
        for path in paths:
            try:
                info = path.stat()
            except OSError:
                found.skipped["unreadable"] += 1
                continue
            if path in seen_files:
                continue
            seen_files.add(path)
            if info.st_size > max_bytes:
                found.skipped["too large"] += 1
            else:
                found.files.append((path, root))
    return found


def _walk(root: Path, seen: set[tuple[int, int]], skipped: Counter[str]) -> Iterator[Path]:
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            info = folder.stat()
            if (info.st_dev, info.st_ino) in seen:
                continue  # a symbolic link back to a folder already walked
            seen.add((info.st_dev, info.st_ino))
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError:
            skipped["unreadable"] += 1
            continue
        folders: list[Path] = []
        for entry in entries:
            if entry.name.startswith(".") or entry.name in SKIPPED_FOLDERS:
                continue
            try:
                is_folder = entry.is_dir()
                is_file = not is_folder and entry.is_file()
            except OSError:
                is_folder = is_file = False
            if is_folder:
                folders.append(Path(entry.path))
            elif is_file:
                yield Path(entry.path)
            elif not os.path.exists(entry.path):
                skipped["unreadable"] += 1  # a dangling link, or one that loops on itself
        stack.extend(reversed(folders))


def read_document(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> Document:
    """The text of one file, or Unindexable saying why not."""
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError:
        raise Unindexable("unreadable") from None
    if len(data) > max_bytes:
        raise Unindexable("too large")
    digest = hashlib.sha256(data).hexdigest()
    kind = kind_of(path.suffix)
    if kind == "pdf" or data.startswith(b"%PDF-"):
        text, starts = _pdf_text(data)
        return Document(text, "pdf", digest, len(data), starts)
    if b"\0" in data[:_SNIFF_BYTES]:
        raise Unindexable("binary")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Unindexable("binary") from None
    return Document(text.replace("\r\n", "\n"), kind, digest, len(data))


def _pdf_text(data: bytes) -> tuple[str, tuple[int, ...]]:
    """The text of each page, joined, and the line each page starts on."""
    import io
    import logging

    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # damaged files are counted, not logged

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise Unindexable("encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
    except Unindexable:
        raise
    except Exception:  # a damaged PDF can make pypdf raise almost any exception
        raise Unindexable("unreadable") from None
    starts: list[int] = []
    lines = 0
    for page in pages:
        starts.append(lines)
        lines += page.count("\n") + 1
    return "\n".join(pages), tuple(starts)
