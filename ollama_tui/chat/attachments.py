"""Files attached to a user's message: images for vision models, text files as context.

An attachment is stored once under the data dir, named by the SHA-256 of its bytes
(`attachments/<sha256>.<ext>`, see attachment_store.py); a message holds only its description.
Text attachments reach the model as fenced blocks after the typed text; images ride as base64
in the message's `images`, on every request of the conversation, as the history keeps them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ollama_tui.sanitize import one_line

_SHA256 = re.compile(r"[0-9a-f]{64}")
_EXTENSION = re.compile(r"[a-z0-9]{1,12}")

IMAGE_FORMATS: dict[str, str] = {"png": "PNG", "jpg": "JPEG"}
"""Stored image extensions and their names: WebP and GIF are stored as PNG (their first frame),
as some of Ollama's vision runners decode PNG and JPEG only."""


class AttachmentKind(StrEnum):
    IMAGE = "image"
    TEXT = "text"


class AttachmentMissing(Exception):
    """An attachment whose stored file is gone; the message names it in one line."""

    def __init__(self, attachment: Attachment) -> None:
        super().__init__(
            f"the attached {attachment.kind.value} “{attachment.name}” is missing from the "
            "data folder; attach the same file again to bring it back, or delete its message"
        )
        self.attachment = attachment


@dataclass
class Attachment:
    """What a message says of one attached file; the bytes live in the attachment store."""

    kind: AttachmentKind
    name: str
    """The file's own name as the user attached it (no folders), for display and the fence."""
    sha256: str
    ext: str
    size: int
    """Bytes stored (after downscaling, for an image)."""
    width: int = 0
    height: int = 0
    language: str = ""
    """A text attachment's fence info string ("python", "json"…); "" when unknown."""
    text: str | None = field(default=None, compare=False, repr=False)
    """A text attachment's contents once read from the store; never saved with the message."""

    @property
    def file_name(self) -> str:
        return f"{self.sha256}.{self.ext}"

    @property
    def is_image(self) -> bool:
        return self.kind is AttachmentKind.IMAGE

    def describe(self) -> str:
        """A short label: name and size, and the pixel size of an image."""
        label = f"{self.name} · {human_size(self.size)}"
        if self.is_image and self.width and self.height:
            label += f" · {self.width}×{self.height}"
        return label

    def key(self) -> tuple[object, ...]:
        """Every saved field, for the message's JSON cache."""
        return (
            self.kind,
            self.name,
            self.sha256,
            self.ext,
            self.size,
            self.width,
            self.height,
            self.language,
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind.value,
            "name": self.name,
            "sha256": self.sha256,
            "ext": self.ext,
            "size": self.size,
        }
        if self.width or self.height:
            data["width"], data["height"] = self.width, self.height
        if self.language:
            data["language"] = self.language
        return data

    @classmethod
    def from_dict(cls, data: Any) -> Attachment | None:
        """A saved attachment, or None when the entry is damaged (it could name no file)."""
        if not isinstance(data, dict):
            return None
        try:
            kind = AttachmentKind(data.get("kind"))
        except ValueError:
            return None
        sha256, ext = data.get("sha256"), data.get("ext")
        if not (isinstance(sha256, str) and _SHA256.fullmatch(sha256)):
            return None
        if not (isinstance(ext, str) and _EXTENSION.fullmatch(ext)):
            return None
        if kind is AttachmentKind.IMAGE and ext not in IMAGE_FORMATS:
            return None
        return cls(
            kind=kind,
            name=one_line(str(data.get("name") or file_name_default(kind, ext)), 200),
            sha256=sha256,
            ext=ext,
            size=_count(data.get("size")),
            width=_count(data.get("width")),
            height=_count(data.get("height")),
            language=one_line(str(data.get("language") or ""), 40),
        )


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def file_name_default(kind: AttachmentKind, ext: str) -> str:
    return f"{kind.value}.{ext}"


def attachments_from(value: Any) -> list[Attachment]:
    """A message's saved attachments; damaged entries are left out."""
    if not isinstance(value, list):
        return []
    return [attachment for item in value if (attachment := Attachment.from_dict(item))]


def human_size(size: int) -> str:
    """Bytes in the unit a person reads: 812 B, 14.2 KB, 3.1 MB, 2.0 GB (powers of 1,000)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def fenced_block(attachment: Attachment) -> str:
    """A text attachment as the model reads it: its name, then its text in a fence that no
    line of the text can close; a placeholder when its file is missing."""
    if attachment.text is None:
        return f"[attached file {attachment.name}: missing from the data folder]"
    fence = "```"
    while fence in attachment.text:
        fence += "`"
    body = attachment.text if attachment.text.endswith("\n") else attachment.text + "\n"
    return f"{attachment.name}:\n{fence}{attachment.language}\n{body}{fence}"


def content_with_files(content: str, attachments: Iterable[Attachment]) -> str:
    """A user message's text as sent: what was typed, then each text attachment's block."""
    blocks = [fenced_block(a) for a in attachments if a.kind is AttachmentKind.TEXT]
    if not blocks:
        return content
    return "\n\n".join([content, *blocks]) if content else "\n\n".join(blocks)


# Tokens an image takes in the prompt, by model family (the name before the tag). Models with a
# fixed-size vision encoder use the same count for any image; Qwen's vision models tile the image
# in 28-pixel patches. Calibration from prompt_eval_count corrects these as it does for text.
_FIXED_IMAGE_TOKENS: tuple[tuple[str, int], ...] = (
    ("llama3.2-vision", 1601),
    ("bakllava", 576),
    ("llava", 576),
    ("moondream", 729),
    ("gemma3", 256),
    ("minicpm-v", 640),
    ("granite3.2-vision", 729),
)
DEFAULT_IMAGE_TOKENS = 768
_PATCH_TILED = ("qwen2.5vl", "qwen2-vl", "qwen3-vl")
_PATCH = 28


def image_tokens(model: str, attachment: Attachment) -> int:
    """Estimated prompt tokens of one image for `model` (uncalibrated)."""
    family = model.rsplit("/", 1)[-1].split(":", 1)[0].lower()
    if family.startswith(_PATCH_TILED) and attachment.width and attachment.height:
        return math.ceil(attachment.width / _PATCH) * math.ceil(attachment.height / _PATCH)
    for prefix, tokens in _FIXED_IMAGE_TOKENS:
        if family.startswith(prefix):
            return tokens
    return DEFAULT_IMAGE_TOKENS


def images_of(attachments: Iterable[Attachment]) -> list[Attachment]:
    return [attachment for attachment in attachments if attachment.is_image]


def with_images(
    messages: Sequence[dict[str, Any]],
    images: dict[int, list[Attachment]],
    encode: Callable[[Attachment], str],
) -> list[dict[str, Any]]:
    """The request's messages with each one's images as base64 (`images[i]` for message i).

    `encode` reads an image from the store as base64 and raises AttachmentMissing when its
    file is gone, so a request is never sent without an image the history says it holds.
    """
    if not images:
        return list(messages)
    return [
        {**message, "images": [encode(image) for image in images[index]]}
        if index in images
        else message
        for index, message in enumerate(messages)
    ]
