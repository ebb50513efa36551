"""The conversation model and its store: JSON round trip, atomic writes, damaged files."""

import json
import os
import stat
from pathlib import Path

import pytest

from ollama_tui.chat.conversation import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Conversation,
    FormatError,
    MemoryStrategy,
    MessageState,
    Options,
    Role,
    migrate,
    title_from,
)
from ollama_tui.chat.store import ConversationStore, StoreError


def sample_conversation() -> Conversation:
    conversation = Conversation(model="llama3.2", system_prompt="Be brief.")
    conversation.options = Options(temperature=0.2, num_ctx=4096, seed=7)
    conversation.add_user_message("What is a monad?\nExplain simply.")
    reply = conversation.start_reply()
    reply.content = "A monad is a **pattern** — «ünïcode» 🚀"
    reply.thinking = "The user wants a short answer."
    reply.state = MessageState.COMPLETE
    reply.stats = {"eval_count": 12, "eval_duration": 300_000_000}
    conversation.add_user_message("And a functor?")
    cut = conversation.start_reply()
    cut.content = "A functor is"
    cut.state = MessageState.CANCELLED
    return conversation


def test_round_trip_keeps_everything(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    original = sample_conversation()
    store.save(original)

    loaded = ConversationStore(tmp_path).load(original.id)

    assert loaded == original
    assert loaded.title == "What is a monad?"
    assert [m.state for m in loaded.messages] == [
        MessageState.COMPLETE,
        MessageState.COMPLETE,
        MessageState.COMPLETE,
        MessageState.CANCELLED,
    ]


def test_file_layout_is_documented_json(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    conversation = sample_conversation()
    store.save(conversation)

    document = json.loads((tmp_path / "conversations" / f"{conversation.id}.json").read_text())

    assert document["schema_version"] == SCHEMA_VERSION
    assert document["options"] == {"temperature": 0.2, "num_ctx": 4096, "seed": 7}
    assert document["messages"][1]["model"] == "llama3.2"
    assert document["messages"][1]["thinking"] == "The user wants a short answer."
    assert document["messages"][1]["stats"] == {"eval_count": 12, "eval_duration": 300_000_000}
    assert document["messages"][3]["state"] == "cancelled"


def test_files_and_folders_are_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    store = ConversationStore(data_dir)
    conversation = sample_conversation()
    store.save(conversation)

    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(store.path_of(conversation.id).stat().st_mode) == 0o600


def test_save_leaves_no_temporary_files(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    conversation = sample_conversation()
    for _ in range(5):
        conversation.add_user_message("again")
        store.save(conversation)

    assert sorted(p.name for p in store.folder.iterdir()) == [f"{conversation.id}.json"]


def test_a_reply_saved_mid_stream_loads_as_interrupted(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    conversation = Conversation(model="llama3.2")
    conversation.add_user_message("hi")
    reply = conversation.start_reply()
    reply.content = "Hel"
    store.save(conversation)

    loaded = store.load(conversation.id)

    assert loaded.messages[-1].state is MessageState.INTERRUPTED
    assert loaded.messages[-1].content == "Hel"


def test_list_is_newest_first_and_uses_the_index(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    first, second = Conversation(model="a"), Conversation(model="b")
    first.add_user_message("first")
    store.save(first)
    second.add_user_message("second")
    store.save(second)

    assert [s.title for s in store.list()] == ["second", "first"]
    index = json.loads((tmp_path / "index.json").read_text())
    assert set(index["conversations"]) == {first.id, second.id}

    # A file changed behind the index's back is read again; a removed one disappears.
    first.rename("renamed elsewhere")
    ConversationStore(tmp_path).save(first)
    store.path_of(second.id).unlink()
    assert [s.title for s in ConversationStore(tmp_path).list()] == ["renamed elsewhere"]


def test_damaged_file_is_moved_aside_and_the_rest_load(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    good = sample_conversation()
    store.save(good)
    (store.folder / "0badc0ffee.json").write_text('{"schema_version": 1, "id": ')
    (store.folder / "1newer.json").write_text(json.dumps({"schema_version": 99, "id": "1newer"}))

    fresh = ConversationStore(tmp_path)
    summaries = fresh.list()

    assert [s.id for s in summaries] == [good.id]
    moved = sorted(p.name.split(".")[0] for p in (tmp_path / "damaged").iterdir())
    assert moved == ["0badc0ffee", "1newer"]
    assert len(fresh.set_aside) == 2


def test_damaged_file_on_load_is_a_store_error(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    store.folder.mkdir(parents=True)
    (store.folder / "abc.json").write_text("not json")

    with pytest.raises(StoreError, match=r"abc\.json is damaged"):
        store.load("abc")


@pytest.mark.parametrize("bad_id", ["../etc/passwd", "/abs", "a\x00b", "", "a/b", ".."])
def test_ids_cannot_escape_the_folder(tmp_path: Path, bad_id: str) -> None:
    with pytest.raises(StoreError, match="invalid conversation id"):
        ConversationStore(tmp_path).load(bad_id)


def test_save_failure_is_a_one_line_store_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # root ignores permissions; make the folder path a file instead.
        (tmp_path / "conversations").write_text("")
    else:
        (tmp_path / "conversations").mkdir()
        (tmp_path / "conversations").chmod(0o500)
    conversation = sample_conversation()

    with pytest.raises(StoreError) as caught:
        ConversationStore(tmp_path).save(conversation)

    assert "\n" not in str(caught.value)
    assert "could not save 'What is a monad?'" in str(caught.value)


def test_request_messages_send_the_whole_history() -> None:
    conversation = sample_conversation()
    conversation.add_user_message("third")
    conversation.start_reply()  # still streaming: not part of the history

    assert conversation.request_messages() == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is a monad?\nExplain simply."},
        {"role": "assistant", "content": "A monad is a **pattern** — «ünïcode» 🚀"},
        {"role": "user", "content": "And a functor?"},
        {"role": "assistant", "content": "A functor is"},
        {"role": "user", "content": "third"},
    ]


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("  hello   world \nsecond line", "hello world"),
        ("\n\n# A heading\nbody", "A heading"),
        ("\x1b]0;evil\x07title", "]0;eviltitle"),
        ("x" * 100, "x" * 59 + "…"),
        ("   \n  ", "New conversation"),
    ],
)
def test_titles_are_one_clean_line(text: str, title: str) -> None:
    assert title_from(text) == title


def test_unknown_fields_and_wrong_option_types_are_tolerated() -> None:
    options = Options.from_dict({"temperature": "hot", "top_k": 40.0, "mirostat": 1, "seed": True})
    assert options == Options(top_k=40)


def test_not_this_schema_is_a_format_error() -> None:
    with pytest.raises(FormatError):
        Conversation.from_dict({"schema_version": 1, "id": "x", "messages": [{"role": "bot"}]})
    with pytest.raises(FormatError):
        Conversation.from_dict([])
    assert Role("user") is Role.USER


# Schema migrations: one stored fixture per old version, loaded by the current code.

FIXTURES = Path(__file__).parent / "fixtures"


def test_version_1_files_are_migrated(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    store.folder.mkdir(parents=True)
    original = (FIXTURES / "conversation-v1.json").read_text()
    (store.folder / "0f1e2d3c4b5a6978.json").write_text(original)

    conversation = store.load("0f1e2d3c4b5a6978")

    assert conversation.title == "How do tides work?"
    assert conversation.memory is MemoryStrategy.SUMMARY
    assert conversation.options == Options(temperature=0.4, num_ctx=8192)
    assert [m.content for m in conversation.messages][:3] == [
        "How do tides work?",
        "The Moon's gravity pulls the oceans into two bulges…",
        "And spring tides?",
    ]
    assert conversation.messages[1].stats["eval_count"] == 42
    assert conversation.messages[-1].state is MessageState.INTERRUPTED

    store.save(conversation)
    rewritten = json.loads(store.path_of(conversation.id).read_text())
    assert rewritten["schema_version"] == SCHEMA_VERSION == 3
    assert rewritten["memory"] == "summary"


def test_every_old_version_has_a_migration_step_and_a_fixture() -> None:
    for version in range(1, SCHEMA_VERSION):
        assert version in MIGRATIONS
        document = json.loads((FIXTURES / f"conversation-v{version}.json").read_text())
        assert migrate(document)["schema_version"] == SCHEMA_VERSION


@pytest.mark.parametrize(
    ("version", "reason"),
    [(SCHEMA_VERSION + 1, "newer ollama-tui"), (0, "unsupported"), ("1", "no valid")],
)
def test_unknown_versions_are_format_errors(version: object, reason: str) -> None:
    with pytest.raises(FormatError, match=reason):
        migrate({"schema_version": version})
