"""Reading attached files: detection by content, downscaling, limits and every bad input."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from ollama_tui.chat.attachments import AttachmentKind
from ollama_tui.chat.intake import (
    AttachLimits,
    AttachmentRefused,
    complete,
    dropped_path,
    prepare,
    resolve,
    unquote_path,
)
from tests.images import animated_gif, picture, pixel, rotated_jpeg, size_of


def write(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


# --------------------------------------------------------------------------- images


def test_a_small_png_is_kept_byte_for_byte(tmp_path: Path) -> None:
    data = picture(64, 48)
    prepared = prepare(write(tmp_path, "shot.png", data))
    assert prepared.data == data
    a = prepared.attachment
    assert (a.kind, a.ext, a.width, a.height, a.size) == (
        AttachmentKind.IMAGE,
        "png",
        64,
        48,
        len(data),
    )
    assert a.name == "shot.png" and len(a.sha256) == 64


def test_a_large_png_is_downscaled_to_the_longest_side(tmp_path: Path) -> None:
    prepared = prepare(write(tmp_path, "big.png", picture(3000, 2000)))
    assert size_of(prepared.data) == (1568, 1045)
    assert (prepared.attachment.width, prepared.attachment.height) == (1568, 1045)


def test_the_longest_side_is_configurable(tmp_path: Path) -> None:
    prepared = prepare(write(tmp_path, "p.jpg", picture(800, 1200, "JPEG")), AttachLimits(300))
    assert size_of(prepared.data) == (200, 300)
    assert prepared.attachment.ext == "jpg"


def test_exif_orientation_is_honoured(tmp_path: Path) -> None:
    # Stored 400×200 with its red quarter top-left; orientation 6 shows it turned 90° clockwise.
    prepared = prepare(write(tmp_path, "phone.jpg", rotated_jpeg(400, 200, 6)))
    assert size_of(prepared.data) == (200, 400)
    red = pixel(prepared.data, 150, 50)  # the red quarter is now top-right
    assert red[0] > 200 and red[2] < 60


def test_gif_first_frame_and_webp_become_png(tmp_path: Path) -> None:
    gif = prepare(write(tmp_path, "anim.gif", animated_gif(40, 30)))
    assert (gif.attachment.ext, size_of(gif.data)) == ("png", (40, 30))
    assert pixel(gif.data, 5, 5)[:3] == (255, 0, 0)
    webp = prepare(write(tmp_path, "w.webp", picture(50, 20, "WEBP")))
    assert (webp.attachment.ext, size_of(webp.data)) == ("png", (50, 20))
    assert webp.data.startswith(b"\x89PNG")


def test_an_image_is_recognised_whatever_its_name(tmp_path: Path) -> None:
    prepared = prepare(write(tmp_path, "no-extension", picture(10, 10, "JPEG")))
    assert prepared.attachment.kind is AttachmentKind.IMAGE


# --------------------------------------------------------------------------- text


def test_text_is_recognised_by_content(tmp_path: Path) -> None:
    makefile = prepare(write(tmp_path, "Makefile", "all:\n\tcc main.c\n"))
    assert makefile.attachment.kind is AttachmentKind.TEXT
    assert makefile.attachment.text == "all:\n\tcc main.c\n"
    assert makefile.attachment.ext == "txt"
    script = prepare(write(tmp_path, "run", "#!/usr/bin/env python3\nprint('hi')\n"))
    assert script.attachment.language == "python"
    data = prepare(write(tmp_path, "data", '{"a": [1, 2]}'))
    assert data.attachment.language == "json"
    source = prepare(write(tmp_path, "app.py", "x = 1\n"))
    assert (source.attachment.language, source.attachment.ext) == ("python", "py")
    table = prepare(write(tmp_path, "t.csv", "a,b\n1,2\n"))
    assert table.attachment.language == "csv"
    bom = prepare(write(tmp_path, "notes.md", "\ufeff# Notes\n".encode()))
    assert bom.attachment.text == "# Notes\n"


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("notes.txt", b"\x00\x01\x02binary", "notes.txt is a binary file"),
        ("latin1.txt", "café".encode("latin-1"), "latin1.txt is a binary file"),
        ("doc.pdf", b"%PDF-1.7\n...", "doc.pdf is a PDF document"),
        ("report.docx", b"PK\x03\x04rest", "report.docx is a ZIP archive"),
        ("a.bmp", b"BM" + bytes(60), "a.bmp is a BMP image"),
    ],
)
def test_other_files_are_refused_with_the_reason(
    tmp_path: Path, name: str, data: bytes, reason: str
) -> None:
    with pytest.raises(AttachmentRefused, match=reason) as refused:
        prepare(write(tmp_path, name, data))
    assert "\n" not in str(refused.value)


def test_text_over_the_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = write(tmp_path, "log.txt", "x" * 2_000)
    with pytest.raises(
        AttachmentRefused, match=r"log.txt is 2.0 KB: text files are limited to 1.0 KB"
    ):
        prepare(path, AttachLimits(max_text_bytes=1_000))


# --------------------------------------------------------------------------- bad input


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AttachmentRefused, match=r"^gone.png: no such file"):
        prepare(tmp_path / "gone.png")


def test_a_folder(tmp_path: Path) -> None:
    with pytest.raises(AttachmentRefused, match=r"is a folder"):
        prepare(tmp_path)


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(AttachmentRefused, match=r"pipe is a named pipe \(FIFO\)"):
        prepare(fifo)


def test_devices_are_refused_without_reading(tmp_path: Path) -> None:
    with pytest.raises(AttachmentRefused, match=r"zero is a device"):
        prepare(Path("/dev/zero"))
    link = tmp_path / "zeros.txt"
    link.symlink_to("/dev/zero")
    with pytest.raises(AttachmentRefused, match=r"zeros.txt is a device"):
        prepare(link)


def test_a_symlink_loop(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(AttachmentRefused, match=r"a: a symbolic link that loops back on itself"):
        prepare(tmp_path / "a")


def test_a_2_gb_file_is_refused_from_its_size(tmp_path: Path) -> None:
    huge = tmp_path / "huge.bin"
    with open(huge, "wb") as handle:
        handle.truncate(2 * 1000**3)  # sparse: no disk used, and never read
    with pytest.raises(AttachmentRefused, match=r"huge.bin is 2.0 GB: attachments are limited"):
        prepare(huge)


def test_a_fake_png(tmp_path: Path) -> None:
    with pytest.raises(AttachmentRefused, match=r"fake.png is named as a PNG image but is not one"):
        prepare(write(tmp_path, "fake.png", "just some text"))
    damaged = picture(40, 40)[:60]
    with pytest.raises(
        AttachmentRefused, match=r"cut.png looks like a PNG image but is damaged \("
    ):
        prepare(write(tmp_path, "cut.png", damaged))


def test_a_zero_byte_file(tmp_path: Path) -> None:
    with pytest.raises(AttachmentRefused, match=r"empty.txt is empty \(0 bytes\)"):
        prepare(write(tmp_path, "empty.txt", b""))


def test_an_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "secret.txt", "hidden")
    path.chmod(0)
    if os.geteuid() == 0:  # root reads any file: make the open fail as it would for a user

        def denied(*args: object, **kwargs: object) -> int:
            raise PermissionError(errno.EACCES, "Permission denied")

        monkeypatch.setattr(os, "open", denied)
    with pytest.raises(AttachmentRefused, match=r"secret.txt: permission denied"):
        prepare(path)


# --------------------------------------------------------------------------- paths


def test_paths_as_terminals_send_dropped_files(tmp_path: Path) -> None:
    assert unquote_path("'/tmp/My File.png'") == "/tmp/My File.png"
    assert unquote_path('"/tmp/My File.png"') == "/tmp/My File.png"
    assert unquote_path("/tmp/My\\ File\\ \\(1\\).png") == "/tmp/My File (1).png"
    assert unquote_path("file:///tmp/My%20File.png") == "/tmp/My File.png"
    assert resolve("~/x.txt", tmp_path) == Path.home() / "x.txt"
    assert resolve("sub/x.txt", tmp_path) == tmp_path / "sub" / "x.txt"
    spaced = write(tmp_path, "My File.png", picture(4, 4))
    escaped = str(spaced).replace(" ", "\\ ")
    assert dropped_path(escaped, tmp_path) == spaced
    assert dropped_path(f"'{spaced}'", tmp_path) == spaced
    assert dropped_path("hello there", tmp_path) is None
    assert dropped_path(f"{spaced}\nand more", tmp_path) is None
    assert dropped_path(str(tmp_path), tmp_path) is None  # a folder is not offered


def test_completion_lists_folders_and_files(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    write(tmp_path, "docs/a.md", "a")
    write(tmp_path, "data.csv", "1")
    write(tmp_path, ".hidden", "h")
    assert complete("d", tmp_path) == ["data.csv", "docs/"]
    assert complete("docs/", tmp_path) == ["docs/a.md"]
    assert complete(".h", tmp_path) == [".hidden"]
    assert complete(f"{tmp_path}/da", tmp_path) == [f"{tmp_path}/data.csv"]
    assert complete("nowhere/x", tmp_path) == []


def test_names_are_cleaned_where_they_enter(tmp_path: Path) -> None:
    hostile = "a\x1b]0;pwned\x07\u202eb.txt"
    prepared = prepare(write(tmp_path, hostile, "text"))
    assert prepared.attachment.name == "a]0;pwnedb.txt"
    with pytest.raises(AttachmentRefused) as refused:
        prepare(tmp_path / f"gone{hostile}")
    assert "\x1b" not in str(refused.value) and "\u202e" not in str(refused.value)
