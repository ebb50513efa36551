"""Attached files on disk: stored once under the data dir, named by their content's hash.

Layout: `attachments/<sha256>.<ext>`. A file is written once (atomically) and never changed;
two messages attaching the same bytes share it. Nothing here deletes a file that any
conversation, in the list or in the trash, still refers to: `remove_unreferenced` runs only when
the trash is emptied.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from ollama_tui.atomic import write_atomic
from ollama_tui.chat.attachments import Attachment, AttachmentKind, AttachmentMissing
from ollama_tui.chat.conversation import Conversation
from ollama_tui.chat.intake import DEFAULT_MAX_TEXT_BYTES, Prepared

_HASH = re.compile(rb"[0-9a-f]{64}")


def every_attachment(conversation: Conversation) -> Iterator[Attachment]:
    """Every attachment a conversation refers to, set-aside versions and branches included."""
    waiting = list(conversation.messages)
    while waiting:
        message = waiting.pop(0)
        yield from message.attachments
        waiting[:0] = [*message.versions, *message.following]


class AttachmentStoreError(Exception):
    """A file that could not be stored; the message is one line for the user."""


class AttachmentStore:
    """The content-addressed folder of attached files under one data dir."""

    def __init__(self, data_dir: Path, *, max_text_bytes: int = DEFAULT_MAX_TEXT_BYTES) -> None:
        self.folder = data_dir / "attachments"
        self.max_text_bytes = max_text_bytes

    def path_of(self, attachment: Attachment) -> Path:
        return self.folder / attachment.file_name

    def add(self, prepared: Prepared) -> Attachment:
        """Store a prepared file (unless the same bytes are stored already) and return its
        description."""
        self._write(prepared.attachment.file_name, prepared.data)
        return prepared.attachment

    def _write(self, file_name: str, data: bytes) -> None:
        path = self.folder / file_name
        if path.exists():
            return
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            write_atomic(path, data)
        except OSError as error:
            reason = error.strerror or str(error)
            raise AttachmentStoreError(
                f"could not store the attachment in {self.folder}: {reason}"
            ) from error

    def read(self, attachment: Attachment) -> bytes:
        """The stored bytes; AttachmentMissing when the file is gone or unreadable."""
        try:
            return self.path_of(attachment).read_bytes()
        except OSError:
            raise AttachmentMissing(attachment) from None

    def base64_of(self, attachment: Attachment) -> str:
        """An image as a request carries it."""
        return base64.b64encode(self.read(attachment)).decode("ascii")

    def exists(self, attachment: Attachment) -> bool:
        return self.path_of(attachment).is_file()

    def load_texts(self, conversation: Conversation) -> list[Attachment]:
        """Read the text of every text attachment of `conversation` (kept on the attachment
        for requests and the memory planner). Returns the attachments, of both kinds, whose
        files are missing."""
        missing: list[Attachment] = []
        for attachment in every_attachment(conversation):
            if attachment.kind is AttachmentKind.TEXT:
                if attachment.text is None:
                    attachment.text = self._text(attachment)
                if attachment.text is None:
                    missing.append(attachment)
            elif not self.exists(attachment):
                missing.append(attachment)
        return missing

    def _text(self, attachment: Attachment) -> str | None:
        try:
            with open(self.path_of(attachment), "rb") as handle:
                data = handle.read(self.max_text_bytes + 1)
        except OSError:
            return None
        return data[: self.max_text_bytes].decode("utf-8-sig", errors="replace")

    def embedded(self, conversation: Conversation) -> dict[str, str]:
        """Each stored file of `conversation` as base64 by file name, for a whole JSON
        export; files that are missing are left out (the export says nothing false)."""
        files: dict[str, str] = {}
        for attachment in every_attachment(conversation):
            if attachment.file_name not in files:
                with contextlib.suppress(AttachmentMissing):
                    files[attachment.file_name] = base64.b64encode(self.read(attachment)).decode()
        return files

    def add_embedded(self, files: object, conversation: Conversation) -> None:
        """Store the base64 files of an import that `conversation` refers to; a file whose
        bytes do not match its name's hash is ignored (the message shows it missing)."""
        if not isinstance(files, dict):
            return
        wanted = {attachment.file_name for attachment in every_attachment(conversation)}
        for file_name, encoded in files.items():
            if file_name not in wanted or not isinstance(encoded, str):
                continue
            try:
                data = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                continue
            if hashlib.sha256(data).hexdigest() == file_name.split(".", 1)[0]:
                self._write(file_name, data)

    def remove_unreferenced(self, documents: Iterable[bytes]) -> int:
        """Delete the stored files that none of `documents` (the raw saved conversations:
        listed, trashed and set aside as damaged) names; returns how many went.

        Any SHA-256 written in a document counts as a reference, so a damaged file that might
        still be repaired keeps its attachments too.
        """
        referenced: set[bytes] = set()
        for document in documents:
            referenced.update(_HASH.findall(document))
        removed = 0
        try:
            entries = list(os.scandir(self.folder))
        except OSError:
            return 0
        for entry in entries:
            digest = entry.name.split(".", 1)[0].encode()
            if entry.name.startswith(".") or digest in referenced or not entry.is_file():
                continue
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed += 1
        return removed
