"""Conversations on disk: one JSON file each, plus a small index so the list opens fast.

Layout under the data dir::

    conversations/<id>.json   one conversation (see Conversation.to_dict)
    index.json                summaries keyed by id, each with the size and mtime of its file
    damaged/                  files that could not be read, moved aside (never deleted)

The index is only a cache: an entry is trusted while its file's size and mtime match, and
rebuilt from the file otherwise, so a crash between a save and an index write costs nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from ollama_tui.atomic import write_atomic
from ollama_tui.chat.conversation import Conversation, FormatError, is_valid_id

INDEX_VERSION = 1


class StoreError(Exception):
    """A conversation could not be read or written; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    """What the sidebar needs to list a conversation without reading its file."""

    id: str
    title: str
    updated_at: str
    model: str
    message_count: int

    @classmethod
    def of(cls, conversation: Conversation) -> ConversationSummary:
        return cls(
            id=conversation.id,
            title=conversation.title,
            updated_at=conversation.updated_at,
            model=conversation.model,
            message_count=len(conversation.messages),
        )


@dataclass(frozen=True, slots=True)
class _Stamp:
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, stat: os.stat_result) -> _Stamp:
        return cls(stat.st_size, stat.st_mtime_ns)


class ConversationStore:
    """Reads and writes conversations under one data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.folder = data_dir / "conversations"
        self.damaged_folder = data_dir / "damaged"
        self._index_path = data_dir / "index.json"
        self._summaries: dict[str, tuple[ConversationSummary, _Stamp]] = {}
        self._index_dirty = False
        self.set_aside: list[Path] = []
        """Files moved to the damaged folder since the store was opened, for the app to report."""

    def _ensure_folders(self) -> None:
        for folder in (self.data_dir, self.folder):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)

    def path_of(self, conversation_id: str) -> Path:
        """The file of a conversation; refuses ids that could name a file outside the folder."""
        if not is_valid_id(conversation_id):
            raise StoreError(f"invalid conversation id {conversation_id!r}")
        return self.folder / f"{conversation_id}.json"

    def list(self) -> list[ConversationSummary]:
        """Every readable conversation, most recently updated first."""
        cached = self._read_index()
        summaries: dict[str, tuple[ConversationSummary, _Stamp]] = {}
        try:
            entries = list(os.scandir(self.folder))
        except FileNotFoundError:
            entries = []
        for entry in entries:
            conversation_id, suffix = os.path.splitext(entry.name)
            if suffix != ".json" or not is_valid_id(conversation_id) or not entry.is_file():
                continue
            stamp = _Stamp.of(entry.stat())
            known = cached.get(conversation_id)
            if known is not None and known[1] == stamp:
                summaries[conversation_id] = known
                continue
            try:
                conversation = self._read(Path(entry.path))
            except StoreError:
                continue
            summaries[conversation_id] = (ConversationSummary.of(conversation), stamp)
            self._index_dirty = True
        if summaries.keys() != cached.keys():
            self._index_dirty = True
        self._summaries = summaries
        self.flush_index()
        return sorted(
            (summary for summary, _ in summaries.values()),
            key=lambda summary: summary.updated_at,
            reverse=True,
        )

    def load(self, conversation_id: str) -> Conversation:
        """Read one conversation; a damaged file is moved aside and reported as StoreError."""
        return self._read(self.path_of(conversation_id))

    def save(self, conversation: Conversation) -> None:
        """Write a conversation atomically; raise StoreError with a one-line reason on failure."""
        path = self.path_of(conversation.id)
        data = json.dumps(conversation.to_dict(), ensure_ascii=False, indent=1).encode()
        try:
            self._ensure_folders()
            write_atomic(path, data)
            stamp = _Stamp.of(path.stat())
        except OSError as error:
            reason = error.strerror or str(error)
            raise StoreError(
                f"could not save '{conversation.title}' to {path}: {reason}"
            ) from error
        self._summaries[conversation.id] = (ConversationSummary.of(conversation), stamp)
        self._index_dirty = True

    def flush_index(self) -> None:
        """Write the index if it changed; losing it only slows the next start a little."""
        if not self._index_dirty:
            return
        document = {
            "version": INDEX_VERSION,
            "conversations": {
                conversation_id: {**asdict(summary), "size": stamp.size, "mtime_ns": stamp.mtime_ns}
                for conversation_id, (summary, stamp) in self._summaries.items()
            },
        }
        try:
            self._ensure_folders()
            write_atomic(self._index_path, json.dumps(document, ensure_ascii=False).encode())
        except OSError:
            return
        self._index_dirty = False

    def _read_index(self) -> dict[str, tuple[ConversationSummary, _Stamp]]:
        try:
            document = json.loads(self._index_path.read_bytes())
            if document.get("version") != INDEX_VERSION:
                return {}
            return {
                conversation_id: (
                    ConversationSummary(
                        id=conversation_id,
                        title=str(item["title"]),
                        updated_at=str(item["updated_at"]),
                        model=str(item["model"]),
                        message_count=int(item["message_count"]),
                    ),
                    _Stamp(int(item["size"]), int(item["mtime_ns"])),
                )
                for conversation_id, item in document["conversations"].items()
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}

    def _read(self, path: Path) -> Conversation:
        try:
            raw = path.read_bytes()
        except FileNotFoundError as error:
            raise StoreError(f"conversation file {path.name} no longer exists") from error
        except OSError as error:
            raise StoreError(f"could not read {path}: {error.strerror or error}") from error
        try:
            conversation = Conversation.from_dict(json.loads(raw))
            if f"{conversation.id}.json" != path.name:
                raise FormatError(f"id {conversation.id!r} does not match the file name")
            return conversation
        except (ValueError, FormatError) as error:
            moved = self._set_aside(path)
            raise StoreError(f"{path.name} is damaged ({error}); moved to {moved}") from error

    def _set_aside(self, path: Path) -> Path:
        """Move an unreadable file to the damaged folder under a name that never overwrites."""
        self.damaged_folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        target = self.damaged_folder / f"{path.stem}.{stamp}{path.suffix}"
        try:
            os.replace(path, target)
        except OSError:
            return path
        self.set_aside.append(target)
        self._summaries.pop(path.stem, None)
        self._index_dirty = True
        return target
