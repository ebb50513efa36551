"""The store under real crashes and real concurrent writers: nothing saved is ever lost."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ollama_tui.chat.conversation import Conversation
from ollama_tui.chat.store import ConversationStore, StoreError

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from ollama_tui.chat.store import ConversationStore

    store = ConversationStore(Path(sys.argv[1]))
    conversation = store.load(sys.argv[2])
    prefix, count = sys.argv[3], int(sys.argv[4])
    for i in range(count):
        conversation.add_user_message(f"{prefix}-{i} " + "words " * 200)
        store.save(conversation)
        print(len(conversation.messages), flush=True)
    """
)


def writer(data_dir: Path, conversation_id: str, prefix: str, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(data_dir), conversation_id, prefix, str(count)],
        stdout=subprocess.PIPE,
        text=True,
    )


def seeded(data_dir: Path) -> Conversation:
    conversation = Conversation(model="llama3.2:latest")
    conversation.add_user_message("the first message")
    ConversationStore(data_dir).save(conversation)
    return conversation


def test_sigkill_while_saving_never_leaves_a_broken_file(tmp_path: Path) -> None:
    """Kill a saving process at random moments, many times; every file loads, no save is lost."""
    conversation = seeded(tmp_path)
    rng = random.Random(20261121)
    acknowledged = 1
    for _ in range(25):
        process = writer(tmp_path, conversation.id, "kill", 10_000)
        assert process.stdout is not None
        first = process.stdout.readline()  # the writer is running and has saved once
        assert first
        time.sleep(rng.uniform(0.0, 0.08))
        process.send_signal(signal.SIGKILL)
        rest = process.communicate()[0]
        acknowledged = max([acknowledged, int(first), *(int(n) for n in rest.split())])

        loaded = ConversationStore(tmp_path).load(conversation.id)
        assert len(loaded.messages) >= acknowledged
        assert loaded.messages[0].content == "the first message"

    assert not (tmp_path / "damaged").exists()
    json.loads((tmp_path / "conversations" / f"{conversation.id}.json").read_text())


def test_two_processes_writing_one_conversation_lose_nothing(tmp_path: Path) -> None:
    conversation = seeded(tmp_path)
    first = writer(tmp_path, conversation.id, "first", 40)
    second = writer(tmp_path, conversation.id, "second", 40)
    assert first.wait(60) == 0 and second.wait(60) == 0

    contents = [
        m.content.split()[0] for m in ConversationStore(tmp_path).load(conversation.id).messages
    ]
    assert contents[0] == "the"
    assert sorted(c for c in contents if c.startswith("first")) == sorted(
        f"first-{i}" for i in range(40)
    )
    assert sorted(c for c in contents if c.startswith("second")) == sorted(
        f"second-{i}" for i in range(40)
    )


def test_a_save_merges_what_another_instance_wrote(tmp_path: Path) -> None:
    conversation = seeded(tmp_path)
    ours, theirs = ConversationStore(tmp_path), ConversationStore(tmp_path)
    mine = ours.load(conversation.id)
    other = theirs.load(conversation.id)

    other.add_user_message("written by the other instance")
    theirs.save(other)
    mine.add_user_message("written here")
    merged = ours.save(mine)

    assert merged == 1
    assert [m.content for m in mine.messages] == [
        "the first message",
        "written by the other instance",
        "written here",
    ]
    assert ConversationStore(tmp_path).load(conversation.id).messages == mine.messages
    assert ours.save(mine) == 0  # nothing new the second time


def test_delete_goes_to_the_trash_and_can_be_restored(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    conversation = seeded(tmp_path)

    store.delete(conversation.id)
    assert store.list() == []
    assert [s.id for s in store.trashed()] == [conversation.id]

    restored = store.restore(conversation.id)
    assert restored.messages == conversation.messages
    assert [s.id for s in store.list()] == [conversation.id]
    assert store.trashed() == []

    store.delete(conversation.id)
    store.save(conversation)  # the same id exists again outside the trash
    with pytest.raises(StoreError, match="already exists"):
        store.restore(conversation.id)


def test_leftover_temporary_files_of_dead_writers_are_removed(tmp_path: Path) -> None:
    conversation = seeded(tmp_path)
    folder = tmp_path / "conversations"
    stale = folder / f".{conversation.id}.json.4242.tmp"
    fresh = folder / f".{conversation.id}.json.4343.tmp"
    stale.write_text("{")
    fresh.write_text("{")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))

    assert [s.id for s in ConversationStore(tmp_path).list()] == [conversation.id]
    assert not stale.exists()
    assert fresh.exists()  # it may belong to a save in progress
