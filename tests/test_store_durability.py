"""What the store promises of the disk: damaged files are never overwritten, and every write
reaches the disk before it replaces the old file."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ollama_tui.chat import store as store_module
from ollama_tui.chat.conversation import Conversation
from ollama_tui.chat.store import ConversationStore, StoreError


def damage(store: ConversationStore, conversation_id: str, text: str) -> None:
    store.folder.mkdir(parents=True, exist_ok=True)
    (store.folder / f"{conversation_id}.json").write_text(text)


def set_aside_texts(data_dir: Path) -> list[str]:
    return sorted(path.read_text() for path in (data_dir / "damaged").iterdir())


def test_two_damaged_files_of_one_name_are_both_kept(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    damage(store, "abc", "first damaged version")
    with pytest.raises(StoreError):
        store.load("abc")
    damage(store, "abc", "second damaged version")
    with pytest.raises(StoreError):
        store.load("abc")

    assert set_aside_texts(tmp_path) == ["first damaged version", "second damaged version"]
    assert not (store.folder / "abc.json").exists()


class FrozenClock(datetime):
    """A clock that gives the same instant every time: one set back, or two moves in one
    microsecond."""

    @classmethod
    def now(cls, tz: Any = None) -> FrozenClock:
        return cls(2026, 1, 2, 3, 4, 5, 6, tzinfo=tz or UTC)


def test_a_damaged_file_whose_name_is_already_set_aside_overwrites_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "datetime", FrozenClock)
    store = ConversationStore(tmp_path)
    (tmp_path / "damaged").mkdir()
    (tmp_path / "damaged" / "abc.json").write_text("set aside by hand")
    damage(store, "abc", "first damaged version")
    with pytest.raises(StoreError):
        store.load("abc")
    damage(store, "abc", "second damaged version")
    assert ConversationStore(tmp_path).list() == []  # a fresh store finds and moves it

    assert set_aside_texts(tmp_path) == [
        "first damaged version",
        "second damaged version",
        "set aside by hand",
    ]


class _RecordingFile:
    """A file object from os.fdopen whose writes and flushes are recorded."""

    def __init__(self, handle: Any, path: Path | None, events: list[tuple[Any, ...]]) -> None:
        self._handle, self._path, self._events = handle, path, events

    def write(self, data: bytes) -> int:
        self._events.append(("write", self._path))
        return int(self._handle.write(data))

    def flush(self) -> None:
        self._events.append(("flush", self._path))
        self._handle.flush()

    def __enter__(self) -> _RecordingFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._handle.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)


@pytest.fixture
def disk_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Every write, flush, fsync and rename the code makes through `os`, in order, with the
    path each applies to."""
    events: list[tuple[Any, ...]] = []
    paths: dict[int, Path] = {}
    real_open, real_fdopen, real_write = os.open, os.fdopen, os.write
    real_fsync, real_replace, real_rename = os.fsync, os.replace, os.rename

    def open_(path: Any, flags: int, mode: int = 0o777, **kwargs: Any) -> int:
        fd = real_open(path, flags, mode, **kwargs)
        paths[fd] = Path(path)
        return fd

    def fdopen(fd: int, *args: Any, **kwargs: Any) -> _RecordingFile:
        return _RecordingFile(real_fdopen(fd, *args, **kwargs), paths.get(fd), events)

    def write(fd: int, data: bytes) -> int:
        events.append(("write", paths.get(fd)))
        return real_write(fd, data)

    def fsync(fd: Any) -> None:
        number = fd if isinstance(fd, int) else fd.fileno()
        events.append(("fsync", paths.get(number)))
        real_fsync(number)

    def replace(source: Any, target: Any, **kwargs: Any) -> None:
        events.append(("rename", Path(source), Path(target)))
        real_replace(source, target, **kwargs)

    def rename(source: Any, target: Any, **kwargs: Any) -> None:
        events.append(("rename", Path(source), Path(target)))
        real_rename(source, target, **kwargs)

    for name, wrapper in [
        ("open", open_),
        ("fdopen", fdopen),
        ("write", write),
        ("fsync", fsync),
        ("replace", replace),
        ("rename", rename),
    ]:
        monkeypatch.setattr(os, name, wrapper)
    return events


def steps_of_the_write(events: list[tuple[Any, ...]], path: Path) -> list[tuple[Any, ...]]:
    """The calls that wrote `path`: those on the temporary file renamed over it, the rename,
    and the fsyncs of its folder after that, repeated writes folded into one."""
    renames = [event for event in events if event[0] == "rename" and event[2] == path]
    [(_, temporary, _)] = renames
    assert temporary.parent == path.parent, "the temporary file must be in the same folder"
    steps: list[tuple[Any, ...]] = []
    for event in events:
        relevant = event[1] == temporary or (event[0] == "fsync" and event[1] == path.parent)
        if relevant and (not steps or event != steps[-1]):
            steps.append(event)
    first_write = steps.index(("write", temporary))
    return [
        step if step[0] == "rename" or step[1] != temporary else (step[0], "temporary")
        for step in steps[first_write:]
    ]


@pytest.mark.parametrize("written", ["conversation", "index"])
def test_a_write_reaches_the_disk_before_it_replaces_the_old_file(
    tmp_path: Path, disk_calls: list[tuple[Any, ...]], written: str
) -> None:
    store = ConversationStore(tmp_path)
    conversation = Conversation(model="llama3.2:latest")
    conversation.add_user_message("keep me")
    store.save(conversation)
    store.flush_index()
    path = store.path_of(conversation.id) if written == "conversation" else tmp_path / "index.json"

    steps = steps_of_the_write(disk_calls, path)

    temporary = steps[3][1]
    assert steps == [
        ("write", "temporary"),
        ("flush", "temporary"),
        ("fsync", "temporary"),
        ("rename", temporary, path),
        ("fsync", path.parent),
    ]
