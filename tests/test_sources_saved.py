"""Schema 4: a conversation's collections and a reply's sources are saved and read back."""

from __future__ import annotations

import json
from pathlib import Path

from ollama_tui.chat.conversation import Conversation, MessageState
from ollama_tui.chat.sources import Source
from ollama_tui.chat.store import ConversationStore

FIXTURES = Path(__file__).parent / "fixtures"
SOURCE = Source("notes", "notes/setup.md", 12, 40, "Setup › Port", "Port 11434.", 0.8312)


def test_collections_and_sources_round_trip(tmp_path: Path) -> None:
    conversation = Conversation(model="llama3.2:latest", collections=["notes", "manuals"])
    conversation.add_user_message("Which port?")
    reply = conversation.start_reply()
    reply.content, reply.state = "11434.", MessageState.COMPLETE
    reply.sources = [SOURCE]
    store = ConversationStore(tmp_path)
    store.save(conversation)
    saved = json.loads(store.path_of(conversation.id).read_text())
    assert saved["schema_version"] == 4
    assert saved["collections"] == ["notes", "manuals"]
    assert saved["messages"][1]["sources"][0] == {
        "collection": "notes",
        "source": "notes/setup.md",
        "start_line": 12,
        "end_line": 40,
        "heading": "Setup › Port",
        "text": "Port 11434.",
        "score": 0.8312,
    }
    loaded = store.load(conversation.id)
    assert loaded.collections == ["notes", "manuals"]
    assert loaded.messages[1].sources == [SOURCE]
    assert loaded.messages[1].sources[0].location == "notes/setup.md:12–40"
    assert "sources" not in saved["messages"][0]  # absent when empty


def test_a_source_change_is_saved_despite_the_json_cache() -> None:
    conversation = Conversation(model="m")
    conversation.add_user_message("q")
    reply = conversation.start_reply()
    before = conversation.to_json()
    reply.sources = [SOURCE]
    assert conversation.to_json() != before
    assert json.loads(conversation.to_json()) == conversation.to_dict()


def test_version_3_files_read_with_no_collections_or_sources(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    store.folder.mkdir(parents=True)
    (store.folder / "3c3c3c3c3c3c3c3c.json").write_bytes(
        (FIXTURES / "conversation-v3.json").read_bytes()
    )
    conversation = store.load("3c3c3c3c3c3c3c3c")
    assert conversation.collections == []
    assert [m.sources for m in conversation.messages] == [[], []]
    store.save(conversation)
    assert json.loads(store.path_of(conversation.id).read_text())["schema_version"] == 4


def test_damaged_sources_and_collections_are_dropped() -> None:
    document = json.loads((FIXTURES / "conversation-v3.json").read_text())
    document["schema_version"] = 4
    document["collections"] = ["notes", 7, "", "\x1b[31mred"]
    document["messages"][1]["sources"] = [SOURCE.to_dict(), {"source": "x"}, "junk"]
    conversation = Conversation.from_dict(document)
    assert conversation.collections == ["notes", "[31mred"]
    assert conversation.messages[1].sources == [SOURCE]
