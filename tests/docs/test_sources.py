"""Finding and reading files: what is indexed, and every kind of file that is skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from ollama_tui.docs.sources import Unindexable, read_document, scan
from tests.docs.corpus import make_pdf, write_corpus


def found(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path, _ in scan([root]).files)


def test_walk_skips_hidden_and_dependency_folders(tmp_path: Path) -> None:
    write_corpus(tmp_path, {"a.md": "a", ".git/config": "x", "node_modules/m.js": "x",
                            "sub/b.txt": "b", ".hidden.md": "x"})  # fmt: skip
    assert found(tmp_path) == ["a.md", "sub/b.txt"]


def test_symlink_loops_end_and_each_file_is_found_once(tmp_path: Path) -> None:
    write_corpus(tmp_path, {"docs/a.md": "a", "docs/inner/b.md": "b"})
    (tmp_path / "docs" / "inner" / "up").symlink_to(tmp_path / "docs")
    (tmp_path / "docs" / "self").symlink_to(tmp_path / "docs" / "self")
    result = scan([tmp_path / "docs", tmp_path / "docs" / "a.md"])
    assert sorted(p.name for p, _ in result.files) == ["a.md", "b.md"]
    assert result.skipped["unreadable"] == 1  # the link that points at itself


def test_a_2_gb_sparse_file_is_skipped_without_reading_it(tmp_path: Path) -> None:
    huge = tmp_path / "huge.log"
    with huge.open("wb") as handle:
        handle.truncate(2 * 1024**3)
    (tmp_path / "small.log").write_text("fine")
    result = scan([tmp_path])
    assert [p.name for p, _ in result.files] == ["small.log"]
    assert result.skipped["too large"] == 1


def test_a_path_that_is_gone_is_reported(tmp_path: Path) -> None:
    (tmp_path / "dangling").symlink_to(tmp_path / "missing-target")
    result = scan([tmp_path / "nowhere", tmp_path / "dangling"])
    assert result.missing == [tmp_path / "nowhere", tmp_path / "dangling"]
    assert result.files == []


def test_binary_files_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    for name in ("image.png", "latin1.txt"):
        with pytest.raises(Unindexable) as caught:
            read_document(tmp_path / name)
        assert caught.value.reason == "binary"


def test_unreadable_files_are_skipped(tmp_path: Path) -> None:
    vanished = tmp_path / "vanished.md"
    vanished.write_text("here during the scan")
    assert scan([tmp_path]).files == [(vanished, tmp_path)]
    vanished.unlink()  # deleted between the scan and the read
    with pytest.raises(Unindexable) as caught:
        read_document(vanished)
    assert caught.value.reason == "unreadable"
    folder = tmp_path / "folder.md"
    folder.mkdir()
    with pytest.raises(Unindexable):
        read_document(folder)


def test_text_is_hashed_and_crlf_normalised(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_bytes(b"# Title\r\n\r\nBody\r\n")
    document = read_document(path)
    assert (document.kind, document.text, document.size) == ("markdown", "# Title\n\nBody\n", 17)
    assert len(document.sha256) == 64


def test_pdf_text_with_page_starts(tmp_path: Path) -> None:
    path = tmp_path / "manual.pdf"
    path.write_bytes(make_pdf(["Install the widget", "Calibrate the widget"]))
    document = read_document(path)
    assert document.kind == "pdf"
    assert document.text == "Install the widget\nCalibrate the widget"
    assert document.page_starts == (0, 1)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (make_pdf(["secret plans"], password="hunter2"), "encrypted"),
        (b"%PDF-1.7\n1 0 obj << /Type /Catalog", "unreadable"),
        (make_pdf(["cut short"])[:300], "unreadable"),
    ],
    ids=["encrypted", "garbage", "truncated"],
)
def test_encrypted_and_broken_pdfs_are_skipped(tmp_path: Path, data: bytes, reason: str) -> None:
    path = tmp_path / "bad.pdf"
    path.write_bytes(data)
    with pytest.raises(Unindexable) as caught:
        read_document(path)
    assert caught.value.reason == reason


def test_a_pdf_with_an_empty_password_is_read(tmp_path: Path) -> None:
    path = tmp_path / "open.pdf"
    path.write_bytes(make_pdf(["readable by anyone"], password=""))
    assert read_document(path).text == "readable by anyone"
