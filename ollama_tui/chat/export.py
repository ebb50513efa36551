"""Conversations to and from files: Markdown to read, JSON to move between machines.

A JSON export is the conversation's own document (the same as its file in the data dir) with
its attached files embedded as base64, so importing it loses nothing, and older schema versions
import through the usual migrations. A Markdown export copies the attached files into a folder
beside the .md file and links them.
Exports are files, not the terminal, so text goes in verbatim, except terminal control
characters, which are removed (Markdown) or escaped (JSON) so that `cat` on an export is safe.
"""

from __future__ import annotations

import json
import os
import re
import stat
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from ollama_tui.atomic import write_atomic
from ollama_tui.chat.attachment_store import (
    AttachmentStore,
    AttachmentStoreError,
    every_attachment,
)
from ollama_tui.chat.attachments import Attachment, AttachmentMissing
from ollama_tui.chat.conversation import (
    Conversation,
    FormatError,
    Message,
    MessageState,
    Role,
    new_id,
)
from ollama_tui.chat.store import ConversationStore, StoreError
from ollama_tui.chat.tools import DECISION_LABELS, arguments_json
from ollama_tui.chat.validation import (
    MAX_IMPORT_BYTES,
    conversation_from_document,
    parse_json,
)
from ollama_tui.sanitize import one_line, sanitize

ExportFormat = Literal["md", "json"]
EMBEDDED_FILES = "attachment_files"
"""The key of a JSON export that holds the attached files, base64 by stored file name."""
FORMATS: tuple[ExportFormat, ...] = ("md", "json")

_STATE_NOTES = {
    MessageState.UNSENT: "not sent",
    MessageState.STREAMING: "incomplete",
    MessageState.CANCELLED: "stopped",
    MessageState.FAILED: "failed",
    MessageState.INTERRUPTED: "interrupted",
}

# Characters json.dumps leaves as they are (it escapes C0 controls itself) that a terminal
# would act on: DEL, C1 controls, bidi overrides. JSON text holds them only inside strings,
# where a \\u escape means the same, so the document still round-trips exactly.
_UNSAFE_IN_JSON = re.compile(r"[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class TransferError(Exception):
    """An export or import that failed, described in one line naming the file."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


def to_markdown(conversation: Conversation, files_folder: str | None = None) -> str:
    """A readable document: title, settings, system prompt, then each message under a heading.

    With `files_folder` (a folder name beside the document) attachments are linked there, as
    `markdown_file_name` names them; without, they are only named.
    """
    options = conversation.options.to_request()
    details = [
        f"Model {conversation.model or 'not set'}",
        f"created {local_minute(conversation.created_at)}",
        f"updated {local_minute(conversation.updated_at)}",
        f"memory {conversation.memory.value}",
        *(f"{name} {value}" for name, value in options.items()),
    ]
    parts = [f"# {one_line(conversation.title, 500)}", one_line(" · ".join(details), 2000)]
    if conversation.system_prompt.strip():
        quoted = "\n".join(
            f"> {line}".rstrip() for line in conversation.system_prompt.strip().splitlines()
        )
        parts += ["System prompt:", quoted]
    parts += [
        _message_markdown(message, conversation.model, files_folder)
        for message in conversation.messages
    ]
    return sanitize("\n\n".join(parts)) + "\n"


def _message_markdown(message: Message, default_model: str, files_folder: str | None) -> str:
    if message.role is Role.USER:
        author = "You"
    elif message.role is Role.TOOL:
        author = f"Result of `{one_line(message.tool_name, 100)}`"
    else:
        author = one_line(message.model or default_model or "Assistant", 100)
    heading = f"## {author} — {local_minute(message.created_at)}"
    note = _STATE_NOTES.get(message.state)
    if note:
        heading += f" · {note}"
    if message.versions:
        heading += f" · version {message.version_position + 1} of {message.version_count}"
    parts = [heading]
    if message.error:
        parts.append(f"Error: {one_line(message.error, 500)}")
    if message.thinking.strip():
        parts.append(
            f"<details><summary>Thinking</summary>\n\n{message.thinking.strip()}\n\n</details>"
        )
    if message.role is Role.TOOL:
        parts.append(_fenced(message.content, "text"))
    elif message.content:
        parts.append(message.content.rstrip("\n"))
    parts += [_attachment_markdown(item, files_folder) for item in message.attachments]
    for call in message.tool_calls:
        label = DECISION_LABELS[call.decision]
        parts.append(f"Called `{one_line(call.name, 100)}` ({label}):")
        parts.append(_fenced(arguments_json(call), "json"))
    return "\n\n".join(parts)


def _fenced(text: str, language: str) -> str:
    """`text` in a code fence longer than any run of backticks inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text.rstrip(chr(10))}\n{fence}"


def _attachment_markdown(attachment: Attachment, files_folder: str | None) -> str:
    label = one_line(attachment.describe(), 300).replace("[", "(").replace("]", ")")
    if files_folder is None:
        return f"Attached: {label}"
    target = f"{files_folder}/{markdown_file_name(attachment)}"
    return f"{'!' if attachment.is_image else ''}[{label}](<{target}>)"


def markdown_file_name(attachment: Attachment) -> str:
    """The name of an attached file copied beside a Markdown export: the start of its hash
    (so two files of one name never collide) and its name made safe for any file system."""
    stem = re.sub(r"[^\w.-]+", "-", attachment.name).strip("-.")[:60] or "file"
    if not stem.lower().endswith(f".{attachment.ext}"):
        stem += f".{attachment.ext}"
    return f"{attachment.sha256[:12]}-{stem}"


def local_minute(moment: str) -> str:
    """A stored ISO timestamp as local date and minute ("2026-01-02 09:15"), or as stored if
    it is not one."""
    try:
        return datetime.fromisoformat(moment).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return one_line(moment, 40)


def to_json(conversation: Conversation, attachments: AttachmentStore | None = None) -> str:
    """The conversation's own document (schema_version included) with its attached files when
    `attachments` is given; `import_json` reads it back."""
    document = conversation.to_dict()
    if attachments is not None and (files := attachments.embedded(conversation)):
        document[EMBEDDED_FILES] = files
    return dump_json(document)


def dump_json(value: Any) -> str:
    """Indented JSON with every character a terminal would act on escaped."""
    text = json.dumps(value, ensure_ascii=False, indent=1)
    return _UNSAFE_IN_JSON.sub(lambda match: f"\\u{ord(match.group()):04x}", text) + "\n"


def export_text(
    conversation: Conversation, kind: ExportFormat, attachments: AttachmentStore | None = None
) -> str:
    """The conversation as Markdown ("md", attachments named) or JSON ("json", with the
    attached files when `attachments` is given)."""
    return to_markdown(conversation) if kind == "md" else to_json(conversation, attachments)


def write_export(
    conversation: Conversation,
    path: Path,
    kind: ExportFormat,
    attachments: AttachmentStore | None = None,
) -> None:
    """Write an export where the user pointed; raise TransferError when it cannot be.

    A regular file (new or existing) is written atomically and private (0600). A symbolic
    link is followed: its target is written, as an editor would, and the link stays. A FIFO
    or a device (`/dev/stdout`, a pipe someone reads) is written through, never replaced.
    A Markdown export of a conversation with attachments copies them (when `attachments` is
    given) into the folder `<name>.files` beside it; a missing one stays a link to nothing.
    """
    files = list({a.file_name: a for a in every_attachment(conversation)}.values())
    if kind == "md" and files and attachments is not None:
        folder = path.with_name(f"{path.stem}.files")
        text = to_markdown(conversation, folder.name)
        _copy_attachments(files, folder, attachments)
    else:
        text = export_text(conversation, kind, attachments)
    data = text.encode("utf-8")
    try:
        target = path.resolve() if path.is_symlink() else path
        if target.exists() and not stat.S_ISREG(target.stat().st_mode):
            _write_through(target, data)
        else:
            write_atomic(target, data, mode=0o600)
    except OSError as error:
        raise TransferError(f"could not write {path}: {error.strerror or error}") from error


def _copy_attachments(files: list[Attachment], folder: Path, store: AttachmentStore) -> None:
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        for attachment in files:
            try:
                data = store.read(attachment)
            except AttachmentMissing:
                continue
            write_atomic(folder / markdown_file_name(attachment), data, mode=0o600)
    except OSError as error:
        raise TransferError(f"could not write {folder}: {error.strerror or error}") from error


def _write_through(path: Path, data: bytes) -> None:
    """Write to something that is not a regular file (a FIFO, a device) as it is."""
    fd = os.open(path, os.O_WRONLY)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def suggested_file_name(conversation: Conversation, kind: ExportFormat) -> str:
    """A file name for an export: the title made safe for any file system, and part of the id."""
    slug = re.sub(r"[^\w]+", "-", conversation.title.lower()).strip("-_")[:40].rstrip("-_")
    return f"{slug or 'conversation'}-{conversation.id[:8]}.{kind}"


def import_json(text: str, store: ConversationStore, *, source: str = "JSON") -> Conversation:
    """Save a JSON export as a new conversation in `store`, and return it.

    The document may be of an older schema version. An existing conversation is never
    overwritten: if the id is taken (also by one in the trash), the import gets a new id.
    It is read through the same checks as the files of the data folder (every field's type
    and range, terminal control characters removed). `source` names the input in errors.
    """
    try:
        document = parse_json(text)  # everything cleaned: an import comes from outside
    except FormatError as error:
        raise TransferError(f"cannot import {source}: {error}") from error
    try:
        conversation = conversation_from_document(document)
    except FormatError as error:
        raise TransferError(
            f"cannot import {source}: not an ollama-tui conversation ({error})"
        ) from error
    while _id_taken(store, conversation.id):
        conversation.id = new_id()
    try:
        store.attachments.add_embedded(document.get(EMBEDDED_FILES), conversation)
        store.save(conversation)
    except (StoreError, AttachmentStoreError) as error:
        raise TransferError(f"cannot import {source}: {error}") from error
    return conversation


def import_file(path: Path, store: ConversationStore) -> Conversation:
    """`import_json` on the contents of a file, read up to MAX_IMPORT_BYTES; TransferError
    names the file."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_IMPORT_BYTES + 1)
        if len(raw) > MAX_IMPORT_BYTES:
            limit = MAX_IMPORT_BYTES // (1024 * 1024)
            raise TransferError(
                f"cannot import {path}: larger than {limit} MB, which no conversation export is"
            )
        text = raw.decode("utf-8-sig")
    except OSError as error:
        raise TransferError(f"cannot import {path}: {error.strerror or error}") from error
    except UnicodeDecodeError as error:
        raise TransferError(f"cannot import {path}: not UTF-8 text") from error
    return import_json(text, store, source=str(path))


def _id_taken(store: ConversationStore, conversation_id: str) -> bool:
    path = store.path_of(conversation_id)
    return path.exists() or (store.trash_folder / path.name).exists()
