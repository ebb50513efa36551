"""Reading a file the user attaches: safety first, then what it is, then what is stored.

A path is checked before anything is read: it must name a regular file (not a folder, a FIFO,
a device or a socket) no larger than the limit for its kind, so a 2 GB file or /dev/zero is
refused from its `stat` alone. Its kind comes from its content, not its name: the first bytes
say whether it is an image (PNG, JPEG, WebP, GIF) or another known binary format; anything else
must decode as UTF-8 text without control bytes. Images are checked and downscaled with Pillow
(the optional `images` extra), honouring their EXIF orientation. Every refusal is one line.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import math
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ollama_tui.chat.attachments import Attachment, AttachmentKind, human_size
from ollama_tui.sanitize import one_line

DEFAULT_MAX_IMAGE_SIDE = 1568
DEFAULT_MAX_TEXT_BYTES = 1_000_000
DEFAULT_MAX_IMAGE_BYTES = 50_000_000
MAX_PIXELS = 80_000_000
_SNIFF_BYTES = 64
_READ_CHUNK = 1 << 20

IMAGE_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "PNG"),
    (b"\xff\xd8\xff", 0, "JPEG"),
    (b"GIF87a", 0, "GIF"),
    (b"GIF89a", 0, "GIF"),
    (b"WEBP", 8, "WEBP"),  # after "RIFF" and a length
)
_OTHER_BINARIES: tuple[tuple[bytes, int, str], ...] = (
    (b"%PDF-", 0, "a PDF document"),
    (b"PK\x03\x04", 0, "a ZIP archive (or a .docx, .xlsx, .jar…)"),
    (b"\x1f\x8b", 0, "a gzip archive"),
    (b"\x7fELF", 0, "a program (ELF)"),
    (b"MZ", 0, "a Windows program"),
    (b"BM", 0, "a BMP image"),
    (b"II*\x00", 0, "a TIFF image"),
    (b"MM\x00*", 0, "a TIFF image"),
    (b"ftypheic", 4, "a HEIC image"),
    (b"ftypavif", 4, "an AVIF image"),
    (b"SQLite format 3\x00", 0, "an SQLite database"),
)
_IMAGE_SUFFIXES = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WebP",
    ".gif": "GIF",
}
_LANGUAGES = {
    ".py": "python", ".pyi": "python", ".md": "markdown", ".markdown": "markdown",
    ".json": "json", ".csv": "csv", ".tsv": "tsv", ".toml": "toml", ".yaml": "yaml",
    ".yml": "yaml", ".js": "javascript", ".mjs": "javascript", ".ts": "typescript",
    ".tsx": "tsx", ".jsx": "jsx", ".rs": "rust", ".go": "go", ".c": "c", ".h": "c",
    ".cpp": "cpp", ".cc": "cpp", ".hpp": "cpp", ".java": "java", ".kt": "kotlin",
    ".rb": "ruby", ".php": "php", ".sh": "bash", ".bash": "bash", ".zsh": "zsh",
    ".sql": "sql", ".html": "html", ".htm": "html", ".css": "css", ".xml": "xml",
    ".svg": "xml", ".swift": "swift", ".lua": "lua", ".r": "r", ".ini": "ini",
    ".cfg": "ini", ".tex": "latex", ".diff": "diff", ".patch": "diff",
}  # fmt: skip
_SHEBANGS = {"python": "python", "bash": "bash", "sh": "bash", "node": "javascript"}


class AttachmentRefused(Exception):
    """A file that cannot be attached; the message is one line naming it and why."""


@dataclass(frozen=True, slots=True)
class AttachLimits:
    """How large an attachment may be; the config file's [attachments] table sets them."""

    max_image_side: int = DEFAULT_MAX_IMAGE_SIDE
    max_text_bytes: int = DEFAULT_MAX_TEXT_BYTES
    max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES


@dataclass(frozen=True, slots=True)
class Prepared:
    """A file ready to store: the bytes to keep (a downscaled image) and their description."""

    attachment: Attachment
    data: bytes


def resolve(typed: str, cwd: Path) -> Path:
    """The path a user typed or pasted: quotes and backslash escapes removed, `~` expanded,
    relative to `cwd`."""
    return cwd / Path(unquote_path(typed)).expanduser()


def unquote_path(text: str) -> str:
    """A path as a terminal sends a dropped file: in quotes, or with backslash-escaped spaces,
    or as a file:// URI; plain text is returned stripped."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    if text.startswith("file://"):
        from urllib.parse import unquote, urlparse

        return unquote(urlparse(text).path)
    out, escaped = [], False
    for char in text:
        if escaped or char != "\\":
            out.append(char)
            escaped = False
        else:
            escaped = True
    return "".join(out)


def dropped_path(text: str, cwd: Path) -> Path | None:
    """The file a paste names when the paste is one path and nothing else (what a terminal
    sends when a file is dropped on it); None for ordinary text."""
    stripped = text.strip()
    if not stripped or "\n" in stripped or len(stripped) > 4096:
        return None
    candidate = unquote_path(stripped)
    looks_like_path = candidate.startswith(("/", "~", "./", "../")) or stripped.startswith(
        ("'", '"', "file://")
    )
    if not looks_like_path:
        return None
    path = resolve(stripped, cwd)
    try:
        return path if stat.S_ISREG(os.stat(path).st_mode) else None
    except (OSError, ValueError):
        return None


def complete(typed: str, cwd: Path, limit: int = 50) -> list[str]:
    """Completions of a partly typed path: the entries of its folder whose names start with
    its last part, folders ending in "/", as text to replace what was typed."""
    head, _, prefix = typed.rpartition("/")
    base = head + "/" if typed.count("/") else ""
    folder = resolve(head or ("/" if typed.startswith("/") else "."), cwd)
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name.lower())
    except OSError:
        return []
    show_hidden = prefix.startswith(".")
    found: list[str] = []
    for entry in entries:
        if not entry.name.startswith(prefix) or (entry.name.startswith(".") and not show_hidden):
            continue
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        found.append(base + entry.name + ("/" if is_dir else ""))
        if len(found) >= limit:
            break
    return found


def prepare(path: Path, limits: AttachLimits = AttachLimits()) -> Prepared:
    """Read `path` as an attachment; AttachmentRefused says in one line why it cannot be."""
    name = one_line(path.name or str(path), 200)  # shown in chips, notices and fences
    head, data = _read_capped(path, name, limits)
    image_format = _image_format(head)
    claimed = _IMAGE_SUFFIXES.get(path.suffix.lower())
    if image_format is not None:
        return _prepare_image(name, data, image_format, limits)
    if claimed is not None:
        raise AttachmentRefused(f"{name} is named as a {claimed} image but is not one")
    binary = _other_binary(head)
    if binary is not None:
        raise AttachmentRefused(
            f"{name} is {binary}: only images (PNG, JPEG, WebP, GIF) and text files can be attached"
        )
    text = _as_text(data)
    if text is None:
        raise AttachmentRefused(
            f"{name} is a binary file: only images (PNG, JPEG, WebP, GIF) and text files "
            "(UTF-8) can be attached"
        )
    ext = path.suffix.lower().lstrip(".")
    attachment = Attachment(
        kind=AttachmentKind.TEXT,
        name=name,
        sha256=hashlib.sha256(data).hexdigest(),
        ext=ext if ext.isascii() and ext.isalnum() and len(ext) <= 12 else "txt",
        size=len(data),
        language=_language(path, text),
        text=text,
    )
    return Prepared(attachment, data)


def _read_capped(path: Path, name: str, limits: AttachLimits) -> tuple[bytes, bytes]:
    """The first bytes and the whole of a regular file, refusing before reading anything that
    is not one or is too large for its kind."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise AttachmentRefused(f"{name}: no such file ({one_line(str(path), 300)})") from None
    except OSError as error:
        raise AttachmentRefused(f"{name}: {_os_reason(error)}") from None
    _check_regular(name, info)
    cap = max(limits.max_image_bytes, limits.max_text_bytes)
    _check_size(name, info.st_size, cap)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise AttachmentRefused(f"{name}: {_os_reason(error)}") from None
    with os.fdopen(fd, "rb") as handle:
        _check_regular(name, os.fstat(fd))  # the path may have been swapped since the stat
        head = handle.read(_SNIFF_BYTES)
        cap = limits.max_image_bytes if _image_format(head) else limits.max_text_bytes
        _check_size(name, os.fstat(fd).st_size, cap, text=cap == limits.max_text_bytes)
        chunks, total = [head], len(head)
        while chunk := handle.read(_READ_CHUNK):
            chunks.append(chunk)
            total += len(chunk)
            if total > cap:  # the file grew while being read
                _check_size(name, total, cap)
    if total == 0:
        raise AttachmentRefused(f"{name} is empty (0 bytes)")
    return head, b"".join(chunks)


def _check_regular(name: str, info: os.stat_result) -> None:
    mode = info.st_mode
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise AttachmentRefused(f"{name} is a folder: attach the files in it one by one")
    what = (
        "a named pipe (FIFO)"
        if stat.S_ISFIFO(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "not a regular file"
    )
    raise AttachmentRefused(f"{name} is {what}: only regular files can be attached")


def _check_size(name: str, size: int, cap: int, *, text: bool = False) -> None:
    if size == 0:
        raise AttachmentRefused(f"{name} is empty (0 bytes)")
    if size > cap:
        kind = "text files" if text else "attachments"
        raise AttachmentRefused(
            f"{name} is {human_size(size)}: {kind} are limited to {human_size(cap)}"
        )


def _os_reason(error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "a symbolic link that loops back on itself"
    if error.errno in (errno.EACCES, errno.EPERM):
        return "permission denied (the file cannot be read)"
    if error.errno == errno.ENOTDIR:
        return "a part of the path is not a folder"
    if error.errno == errno.ENAMETOOLONG:
        return "the path is too long"
    return (error.strerror or str(error)).lower()


def _image_format(head: bytes) -> str | None:
    for signature, offset, image_format in IMAGE_SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            if image_format == "WEBP" and not head.startswith(b"RIFF"):
                continue
            return image_format
    return None


def _other_binary(head: bytes) -> str | None:
    for signature, offset, description in _OTHER_BINARIES:
        if head[offset : offset + len(signature)] == signature:
            return description
    return None


def _as_text(data: bytes) -> str | None:
    """The text of a UTF-8 file (a byte-order mark is dropped); None when it is not text:
    NUL bytes, invalid UTF-8, or more than 1 in 100 characters a control character."""
    if b"\x00" in data:
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    controls = sum(1 for char in text if (ord(char) < 32 and char not in "\t\n\r\f\x1b"))
    return text if controls * 100 <= len(text) else None


def _language(path: Path, text: str) -> str:
    """The fence info string: from the extension, else from a shebang or JSON content."""
    language = _LANGUAGES.get(path.suffix.lower())
    if language:
        return language
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    if first.startswith("#!"):
        interpreter = first.rsplit("/", 1)[-1].split()
        if interpreter and interpreter[0] == "env" and len(interpreter) > 1:
            interpreter = interpreter[1:]
        program = interpreter[0].rstrip("0123456789.") if interpreter else ""
        return _SHEBANGS.get(program, "")
    if text.lstrip()[:1] in ("{", "["):
        try:
            json.loads(text)
        except ValueError:
            return ""
        return "json"
    return ""


def _prepare_image(name: str, data: bytes, image_format: str, limits: AttachLimits) -> Prepared:
    """Check that an image decodes, and downscale it to the longest side allowed.

    The file is kept byte for byte when it is a PNG or JPEG that needs no change; otherwise it
    is re-encoded (JPEG stays JPEG; PNG, WebP and GIF's first frame become PNG), which also
    drops its metadata.
    """
    try:
        from PIL import Image, ImageOps, UnidentifiedImageError
    except ImportError:
        raise AttachmentRefused(
            f"{name}: images need Pillow; install ollama-tui[images] to attach them"
        ) from None
    label = {"WEBP": "WebP"}.get(image_format, image_format)
    side = limits.max_image_side
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != image_format:
                raise AttachmentRefused(f"{name} looks like a {label} image but is not one")
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise AttachmentRefused(
                    f"{name} is {width}×{height} pixels: images are limited to "
                    f"{MAX_PIXELS // 1_000_000} megapixels"
                )
            orientation = image.getexif().get(0x0112, 1)
            needs_change = (
                image_format in ("WEBP", "GIF")
                or orientation not in (0, 1)
                or max(width, height) > side
            )
            if image_format == "JPEG" and max(width, height) > side:
                # Decode at the smallest scale (1/2, 1/4, 1/8) still at least the final size:
                # a 12-megapixel photo decodes about 4 times faster, in a quarter of the memory.
                scale = side / max(width, height)
                image.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))
            image.load()
            if not needs_change:
                return _image_prepared(
                    name, data, "png" if label == "PNG" else "jpg", width, height
                )
            upright = ImageOps.exif_transpose(image) if orientation not in (0, 1) else image
            upright.thumbnail((side, side), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            if image_format == "JPEG":
                upright.convert("RGB").save(out, "JPEG", quality=90)
                ext = "jpg"
            else:
                mode = "RGBA" if upright.mode in ("RGBA", "LA", "P", "PA") else "RGB"
                upright.convert(mode).save(out, "PNG")
                ext = "png"
            return _image_prepared(name, out.getvalue(), ext, *upright.size)
    except AttachmentRefused:
        raise
    except Image.DecompressionBombError:
        raise AttachmentRefused(f"{name} has too many pixels to be decoded safely") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise AttachmentRefused(
            f"{name} looks like a {label} image but is damaged ({reason})"
        ) from None


def _image_prepared(name: str, data: bytes, ext: str, width: int, height: int) -> Prepared:
    attachment = Attachment(
        kind=AttachmentKind.IMAGE,
        name=name,
        sha256=hashlib.sha256(data).hexdigest(),
        ext=ext,
        size=len(data),
        width=width,
        height=height,
    )
    return Prepared(attachment, data)
