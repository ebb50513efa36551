"""Cutting a document into chunks along its own structure, each with its lines and heading.

A document is first split into blocks that should stay whole where possible — a Markdown
paragraph or fenced code block, a top-level function of source code, a plain paragraph, a PDF
page's paragraph — grouped into sections (a Markdown heading or a PDF page starts one). Blocks
are then packed into chunks of at most `max_chars`; a chunk that follows another in the same
section repeats its last lines (up to `overlap_chars`), so a sentence cut at a boundary is found
from either side. A block longer than a chunk is cut by lines (and a very long line by
characters).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MAX_CHARS = 1600  # about 400 tokens: a few chunks fit any context, and each stays on one topic
OVERLAP_CHARS = 200

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown", ".mdx"})
CODE_SUFFIXES = frozenset(
    {
        ".py", ".pyi", ".js", ".jsx", ".ts", ".tsx", ".mjs", ".go", ".rs", ".c", ".h", ".cc",
        ".cpp", ".hpp", ".java", ".kt", ".swift", ".cs", ".rb", ".php", ".scala", ".lua", ".sh",
        ".bash", ".zsh", ".pl", ".r", ".jl", ".ex", ".exs", ".erl", ".hs", ".ml", ".dart", ".sql",
    }
)  # fmt: skip

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_DEFINITION = re.compile(
    r"^\s*(?:@\w|(?:export\s+|pub(?:\(\w+\))?\s+|public\s+|private\s+|static\s+|async\s+)*"
    r"(?:def|class|function|fn|func|fun|struct|enum|trait|impl|interface|module|type|sub)\b)"
)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of a document: lines start_line..end_line (1-based, inclusive) under `heading`."""

    start_line: int
    end_line: int
    heading: str
    text: str


@dataclass(frozen=True, slots=True)
class _Block:
    start: int  # 0-based line indexes, inclusive
    end: int
    heading: str
    section: int


def chunk_document(
    text: str,
    kind: str,
    *,
    max_chars: int = MAX_CHARS,
    overlap_chars: int = OVERLAP_CHARS,
    page_starts: Sequence[int] = (),
) -> list[Chunk]:
    """Chunks of `text`; `kind` is "markdown", "code", "pdf" or "text" (see kind_of).

    For a PDF, `page_starts` holds the 0-based line where each page begins.
    """
    lines = text.split("\n")
    if kind == "markdown":
        blocks = _markdown_blocks(lines)
    elif kind == "code":
        blocks = _code_blocks(lines)
    else:
        blocks = _paragraph_blocks(lines, page_starts if kind == "pdf" else ())
    chunks = _pack(lines, blocks, max_chars, overlap_chars)
    return [piece for chunk in chunks for piece in _cut_long_lines(chunk, max_chars)]


def kind_of(suffix: str) -> str:
    """The chunking a file's suffix calls for: "markdown", "code", "pdf" or "text"."""
    suffix = suffix.lower()
    if suffix in MARKDOWN_SUFFIXES:
        return "markdown"
    if suffix in CODE_SUFFIXES:
        return "code"
    return "pdf" if suffix == ".pdf" else "text"


def _markdown_blocks(lines: list[str]) -> list[_Block]:
    """Paragraphs and whole fenced code blocks; each heading starts a section."""
    blocks: list[_Block] = []
    trail: list[tuple[int, str]] = []  # (level, title) of the headings above
    section = 0
    start: int | None = None
    fence: str | None = None

    def close(end: int) -> None:
        nonlocal start
        if start is not None and end >= start:
            blocks.append(_Block(start, end, " › ".join(t for _, t in trail), section))
        start = None

    for index, line in enumerate(lines):
        if fence is not None:
            if line.strip().startswith(fence):
                fence = None
                close(index)
            continue
        if opening := _FENCE.match(line):
            close(index - 1)
            start, fence = index, opening.group(1)[:3]
            continue
        if heading := _HEADING.match(line):
            close(index - 1)
            level = len(heading.group(1))
            trail = [*(entry for entry in trail if entry[0] < level), (level, heading.group(2))]
            section += 1
            start = index  # the heading line opens its section's first block
            continue
        if not line.strip():
            close(index - 1)
        elif start is None:
            start = index
    close(len(lines) - 1)  # also ends a fence left open
    return blocks


def _code_blocks(lines: list[str]) -> list[_Block]:
    """Top-level units: a block ends at a blank line followed by an unindented line."""
    blocks: list[_Block] = []
    start: int | None = None
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        follows_blank = index > 0 and not lines[index - 1].strip()
        unindented = not line[:1].isspace() and not line.lstrip().startswith(("}", ")", "]"))
        if start is None:
            start = index
        elif follows_blank and unindented:
            blocks.append(_code_block(lines, start, _last_text_line(lines, index - 1)))
            start = index
    if start is not None:
        blocks.append(_code_block(lines, start, _last_text_line(lines, len(lines) - 1)))
    return blocks


def _code_block(lines: list[str], start: int, end: int) -> _Block:
    """A unit of code, headed by its first definition line (a def, class, fn, func …)."""
    heading = next(
        (lines[i].strip()[:100] for i in range(start, end + 1) if _DEFINITION.match(lines[i])),
        "",
    )
    return _Block(start, end, heading, 0)


def _paragraph_blocks(lines: list[str], page_starts: Sequence[int]) -> list[_Block]:
    """Paragraphs separated by blank lines; with page starts, each page is a section."""
    blocks: list[_Block] = []
    page = 0
    start: int | None = None

    def close(end: int) -> None:
        nonlocal start
        if start is not None:
            heading = f"page {page}" if page_starts else ""
            blocks.append(_Block(start, _last_text_line(lines, end), heading, page))
        start = None

    for index, line in enumerate(lines):
        if page < len(page_starts) and index >= page_starts[page]:
            close(index - 1)
            while page < len(page_starts) and index >= page_starts[page]:
                page += 1
        if not line.strip():
            close(index - 1)
        elif start is None:
            start = index
    close(len(lines) - 1)
    return blocks


def _last_text_line(lines: list[str], end: int, start: int = 0) -> int:
    while end > start and not lines[end].strip():
        end -= 1
    return end


def _pack(lines: list[str], blocks: list[_Block], limit: int, overlap: int) -> Iterable[Chunk]:
    """Group blocks into chunks of at most `limit` characters, with overlap inside a section."""
    spans = [span for block in blocks for span in _fit(lines, block, limit)]
    current: list[_Block] = []
    for span in spans:
        same_section = bool(current) and current[-1].section == span.section
        if current and (not same_section or _length(lines, current[0].start, span.end) > limit):
            yield _chunk(lines, current)
            tail = _overlap(lines, current[-1], overlap) if same_section else None
            fits = tail is not None and _length(lines, tail.start, span.end) <= limit
            current = [tail] if fits and tail is not None else []
        current.append(span)
    if current:
        yield _chunk(lines, current)


def _fit(lines: list[str], block: _Block, limit: int) -> Iterable[_Block]:
    """The block itself, or consecutive line ranges of it that each fit in `limit`."""
    if _length(lines, block.start, block.end) <= limit:
        yield block
        return
    pieces: list[tuple[int, int]] = []
    start, size = block.start, 0
    for index in range(block.start, block.end + 1):
        width = len(lines[index]) + 1
        if size and size + width > limit:
            pieces.append((start, index - 1))
            start, size = index, 0
        size += width
    pieces.append((start, block.end))
    for first, last in pieces:
        while first < last and not lines[first].strip():
            first += 1
        last = _last_text_line(lines, last, first)
        if lines[first].strip() or first != last:
            yield _Block(first, max(first, last), block.heading, block.section)


def _overlap(lines: list[str], last: _Block, overlap: int) -> _Block | None:
    """The last lines of `last` that fit in `overlap` characters (none if one line is longer)."""
    start, size = last.end + 1, 0
    while start > last.start and size + len(lines[start - 1]) + 1 <= overlap:
        start -= 1
        size += len(lines[start]) + 1
    if start > last.end:
        return None
    return _Block(start, last.end, last.heading, last.section)


def _length(lines: list[str], start: int, end: int) -> int:
    return sum(len(line) + 1 for line in lines[start : end + 1]) - 1


def _chunk(lines: list[str], spans: list[_Block]) -> Chunk:
    start, end = spans[0].start, max(span.end for span in spans)
    text = "\n".join(lines[start : end + 1])
    heading = next((span.heading for span in spans if span.heading), "")
    return Chunk(start + 1, end + 1, heading, text)


def _cut_long_lines(chunk: Chunk, limit: int) -> list[Chunk]:
    """A chunk over the limit holds one very long line (minified code): cut it in pieces."""
    if len(chunk.text) <= limit:
        return [chunk]
    return [
        Chunk(chunk.start_line, chunk.end_line, chunk.heading, chunk.text[at : at + limit])
        for at in range(0, len(chunk.text), limit)
    ]
