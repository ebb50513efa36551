"""Conversations on disk: one JSON file each, plus a small index so the list opens fast.

Layout under the data dir::

    conversations/<id>.json   one conversation (see Conversation.to_dict)
    index.json                summaries keyed by id, each with the size, mtime and inode of its
                              file, and the conversations folder's own stat (see below)
    damaged/                  files that could not be read, moved aside (never deleted)
    trash/                    conversations moved to the trash, restorable

Every file is read through `chat.validation` (types, ranges, depth, control characters). A
conversation file that is a symbolic link is not followed: it is reported and left in place,
so a link planted in the folder can neither be read nor make a save overwrite its target.

The index is only a cache, rebuilt from the files whenever it cannot be trusted, so a crash
between a save and an index write costs nothing. It is trusted in one of two ways:

* the folder's stat (device, inode, mtime, ctime) equals the one recorded in the index: no file
  was added, removed, renamed or replaced since the index was checked against the files —
  every save, here or by another ollama-tui process, is a rename into the folder, which changes
  the folder's mtime. Only a file rewritten in place by another program goes unnoticed, until
  anything else in the folder changes (opening a conversation always reads its file);
* otherwise each entry whose file still has the recorded size, mtime and inode (one `stat` per
  file); the others are read again.

A change made within the same timestamp tick as the folder's previous one would leave the
folder's stat as it was, so a folder stat is only recorded when it was taken well after the
folder's last change (`_settled`). After this store's own writes, `flush_index` records the
folder's stat again only if the folder still holds exactly the files (names and inodes) the
store knows of, i.e. no other process changed it meanwhile.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from ollama_tui.atomic import write_atomic
from ollama_tui.chat.attachment_store import AttachmentStore

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; atomic writes still hold
    fcntl = None  # type: ignore[assignment]
from ollama_tui.chat.conversation import Conversation, is_valid_id
from ollama_tui.chat.migrations import FormatError
from ollama_tui.chat.validation import conversation_from_json, parse_json

INDEX_VERSION = 4
"""4: entries are rows (see `_entry_of`) and the folder's stat is recorded; 3 is still read."""

SETTLE_NS = 250_000_000
"""How long the folder must have been unchanged when its stat is taken for the stat to be
recorded: longer than a timestamp tick of the kernel's clock (up to 10 ms) and any difference
between this machine's clock and a file server's that NTP leaves."""

COARSE_SETTLE_NS = 3_000_000_000
"""The same for file systems with whole-second timestamps (FAT's are 2 s apart)."""


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


class _Stamp(NamedTuple):
    """Identifies one version of a file: every atomic write makes a new inode."""

    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, stat: os.stat_result) -> _Stamp:
        return cls(stat.st_size, stat.st_mtime_ns, stat.st_ino)


class _FolderStamp(NamedTuple):
    """The conversations folder's own stat: adding, removing or renaming a file changes it."""

    device: int
    inode: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, folder: Path) -> _FolderStamp | None:
        try:
            stat = os.stat(folder)
        except OSError:
            return None
        return cls(stat.st_dev, stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns)


def _settled(stamp: _FolderStamp, taken_at_ns: int) -> bool:
    """Whether any change after `taken_at_ns` is sure to give the folder a different stat."""
    coarse = stamp.mtime_ns % 1_000_000_000 == 0 or stamp.ctime_ns % 1_000_000_000 == 0
    margin = COARSE_SETTLE_NS if coarse else SETTLE_NS
    return taken_at_ns - max(stamp.mtime_ns, stamp.ctime_ns) > margin


class ConversationStore:
    """Reads and writes conversations under one data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.folder = data_dir / "conversations"
        self.damaged_folder = data_dir / "damaged"
        self.trash_folder = data_dir / "trash"
        self.attachments = AttachmentStore(data_dir)
        """The attached files the conversations refer to."""
        self._index_path = data_dir / "index.json"
        self._lock_path = data_dir / ".lock"
        self._summaries: dict[str, tuple[ConversationSummary, _Stamp]] = {}
        self._folder_stamp: _FolderStamp | None = None
        """A settled stat of the folder taken when `_summaries` matched its files; None once
        this store changed the folder, or when no such stat is known."""
        self._recorded_stamp: _FolderStamp | None = None
        """The folder stat in index.json as last read or written."""
        self._seen: dict[str, _Stamp] = {}
        """The version of each file this store last read or wrote, to notice other writers."""
        self._index_dirty = False
        self.set_aside: list[Path] = []
        """Files moved to the damaged folder since the store was opened."""
        self._notices: list[str] = []
        self._reported: set[Path] = set()
        """Unreadable files left in place that were already reported, so each is told once."""
        self._trashed_elsewhere: set[str] = set()

    def take_notices(self) -> list[str]:
        """What the user should be told since the last call (files set aside or left unread,
        conversations trashed by another process), one line each."""
        notices, self._notices = self._notices, []
        return notices

    def _ensure_folders(self) -> None:
        for folder in (self.data_dir, self.folder):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)

    def path_of(self, conversation_id: str) -> Path:
        """The file of a conversation; refuses ids that could name a file outside the folder."""
        if not is_valid_id(conversation_id):
            raise StoreError(f"invalid conversation id {conversation_id!r}")
        return self.folder / f"{conversation_id}.json"

    def list(self) -> list[ConversationSummary]:
        """Every readable conversation, most recently updated first.

        The index is written here only if an entry changed; a new folder stat alone is
        recorded by the next `flush_index` (the app's, when it quits), not during start-up.
        """
        cached, recorded = self._read_index()
        self._recorded_stamp = recorded
        taken_at = time.time_ns()
        stamp = _FolderStamp.of(self.folder)
        if stamp is not None and stamp == recorded:
            summaries = cached
            self._folder_stamp = stamp
        else:
            summaries, complete = self._validate(cached)
            settled = stamp is not None and complete and _settled(stamp, taken_at)
            self._folder_stamp = stamp if settled else None
            if summaries.keys() != cached.keys():
                self._index_dirty = True
        self._summaries = summaries
        if self._index_dirty:
            self.flush_index()
        return sorted(
            (summary for summary, _ in summaries.values()),
            key=lambda summary: summary.updated_at,
            reverse=True,
        )

    def _validate(
        self, cached: dict[str, tuple[ConversationSummary, _Stamp]]
    ) -> tuple[dict[str, tuple[ConversationSummary, _Stamp]], bool]:
        """The summaries of the folder's files, from `cached` where a file's stat matches.

        Also removes stale temporary files; the flag is False when a recent one was kept.
        """
        summaries: dict[str, tuple[ConversationSummary, _Stamp]] = {}
        complete = True
        try:
            entries = list(os.scandir(self.folder))
        except FileNotFoundError:
            entries = []
        for entry in entries:
            name = entry.name
            if name.startswith(".") and name.endswith(".tmp"):
                complete = _remove_stale_temporary(Path(entry.path)) and complete
                continue
            conversation_id = name.removesuffix(".json")
            if conversation_id == name or not is_valid_id(conversation_id) or not entry.is_file():
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
        return summaries, complete

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
                if self._trashed_by_another(path, conversation):
                    path = self.trash_folder / path.name
                merged = self._merge_newer_file(path, conversation)
                data = conversation.to_json()
                self._folder_stamp = None
                write_atomic(path, data.encode())
                stamp = _Stamp.of(path.stat())
        except OSError as error:
            reason = error.strerror or str(error)
            raise StoreError(
                f"could not save '{conversation.title}' to {path}: {reason}"
            ) from error
        self._seen[conversation.id] = stamp
        if path.parent == self.folder:
            self._summaries[conversation.id] = (ConversationSummary.of(conversation), stamp)
            self._index_dirty = True
        return merged

    def _trashed_by_another(self, path: Path, conversation: Conversation) -> bool:
        """Whether another process moved this conversation (read or written here) to the trash.

        Its saves then go to the trash copy, merged, so the deletion holds, nothing typed here
        is lost, and restoring brings both back; the user is told once.
        """
        if conversation.id not in self._seen or path.exists():
            return False
        if not (self.trash_folder / path.name).exists():
            return False
        if conversation.id not in self._trashed_elsewhere:
            self._trashed_elsewhere.add(conversation.id)
            self._summaries.pop(conversation.id, None)
            self._index_dirty = True
            self._notices.append(
                f"'{conversation.title}' was moved to the trash by another ollama-tui; your "
                "changes are saved with it there (ctrl+p → Restore deleted conversation)."
            )
        return True

    def _merge_newer_file(self, path: Path, conversation: Conversation) -> int:
        """Merge another writer's version of the file into `conversation`.

        A version that cannot be read (a newer schema, a hand edit with a typo) is moved to
        the damaged folder first, so the save never destroys it; if it cannot be moved, the
        save is refused (OSError) and the conversation stays in memory.
        """
        try:
            current = _Stamp.of(path.lstat())
        except FileNotFoundError:
            return 0
        if self._seen.get(conversation.id) == current:
            return 0
        try:
            theirs = conversation_from_json(_read_file(path))
        except OSError as error:
            if error.errno != errno.ELOOP:
                raise
            raise OSError(errno.ELOOP, "it is a symbolic link, which is not followed") from None
        except (ValueError, FormatError) as error:
            if self._set_aside(path, str(error)) == path:
                raise OSError(
                    errno.EEXIST,
                    "it holds an unreadable version that could not be "
                    "moved aside, so it was not overwritten",
                ) from None
            return 0
        return conversation.merge_from(theirs)

    def delete(self, conversation_id: str) -> None:
        """Move a conversation to the trash folder, from which `restore` brings it back."""
        path = self.path_of(conversation_id)
        try:
            self.trash_folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._folder_stamp = None
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
                conversation = conversation_from_json(_read_file(path))
            except (OSError, ValueError):
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
            self._folder_stamp = None
            os.replace(source, target)
        except OSError as error:
            raise StoreError(f"could not restore {source.name}: {error.strerror}") from error
        self._trashed_elsewhere.discard(conversation_id)
        conversation = self.load(conversation_id)
        self._summaries[conversation_id] = (
            ConversationSummary.of(conversation),
            self._seen[conversation_id],
        )
        self._index_dirty = True
        return conversation

    def empty_trash(self) -> tuple[int, int]:
        """Delete the conversations in the trash for good, then the attached files no
        conversation left refers to; returns how many conversations and files went."""
        removed = 0
        for path in self.trash_folder.glob("*.json"):
            try:
                path.unlink()
            except OSError as error:
                raise StoreError(
                    f"could not delete {path.name} from the trash: {error.strerror}"
                ) from error
            removed += 1
        return removed, self.attachments.remove_unreferenced(self.saved_documents())

    def saved_documents(self) -> Iterator[bytes]:
        """The raw bytes of every conversation file kept: listed, trashed and damaged.

        Raises StoreError when one cannot be read, so nothing is judged unreferenced by a
        file that was not seen.
        """
        for folder in (self.folder, self.trash_folder, self.damaged_folder):
            for path in folder.glob("*.json") if folder.is_dir() else ():
                try:
                    yield path.read_bytes()
                except FileNotFoundError:
                    continue
                except OSError as error:
                    raise StoreError(f"could not read {path}: {error.strerror}") from error

    def flush_index(self) -> None:
        """Write the index if it changed; losing it only slows the next start a little."""
        if self._folder_stamp is None:
            self._folder_stamp = self._check_folder()
        stamp = self._folder_stamp
        if not self._index_dirty and (stamp is None or stamp == self._recorded_stamp):
            return
        document: dict[str, Any] = {
            "version": INDEX_VERSION,
            "conversations": {
                conversation_id: [
                    summary.title,
                    summary.updated_at,
                    summary.model,
                    summary.message_count,
                    summary.pinned,
                    *file_stamp,
                ]
                for conversation_id, (summary, file_stamp) in self._summaries.items()
            },
        }
        if stamp is not None:
            document["folder"] = list(stamp)
        try:
            self._ensure_folders()
            write_atomic(self._index_path, json.dumps(document, ensure_ascii=False).encode())
        except OSError:
            return
        self._index_dirty = False
        self._recorded_stamp = stamp

    def _check_folder(self) -> _FolderStamp | None:
        """A settled stat of the folder if its files are still those of `_summaries`.

        Compares names and inodes as the directory lists them (no `stat` per file): every save
        gives its file a new inode, so this notices what other processes added, removed or
        replaced since this store last looked.
        """
        taken_at = time.time_ns()
        stamp = _FolderStamp.of(self.folder)
        if stamp is None or not _settled(stamp, taken_at):
            return None
        known = {conversation_id: s.inode for conversation_id, (_, s) in self._summaries.items()}
        found = 0
        try:
            with os.scandir(self.folder) as entries:
                for entry in entries:
                    name = entry.name
                    if name.startswith(".") and name.endswith(".tmp"):
                        return None  # a save in progress, or a stale file for `list` to remove
                    conversation_id = name.removesuffix(".json")
                    if conversation_id == name:
                        continue
                    inode = known.get(conversation_id)
                    if inode is None:
                        if is_valid_id(conversation_id) and entry.is_file():
                            return None  # a conversation this store does not know
                    elif entry.inode() != inode:
                        return None
                    else:
                        found += 1
        except OSError:
            return None
        return stamp if found == len(known) else None

    def _read_index(
        self,
    ) -> tuple[dict[str, tuple[ConversationSummary, _Stamp]], _FolderStamp | None]:
        """The cached entries and the folder stat recorded with them; nothing if unreadable."""
        try:
            document = parse_json(self._index_path.read_bytes())
            version = document.get("version")
            if version not in (3, INDEX_VERSION):
                return {}, None
            entries = {
                conversation_id: _entry_of(conversation_id, item)
                for conversation_id, item in document["conversations"].items()
            }
            folder = document.get("folder") if version == INDEX_VERSION else None
            if folder is None:
                return entries, None
            device, inode, mtime_ns, ctime_ns = (int(value) for value in folder)
            return entries, _FolderStamp(device, inode, mtime_ns, ctime_ns)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}, None

    def _read(self, path: Path) -> Conversation:
        try:
            stamp = _Stamp.of(path.lstat())
            raw = _read_file(path)
        except FileNotFoundError as error:
            raise StoreError(f"conversation file {path.name} no longer exists") from error
        except OSError as error:
            if error.errno == errno.ELOOP:
                self._left_in_place(path, "it is a symbolic link, which is not followed")
                raise StoreError(
                    f"{path} is a symbolic link, which is not followed; replace the link "
                    "with the file itself to open it"
                ) from error
            raise StoreError(f"could not read {path}: {error.strerror or error}") from error
        try:
            conversation = conversation_from_json(raw)
            if f"{conversation.id}.json" != path.name:
                raise FormatError(f"id {conversation.id!r} does not match the file name")
        except (ValueError, FormatError) as error:
            moved = self._set_aside(path, str(error))
            if moved == path:
                raise StoreError(
                    f"{path} is damaged ({error}); it could not be moved aside and was left "
                    "in place"
                ) from error
            raise StoreError(f"{path.name} is damaged ({error}); moved to {moved}") from error
        self._seen[conversation.id] = stamp
        return conversation

    def _set_aside(self, path: Path, reason: str) -> Path:
        """Move an unreadable file to the damaged folder under a name that never overwrites,
        and tell the user. Returns where it is now: `path` itself if it could not be moved (a
        read-only folder), in which case it stays where it is, reported once."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        try:
            self.damaged_folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            target = self.damaged_folder / f"{path.stem}.{stamp}{path.suffix}"
            suffix = 1
            while target.exists() or target.is_symlink():
                target = self.damaged_folder / f"{path.stem}.{stamp}-{suffix}{path.suffix}"
                suffix += 1
            self._folder_stamp = None
            os.rename(path, target)
        except OSError as error:
            self._left_in_place(path, f"{reason}; not moved aside: {error.strerror or error}")
            return path
        self.set_aside.append(target)
        self._notices.append(f"{path.name} could not be read ({reason}); moved to {target}")
        self._summaries.pop(path.stem, None)
        self._index_dirty = True
        return target

    def _left_in_place(self, path: Path, reason: str) -> None:
        """Report, once, a file that cannot be read and stays where it is."""
        if path not in self._reported:
            self._reported.add(path)
            self._notices.append(f"{path} could not be read ({reason}); left where it is")


def _entry_of(conversation_id: str, item: Any) -> tuple[ConversationSummary, _Stamp]:
    """One index entry: `[title, updated_at, model, message_count, pinned, size, mtime_ns,
    inode]` (version 3: an object with those keys); TypeError if it is not one."""
    if isinstance(item, dict):
        item = [
            item["title"],
            item["updated_at"],
            item["model"],
            item["message_count"],
            item["pinned"],
            item["size"],
            item["mtime_ns"],
            item["inode"],
        ]
    title, updated_at, model, message_count, pinned, size, mtime_ns, inode = item
    if not (
        type(title) is str
        and type(updated_at) is str
        and type(model) is str
        and type(message_count) is int
        and type(pinned) is bool
        and type(size) is int
        and type(mtime_ns) is int
        and type(inode) is int
    ):
        raise TypeError(f"index entry {conversation_id!r} is malformed")
    summary = ConversationSummary(conversation_id, title, updated_at, model, message_count, pinned)
    return summary, _Stamp(size, mtime_ns, inode)


def _read_file(path: Path) -> bytes:
    """The bytes of a file, never through a symbolic link (OSError ELOOP for one)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


TEMPORARY_MAX_AGE = 60.0
"""Seconds after which a leftover temporary file can only be from a writer that died."""


def _remove_stale_temporary(path: Path) -> bool:
    """Remove `path` if it is stale; whether it is gone."""
    with contextlib.suppress(OSError):
        if time.time() - path.stat().st_mtime > TEMPORARY_MAX_AGE:
            path.unlink()
            return True
    return not path.exists()


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
