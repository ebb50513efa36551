"""Export to Markdown and JSON, and import of JSON exports (never over an existing conversation)."""

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ollama_tui.chat.conversation import (
    Conversation,
    MemoryStrategy,
    Message,
    MessageState,
    Role,
)
from ollama_tui.chat.export import (
    TransferError,
    import_file,
    import_json,
    suggested_file_name,
    to_json,
    to_markdown,
    write_export,
)
from ollama_tui.chat.migrations import SCHEMA_VERSION
from ollama_tui.chat.options import Options
from ollama_tui.chat.store import ConversationStore

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is UTC, so the dates in exports are predictable."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def sample() -> Conversation:
    conversation = Conversation(
        id="3f9c2a7b51d04e8a",
        model="llama3.2:latest",
        title="Reverse the words",
        system_prompt="You are concise.\n\nAnswer in Python.",
        options=Options(temperature=0.2, num_ctx=8192),
        memory=MemoryStrategy.WINDOW,
        created_at="2026-01-02T09:15:00.000+00:00",
        updated_at="2026-01-02T09:20:00.000+00:00",
    )
    conversation.messages = [
        Message(
            Role.USER,
            "How do I reverse the words?\n\n## not a heading of ours",
            created_at="2026-01-02T09:15:00.000+00:00",
        ),
        Message(
            Role.ASSISTANT,
            "Use `split`:\n\n```python\n' '.join(reversed(s.split()))\n```\n",
            model="llama3.2:latest",
            thinking="Simple enough.",
            created_at="2026-01-02T09:15:05.000+00:00",
        ),
        Message(Role.USER, "And \x1b[31mred\x1b[0m?", created_at="2026-01-02T09:16:00.000+00:00"),
        Message(
            Role.ASSISTANT,
            "Partial",
            model="qwen3:0.6b",
            state=MessageState.CANCELLED,
            created_at="2026-01-02T09:16:01.000+00:00",
        ),
        Message(
            Role.ASSISTANT,
            "",
            model="qwen3:0.6b",
            state=MessageState.FAILED,
            error="model 'x' not found",
            created_at="2026-01-02T09:17:00.000+00:00",
        ),
        Message(
            Role.USER,
            "unsent one",
            state=MessageState.UNSENT,
            created_at="2026-01-02T09:18:00+00:00",
        ),
    ]
    return conversation


def test_markdown_reads_as_a_document() -> None:
    assert to_markdown(sample()) == (
        "# Reverse the words\n"
        "\n"
        "Model llama3.2:latest · created 2026-01-02 09:15 · updated 2026-01-02 09:20"
        " · memory window · temperature 0.2 · num_ctx 8192\n"
        "\n"
        "System prompt:\n"
        "\n"
        "> You are concise.\n"
        ">\n"
        "> Answer in Python.\n"
        "\n"
        "## You — 2026-01-02 09:15\n"
        "\n"
        "How do I reverse the words?\n"
        "\n"
        "## not a heading of ours\n"
        "\n"
        "## llama3.2:latest — 2026-01-02 09:15\n"
        "\n"
        "<details><summary>Thinking</summary>\n"
        "\n"
        "Simple enough.\n"
        "\n"
        "</details>\n"
        "\n"
        "Use `split`:\n"
        "\n"
        "```python\n"
        "' '.join(reversed(s.split()))\n"
        "```\n"
        "\n"
        "## You — 2026-01-02 09:16\n"
        "\n"
        "And [31mred[0m?\n"
        "\n"
        "## qwen3:0.6b — 2026-01-02 09:16 · stopped\n"
        "\n"
        "Partial\n"
        "\n"
        "## qwen3:0.6b — 2026-01-02 09:17 · failed\n"
        "\n"
        "Error: model 'x' not found\n"
        "\n"
        "## You — 2026-01-02 09:18 · not sent\n"
        "\n"
        "unsent one\n"
    )


def test_markdown_of_an_empty_conversation_and_odd_values() -> None:
    conversation = Conversation(title="Empty", created_at="yesterday", updated_at="today")
    conversation.messages = [Message(Role.ASSISTANT, "hi", state=MessageState.INTERRUPTED)]
    conversation.messages[0].created_at = "2026-01-02T09:15:00+00:00"

    assert to_markdown(conversation) == (
        "# Empty\n\nModel not set · created yesterday · updated today · memory summary\n\n"
        "## Assistant — 2026-01-02 09:15 · interrupted\n\nhi\n"
    )


def test_exports_hold_no_terminal_controls() -> None:
    conversation = sample()
    conversation.messages[1].content = "a\x1b]0;title\x07b \x9b31m c \u202ed\u202c \x7f"
    conversation.title = "t\u2066x"

    markdown = to_markdown(conversation)
    text = to_json(conversation)

    for unsafe in ("\x1b", "\x07", "\x9b", "\u202e", "\u2066", "\x7f"):
        assert unsafe not in markdown and unsafe not in text
    assert json.loads(text) == conversation.to_dict()  # escaped, not lost


def test_json_round_trips_through_import(tmp_path: Path) -> None:
    original = sample()
    original.messages[2].content = "plain"  # import cleans control characters
    store = ConversationStore(tmp_path)

    imported = import_json(to_json(original), store)

    assert json.loads(to_json(original))["schema_version"] == SCHEMA_VERSION
    assert imported == original
    assert ConversationStore(tmp_path).load(original.id) == original


def test_import_never_overwrites(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    existing = sample()
    store.save(existing)
    changed = sample()
    changed.title = "The imported copy"

    imported = import_json(to_json(changed), store)

    assert imported.id != existing.id
    assert store.load(existing.id).title == "Reverse the words"
    assert store.load(imported.id).title == "The imported copy"
    assert [m.id for m in imported.messages] == [m.id for m in changed.messages]


def test_import_does_not_take_the_id_of_a_deleted_conversation(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    deleted = sample()
    store.save(deleted)
    store.delete(deleted.id)

    imported = import_json(to_json(sample()), store)

    assert imported.id != deleted.id
    assert store.restore(deleted.id).id == deleted.id


def test_import_of_a_version_1_document(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)

    imported = import_file(FIXTURES / "conversation-v1.json", store)

    assert (imported.id, imported.title) == ("0f1e2d3c4b5a6978", "How do tides work?")
    assert imported.memory is MemoryStrategy.SUMMARY
    assert imported.messages[-1].state is MessageState.INTERRUPTED
    saved = json.loads(store.path_of(imported.id).read_text())
    assert saved["schema_version"] == SCHEMA_VERSION


def test_import_cleans_control_characters(tmp_path: Path) -> None:
    document = sample().to_dict()
    document["messages"][0]["content"] = "evil \x1b[2J\x9b text"
    document["system_prompt"] = "be \u202enice"

    imported = import_json(json.dumps(document), ConversationStore(tmp_path))

    assert imported.messages[0].content == "evil [2J text"
    assert imported.system_prompt == "be nice"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"{not json", "not JSON (Expecting property name"),
        (b"[]", "not an ollama-tui conversation (not a JSON object)"),
        (b'{"schema_version": 99, "id": "x"}', "schema_version 99 is from a newer ollama-tui"),
        (b'{"schema_version": 2, "id": "../x", "created_at": "now"}', "invalid id '../x'"),
        (b"\xff\xfe", "not UTF-8 text"),
    ],
)
def test_a_bad_file_is_a_one_line_error_naming_it(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "in.json"
    path.write_bytes(content)

    with pytest.raises(TransferError) as caught:
        import_file(path, ConversationStore(tmp_path / "data"))

    message = str(caught.value)
    assert message.startswith(f"cannot import {path}: ")
    assert reason in message and "\n" not in message
    assert not (tmp_path / "data" / "conversations").exists()


def test_a_missing_file_is_a_transfer_error(tmp_path: Path) -> None:
    with pytest.raises(TransferError, match=r"missing\.json: No such file or directory"):
        import_file(tmp_path / "missing.json", ConversationStore(tmp_path))


def test_write_export_is_atomic_and_private(tmp_path: Path) -> None:
    path = tmp_path / "out.md"
    path.write_text("old")
    path.chmod(0o644)

    write_export(sample(), path, "md")

    assert path.read_text().startswith("# Reverse the words\n")
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["out.md"]
    with pytest.raises(TransferError, match=r"could not write .*nowhere"):
        write_export(sample(), tmp_path / "nowhere" / "out.json", "json")


def test_suggested_file_name() -> None:
    conversation = sample()
    assert suggested_file_name(conversation, "md") == "reverse-the-words-3f9c2a7b.md"
    conversation.title = "../../ Köln? *"
    assert suggested_file_name(conversation, "json") == "köln-3f9c2a7b.json"
    conversation.title = "???"
    assert suggested_file_name(conversation, "md") == "conversation-3f9c2a7b.md"


def test_export_imports_neither_textual_nor_httpx() -> None:
    code = (
        "import sys, ollama_tui.chat.export; print(sorted({'textual', 'httpx'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout == "[]\n"
