"""`ollama-tui docs …` as a user runs it, against the fake Ollama."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from ollama_tui import cli
from ollama_tui.docs import commands
from tests.docs.corpus import write_corpus
from tests.fake_ollama import FakeOllama
from tests.test_cli import run


@pytest.fixture
def docs(tmp_path: Path, fake_ollama: FakeOllama):
    """Run `ollama-tui docs ARGS` against the fake server with a private data dir."""

    def call(*args: str) -> subprocess.CompletedProcess[str]:
        return run(tmp_path, "docs", *args, "--data-dir", str(tmp_path / "data"),
                   OLLAMA_HOST=fake_ollama.url)  # fmt: skip

    return call


def test_add_index_list_search_and_remove(docs, tmp_path: Path) -> None:
    root = write_corpus(tmp_path / "notes")
    added = docs("add", "notes", str(root))
    assert added.returncode == 0, added.stderr
    assert added.stdout == (
        "notes: 1 path(s), embedding model nomic-embed-text:latest; "
        "index it with `ollama-tui docs index notes`\n"
    )
    indexed = docs("index", "notes")
    assert indexed.returncode == 0, indexed.stderr
    assert indexed.stdout == "notes: 4 file(s) indexed (4 chunks); 0 unchanged\n"
    assert indexed.stderr.splitlines()[-1].startswith("4/4 files  4 chunks  ")  # plain lines
    assert "\x1b" not in indexed.stderr and "\r" not in indexed.stderr

    listed = docs("list").stdout.splitlines()
    assert listed[0] == "NAME  FILES  CHUNKS  SIZE  MODEL  INDEXED"
    assert re.fullmatch(r"notes  4  4  \d+ B  nomic-embed-text:latest  \d{4}-\d\d-\d\d \d\d:\d\d",
                        listed[1])  # fmt: skip
    assert listed[2] == f"  {root}"

    found = docs("search", "notes", "bake sourdough bread", "-n", "2").stdout.splitlines()
    assert len(found) == 2
    assert re.fullmatch(r"notes/bread\.md:1–3  (0|1)\.\d\d  Sourdough", found[0])

    again = docs("index", "notes")
    assert again.stdout == "notes: 0 file(s) indexed (0 chunks); 4 unchanged\n"
    removed = docs("remove", "notes")
    assert removed.stdout == "removed collection notes (4 files, 4 chunks)\n"
    assert docs("list").stderr.startswith("no collections")


def test_errors_are_one_line_with_status_2(docs, tmp_path: Path) -> None:
    gone = docs("add", "notes", str(tmp_path / "nowhere"))
    assert (gone.returncode, gone.stderr) == (
        2,
        f"ollama-tui: no such file or folder: {tmp_path / 'nowhere'}\n",
    )
    unknown = docs("index", "absent")
    assert unknown.returncode == 2
    assert unknown.stderr == (
        "ollama-tui: no collection named 'absent'; see `ollama-tui docs list`\n"
    )
    write_corpus(tmp_path / "n")
    docs("add", "chat", str(tmp_path / "n"), "--model", "llama3.2")
    wrong = docs("index", "chat")
    assert wrong.returncode == 2 and len(wrong.stderr.splitlines()) == 1
    assert "'llama3.2' is not an embedding model" in wrong.stderr
    empty = docs("search", "chat", "anything")
    assert empty.stderr == (
        "ollama-tui: 'chat' has nothing indexed yet; run `ollama-tui docs index chat`\n"
    )


def test_no_embedding_model_installed(tmp_path: Path, fake_ollama: FakeOllama) -> None:
    fake_ollama.models = [m for m in fake_ollama.models if "embedding" not in m.capabilities]
    write_corpus(tmp_path / "n")
    result = run(tmp_path, "docs", "add", "n", str(tmp_path / "n"), "--data-dir",
                 str(tmp_path / "data"), OLLAMA_HOST=fake_ollama.url)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == (
        "ollama-tui: no embedding model is installed; pull one with "
        "`ollama pull nomic-embed-text` or name one with --model\n"
    )


def test_without_the_extra_the_commands_say_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("ollama_tui.docs.find_spec", lambda name: None)
    status = cli.main(["docs", "list", "--data-dir", str(tmp_path)])
    assert status == 2
    assert capsys.readouterr().err == (
        "ollama-tui: documents need numpy and pypdf, which are not installed: "
        "pip install 'ollama-tui[docs]'\n"
    )


def test_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    class Terminal:
        def __init__(self) -> None:
            self.written: list[str] = []

        def isatty(self) -> bool:
            return True

        def write(self, text: str) -> None:
            self.written.append(text)

        def flush(self) -> None:
            pass

    from ollama_tui.docs.indexer import IndexProgress

    out = Terminal()
    printer = commands.ProgressPrinter(out)  # type: ignore[arg-type]
    printer.update(IndexProgress(3, 4, 30, 300, 400, 2.0, "notes/a.md"))
    printer.close()
    assert out.written[0].startswith("\r\x1b[2K██████████████████░░░░░░ 3/4 files  30 chunks  ")
    assert "15.0 chunks/s  0:00 left  notes/a.md" in out.written[0]
    assert out.written[-1] == "\n"
