"""Conversations on disk: one JSON file each, plus a small index so the list opens fast.

Layout under the data dir::

    conversations/<id>.json   one conversation (see Conversation.to_dict)
    index.json                summaries keyed by id, each with the size and mtime of its file
    damaged/                  files that could not be read, moved aside (never deleted)

The index is only a cache: an entry is trusted while its file's size and mtime match, and
rebuilt from the file otherwise, so a crash between a save and an index write costs nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from ollama_tui.atomic import write_atomic

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; atomic writes still hold
    fcntl = None  # type: ignore[assignment]
from ollama_tui.chat.conversation import Conversation, FormatError, is_valid_id

INDEX_VERSION = 3


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
    pinned: bool = False

    @classmethod
    def of(cls, conversation: Conversation) -> ConversationSummary:
        return cls(
            id=conversation.id,
            title=conversation.title,
            updated_at=conversation.updated_at,
            model=conversation.model,
            message_count=len(conversation.messages),
            pinned=conversation.pinned,
        )


@dataclass(frozen=True, slots=True)
class _Stamp:
    """Identifies one version of a file: every atomic write makes a new inode."""

    size: int
    mtime_ns: int
    inode: int = 0

    @classmethod
    def of(cls, stat: os.stat_result) -> _Stamp:
        return cls(stat.st_size, stat.st_mtime_ns, stat.st_ino)


class ConversationStore:
    """Reads and writes conversations under one data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.folder = data_dir / "conversations"
        self.damaged_folder = data_dir / "damaged"
        self.trash_folder = data_dir / "trash"
        self._index_path = data_dir / "index.json"
        self._lock_path = data_dir / ".lock"
        self._summaries: dict[str, tuple[ConversationSummary, _Stamp]] = {}
        self._seen: dict[str, _Stamp] = {}
        """The version of each file this store last read or wrote, to notice other writers."""
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
            if entry.name.startswith(".") and entry.name.endswith(".tmp"):
                _remove_stale_temporary(Path(entry.path))
                continue
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

    def save(self, conversation: Conversation) -> int:
        """Write a conversation atomically; raise StoreError with a one-line reason on failure.

        If another process changed the file since this store last read or wrote it, its
        messages are merged into `conversation` first, so neither side's words are lost.
        Returns how many messages the merge brought in.
        """
        path = self.path_of(conversation.id)
        try:
            self._ensure_folders()
            with _exclusive(self._lock_path):
                merged = self._merge_newer_file(path, conversation)
                # Compact: Python's C encoder only serves dumps without indent (3x faster here).
                data = json.dumps(conversation.to_dict(), ensure_ascii=False, separators=(",", ":"))
                write_atomic(path, data.encode())
                stamp = _Stamp.of(path.stat())
        except OSError as error:
            reason = error.strerror or str(error)
            raise StoreError(
                f"could not save '{conversation.title}' to {path}: {reason}"
            ) from error
        self._seen[conversation.id] = stamp
        self._summaries[conversation.id] = (ConversationSummary.of(conversation), stamp)
        self._index_dirty = True
        return merged

    def _merge_newer_file(self, path: Path, conversation: Conversation) -> int:
        try:
            current = _Stamp.of(path.stat())
        except FileNotFoundError:
            return 0
        if self._seen.get(conversation.id) == current:
            return 0
        try:
            theirs = Conversation.from_dict(json.loads(path.read_bytes()))
        except (ValueError, FormatError):
            return 0  # unreadable: our complete copy replaces it
        return conversation.merge_from(theirs)

    def delete(self, conversation_id: str) -> None:
        """Move a conversation to the trash folder, from which `restore` brings it back."""
        path = self.path_of(conversation_id)
        try:
            self.trash_folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.replace(path, self.trash_folder / path.name)
        except OSError as error:
            raise StoreError(
                f"could not move {path.name} to the trash: {error.strerror}"
            ) from error
        self._summaries.pop(conversation_id, None)
        self._seen.pop(conversation_id, None)
        self._index_dirty = True

    def trashed(self) -> list[ConversationSummary]:
        """Conversations in the trash, most recently updated first."""
        summaries = []
        for path in self.trash_folder.glob("*.json"):
            try:
                conversation = Conversation.from_dict(json.loads(path.read_bytes()))
            except (OSError, ValueError, FormatError):
                continue
            summaries.append(ConversationSummary.of(conversation))
        return sorted(summaries, key=lambda summary: summary.updated_at, reverse=True)

    def restore(self, conversation_id: str) -> Conversation:
        """Bring a conversation back from the trash, never over an existing one."""
        source = self.trash_folder / self.path_of(conversation_id).name
        target = self.path_of(conversation_id)
        if target.exists():
            raise StoreError(f"a conversation {conversation_id} already exists; not restored")
        try:
            os.replace(source, target)
        except OSError as error:
            raise StoreError(f"could not restore {source.name}: {error.strerror}") from error
        return self.load(conversation_id)

    def flush_index(self) -> None:
        """Write the index if it changed; losing it only slows the next start a little."""
        if not self._index_dirty:
            return
        document = {
            "version": INDEX_VERSION,
            "conversations": {
                conversation_id: {**asdict(summary), **asdict(stamp)}
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
                        pinned=item["pinned"] is True,
                    ),
                    _Stamp(int(item["size"]), int(item["mtime_ns"]), int(item["inode"])),
                )
                for conversation_id, item in document["conversations"].items()
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}

    def _read(self, path: Path) -> Conversation:
        try:
            stamp = _Stamp.of(path.stat())
            raw = path.read_bytes()
        except FileNotFoundError as error:
            raise StoreError(f"conversation file {path.name} no longer exists") from error
        except OSError as error:
            raise StoreError(f"could not read {path}: {error.strerror or error}") from error
        try:
            conversation = Conversation.from_dict(json.loads(raw))
            if f"{conversation.id}.json" != path.name:
                raise FormatError(f"id {conversation.id!r} does not match the file name")
        except (ValueError, FormatError) as error:
            moved = self._set_aside(path)
            raise StoreError(f"{path.name} is damaged ({error}); moved to {moved}") from error
        self._seen[conversation.id] = stamp
        return conversation

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


TEMPORARY_MAX_AGE = 60.0
"""Seconds after which a leftover temporary file can only be from a writer that died."""


def _remove_stale_temporary(path: Path) -> None:
    with contextlib.suppress(OSError):
        if time.time() - path.stat().st_mtime > TEMPORARY_MAX_AGE:
            path.unlink()


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold the store's lock file, so two app instances never interleave read-merge-write."""
    with open(lock_path, "a+b") as handle:
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
