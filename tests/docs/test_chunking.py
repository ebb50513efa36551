"""Chunking follows each format's structure, keeps line ranges and headings, and is bounded."""

from __future__ import annotations

import itertools

import pytest

from ollama_tui.docs.chunking import Chunk, chunk_document, kind_of


def assert_lines_match(text: str, chunks: list[Chunk]) -> None:
    lines = text.split("\n")
    for chunk in chunks:
        assert chunk.text == "\n".join(lines[chunk.start_line - 1 : chunk.end_line])


MARKDOWN = """# Install

Get the package with pip.

```bash
pip install thing

# not a heading: inside a fence
thing --help
```

## Configure

Set the port in the config file.

# Use

Run it.
"""


def test_markdown_sections_headings_and_whole_code_blocks() -> None:
    chunks = chunk_document(MARKDOWN, "markdown")
    assert [(c.start_line, c.end_line, c.heading) for c in chunks] == [
        (1, 10, "Install"),
        (12, 14, "Install › Configure"),
        (16, 18, "Use"),
    ]
    assert "# not a heading" in chunks[0].text
    assert_lines_match(MARKDOWN, chunks)


def test_markdown_paragraphs_pack_up_to_the_limit_with_overlap_inside_a_section() -> None:
    paragraphs = [f"Paragraph {n} " + "word " * 30 for n in range(12)]
    text = "# Long\n\n" + "\n\n".join(paragraphs) + "\n\n# Next\n\nShort."
    chunks = chunk_document(text, "markdown", max_chars=500, overlap_chars=200)
    assert all(len(c.text) <= 500 for c in chunks)
    long_section = [c for c in chunks if c.heading == "Long"]
    assert len(long_section) > 2
    for before, after in itertools.pairwise(long_section):
        assert after.start_line <= before.end_line  # the last lines are repeated
    assert chunks[-1].heading == "Next" and chunks[-1].text == "# Next\n\nShort."
    assert_lines_match(text, chunks)


PYTHON = '''"""A module."""

import os


def small():
    return 1


class Thing:
    def method(self):
        x = 1

        return x


def large():
''' + "".join(f"    value_{n} = {n}\n" for n in range(60))


def test_code_follows_top_level_definitions() -> None:
    chunks = chunk_document(PYTHON, "code", max_chars=300, overlap_chars=0)
    assert all(len(c.text) <= 300 for c in chunks)
    thing = next(c for c in chunks if "class Thing:" in c.text)
    assert "return x" in thing.text  # a blank line inside the method does not split it
    assert chunks[0].heading == "def small():"  # small units share a chunk, named by the first
    large = [c for c in chunks if c.heading == "def large():"]
    assert len(large) >= 3  # too big for one chunk: cut by lines, in order
    assert [c.start_line for c in large] == sorted(c.start_line for c in large)
    assert large[-1].end_line == PYTHON.rstrip("\n").count("\n") + 1
    assert_lines_match(PYTHON, chunks)


def test_plain_text_paragraphs_and_very_long_lines() -> None:
    text = "First paragraph.\n\nSecond paragraph.\n\n" + "x" * 5000
    chunks = chunk_document(text, "text", max_chars=1000, overlap_chars=100)
    assert chunks[0].text == "First paragraph.\n\nSecond paragraph."
    long_line = [c for c in chunks if c.start_line == 5]
    assert [len(c.text) for c in long_line] == [1000] * 5
    assert all(c.end_line == 5 for c in long_line)


def test_pdf_pages_are_sections_named_by_page() -> None:
    text = "Intro words.\nMore intro.\nPage two starts here."
    chunks = chunk_document(text, "pdf", page_starts=(0, 2))
    assert [(c.start_line, c.end_line, c.heading) for c in chunks] == [
        (1, 2, "page 1"),
        (3, 3, "page 2"),
    ]


def test_empty_and_blank_documents_have_no_chunks() -> None:
    assert chunk_document("", "markdown") == []
    assert chunk_document("\n\n  \n", "text") == []


@pytest.mark.parametrize(
    ("suffix", "kind"),
    [(".md", "markdown"), (".PY", "code"), (".rs", "code"), (".pdf", "pdf"), (".txt", "text"),
     ("", "text")],
)  # fmt: skip
def test_kind_of_suffix(suffix: str, kind: str) -> None:
    assert kind_of(suffix) == kind
