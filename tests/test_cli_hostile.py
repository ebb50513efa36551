"""The commands on hostile files and unusual outputs: one line on stderr, never a traceback."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

import pytest

from ollama_tui.chat.conversation import Conversation
from ollama_tui.chat.store import ConversationStore
from tests.test_hostile_files import HOSTILE, write_file


def run(
    tmp_path: Path, *args: str, stdout: int | IO[str] = subprocess.PIPE
) -> tuple[int, str, str]:
    """`python -m ollama_tui ARGS --data-dir tmp_path/data`: exit status, stdout, stderr."""
    environ = {k: v for k, v in os.environ.items() if k != "OLLAMA_HOST"}
    environ |= {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    result = subprocess.run(
        [sys.executable, "-m", "ollama_tui", *args, "--data-dir", str(tmp_path / "data")],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
        timeout=60,
        check=False,
    )
    return result.returncode, result.stdout or "", result.stderr


def saved(tmp_path: Path) -> Conversation:
    conversation = Conversation(model="llama3.2:latest")
    conversation.add_user_message("exported words")
    ConversationStore(tmp_path / "data").save(conversation)
    return conversation


def test_list_and_export_skip_hostile_files_with_one_line_each(tmp_path: Path) -> None:
    good = saved(tmp_path)
    write_file(tmp_path / "data", HOSTILE["100,000 levels deep"])

    status, out, err = run(tmp_path, "list")
    assert status == 0 and good.id in out
    assert err.count("\n") == 1 and "c0ffee.json could not be read (nested too deeply)" in err

    write_file(tmp_path / "data", HOSTILE["num_ctx 1e999"])
    status, out, err = run(tmp_path, "export", "c0ffee")
    assert (status, out) == (2, "")
    assert (
        err.count("\n") == 1 and "num_ctx: a number out of range" in err and "Traceback" not in err
    )


def test_import_reads_at_most_64_mb(tmp_path: Path) -> None:
    status, _, err = run(tmp_path, "import", "/dev/zero")
    assert status == 2
    assert (
        err == "ollama-tui: cannot import /dev/zero: larger than 64 MB, which no "
        "conversation export is\n"
    )


def test_export_writes_through_a_fifo(tmp_path: Path) -> None:
    saved(tmp_path)
    conversation_id = ConversationStore(tmp_path / "data").list()[0].id
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    status, _, err = run(tmp_path, "export", conversation_id, "-o", str(fifo))
    reader.join(timeout=30)
    assert (status, err) == (0, "")
    assert b"exported words" in received[0]
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_export_follows_a_symlink_and_keeps_it(tmp_path: Path) -> None:
    conversation = saved(tmp_path)
    target = tmp_path / "real.md"
    target.write_text("old")
    link = tmp_path / "link.md"
    link.symlink_to(target)
    status, _, err = run(tmp_path, "export", conversation.id, "-o", str(link))
    assert (status, err) == (0, "")
    assert link.is_symlink() and "exported words" in target.read_text()


def full_device(tmp_path: Path) -> Path:
    """A device that is always full: a node of our own where allowed (as root, a version that
    replaced its output with a plain file would otherwise replace the machine's /dev/full),
    else /dev/full itself (which a user who is not root cannot replace)."""
    node = tmp_path / "full"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    except OSError:
        return Path("/dev/full")
    return node


def test_a_write_error_is_one_line_and_exit_1(tmp_path: Path) -> None:
    conversation = saved(tmp_path)
    device = full_device(tmp_path)
    status, _, err = run(tmp_path, "export", conversation.id, "-o", str(device))
    assert (status, err) == (1, f"ollama-tui: could not write {device}: No space left on device\n")
    assert stat.S_ISCHR(device.stat().st_mode)


@pytest.mark.parametrize("command", [["export", "{id}"], ["list"], ["list", "--json"]])
def test_stdout_on_a_full_disk_is_one_line_and_exit_1(tmp_path: Path, command: list[str]) -> None:
    conversation = saved(tmp_path)
    with open("/dev/full", "w") as full:
        status, _, err = run(
            tmp_path, *[a.format(id=conversation.id) for a in command], stdout=full
        )
    assert (status, err) == (1, "ollama-tui: could not write the output: No space left on device\n")
