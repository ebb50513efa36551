"""The conversation model and its store: JSON round trip, atomic writes, damaged files."""

import json
import os
import stat
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ollama_tui.chat import store as store_module
from ollama_tui.chat.conversation import (
    Conversation,
    MemoryStrategy,
    MessageState,
    Role,
    title_from,
)
from ollama_tui.chat.migrations import MIGRATIONS, SCHEMA_VERSION, FormatError, migrate
from ollama_tui.chat.options import Options
from ollama_tui.chat.store import (
    COARSE_SETTLE_NS,
    SETTLE_NS,
    ConversationStore,
    StoreError,
    _FolderStamp,
    _settled,
)
from ollama_tui.chat.summary import now_iso


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


# The index is trusted without a stat per file while the folder's own stat is unchanged.

QUICK_SETTLE_NS = 30_000_000


@pytest.fixture
def quick_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 30 ms settling margin (still longer than a kernel timestamp tick): shorter waits."""
    monkeypatch.setattr(store_module, "SETTLE_NS", QUICK_SETTLE_NS)


def settle() -> None:
    """Wait until the folder's last change is older than the settling margin."""
    time.sleep(QUICK_SETTLE_NS / 1e9 * 1.5)


def saved(store: ConversationStore, title: str) -> Conversation:
    conversation = Conversation(model="m")
    conversation.add_user_message(title)
    store.save(conversation)
    return conversation


def titles(data_dir: Path) -> list[str]:
    """What a newly started app would list, in title order."""
    return sorted(summary.title for summary in ConversationStore(data_dir).list())


def recorded_folder(data_dir: Path) -> object:
    return json.loads((data_dir / "index.json").read_text()).get("folder")


def settled_titles(data_dir: Path) -> list[str]:
    """List once the folder has settled, then flush as the app does when it quits: that
    records the folder's stat in the index."""
    settle()
    store = ConversationStore(data_dir)
    listed = sorted(summary.title for summary in store.list())
    store.flush_index()
    assert recorded_folder(data_dir) is not None
    return listed


def no_file_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("the files were checked one by one")

    monkeypatch.setattr(ConversationStore, "_validate", refuse)


@pytest.mark.usefixtures("quick_settle")
def test_an_unchanged_folder_is_listed_from_the_index_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ConversationStore(tmp_path)
    saved(store, "first")
    saved(store, "second")
    assert settled_titles(tmp_path) == ["first", "second"]

    with monkeypatch.context() as patch:
        no_file_checks(patch)
        assert titles(tmp_path) == ["first", "second"]
        assert titles(tmp_path) == ["first", "second"]


@pytest.mark.usefixtures("quick_settle")
def test_listing_writes_the_index_only_when_an_entry_changed(tmp_path: Path) -> None:
    saved(ConversationStore(tmp_path), "only")
    assert titles(tmp_path) == ["only"]  # a new entry: the index is written
    index = tmp_path / "index.json"
    written = index.stat().st_ino  # every write of the index makes a new file

    settle()
    store = ConversationStore(tmp_path)
    assert [summary.title for summary in store.list()] == ["only"]
    assert index.stat().st_ino == written  # a start-up does not wait for an index write
    store.flush_index()
    assert recorded_folder(tmp_path) is not None


@pytest.mark.usefixtures("quick_settle")
def test_files_added_removed_or_replaced_by_another_store_are_seen(tmp_path: Path) -> None:
    kept = saved(ConversationStore(tmp_path), "kept")
    removed = saved(ConversationStore(tmp_path), "removed")
    other = ConversationStore(tmp_path)
    assert settled_titles(tmp_path) == ["kept", "removed"]

    saved(other, "added")
    assert titles(tmp_path) == ["added", "kept", "removed"]
    assert settled_titles(tmp_path) == ["added", "kept", "removed"]

    other.delete(removed.id)
    assert titles(tmp_path) == ["added", "kept"]
    assert settled_titles(tmp_path) == ["added", "kept"]

    kept.rename("replaced")
    other.save(kept)
    assert titles(tmp_path) == ["added", "replaced"]
    assert settled_titles(tmp_path) == ["added", "replaced"]

    other.delete(kept.id)
    assert settled_titles(tmp_path) == ["added"]
    other.restore(kept.id)
    assert titles(tmp_path) == ["added", "replaced"]


@pytest.mark.usefixtures("quick_settle")
def test_a_damaged_file_dropped_into_an_unchanged_folder_is_set_aside(tmp_path: Path) -> None:
    saved(ConversationStore(tmp_path), "good")
    assert settled_titles(tmp_path) == ["good"]

    (tmp_path / "conversations" / "0badc0ffee.json").write_text('{"schema_version": 1, "id": ')
    store = ConversationStore(tmp_path)
    assert [summary.title for summary in store.list()] == ["good"]
    assert [path.name.split(".")[0] for path in store.set_aside] == ["0badc0ffee"]


@pytest.mark.usefixtures("quick_settle")
def test_a_file_rewritten_in_place_shows_once_anything_else_in_the_folder_changes(
    tmp_path: Path,
) -> None:
    store = ConversationStore(tmp_path)
    conversation = saved(store, "before")
    assert settled_titles(tmp_path) == ["before"]

    # Another program writing into the same inode leaves the folder's stat as it was...
    path = store.path_of(conversation.id)
    document = json.loads(path.read_text())
    document["title"] = "edited in place"
    path.write_text(json.dumps(document))
    assert titles(tmp_path) == ["before"]
    assert store.load(conversation.id).title == "edited in place"  # opening reads the file

    # ...until a file is added, removed or replaced: then every file is checked again.
    saved(ConversationStore(tmp_path), "another")
    assert titles(tmp_path) == ["another", "edited in place"]


@pytest.mark.usefixtures("quick_settle")
def test_the_index_written_after_saves_is_trusted_only_if_no_one_else_changed_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved(ConversationStore(tmp_path), "old")
    settle()
    app = ConversationStore(tmp_path)
    app.list()
    saved(app, "mine")
    settle()
    app.flush_index()  # as the app does when it quits
    with monkeypatch.context() as patch:
        no_file_checks(patch)
        assert titles(tmp_path) == ["mine", "old"]

    saved(app, "mine too")
    saved(ConversationStore(tmp_path), "theirs")  # not in the app's summaries
    settle()
    app.flush_index()
    assert recorded_folder(tmp_path) is None
    assert titles(tmp_path) == ["mine", "mine too", "old", "theirs"]


def test_a_folder_stat_taken_soon_after_a_change_is_not_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "SETTLE_NS", 3600 * 10**9)
    store = ConversationStore(tmp_path)
    saved(store, "first")
    store.list()
    store.flush_index()
    assert recorded_folder(tmp_path) is None


def test_settled_means_unchanged_for_longer_than_a_timestamp_tick() -> None:
    fine = _FolderStamp(1, 2, 1_700_000_000_123_456_789, 1_700_000_000_123_456_790)
    assert not _settled(fine, fine.ctime_ns + SETTLE_NS)
    assert _settled(fine, fine.ctime_ns + SETTLE_NS + 1)

    whole_seconds = _FolderStamp(1, 2, 1_700_000_000 * 10**9, 1_700_000_000 * 10**9)
    assert not _settled(whole_seconds, whole_seconds.mtime_ns + SETTLE_NS + 1)
    assert _settled(whole_seconds, whole_seconds.mtime_ns + COARSE_SETTLE_NS + 1)


@pytest.mark.usefixtures("quick_settle")
def test_a_recent_temporary_file_keeps_the_files_checked_until_it_is_removed(
    tmp_path: Path,
) -> None:
    conversation = saved(ConversationStore(tmp_path), "only")
    leftover = tmp_path / "conversations" / f".{conversation.id}.json.4343.tmp"
    leftover.write_text("{")
    settle()
    assert titles(tmp_path) == ["only"]
    assert recorded_folder(tmp_path) is None  # its writer may still rename it into place

    an_hour_ago = time.time() - 3600
    os.utime(leftover, (an_hour_ago, an_hour_ago))
    assert titles(tmp_path) == ["only"]
    assert not leftover.exists()
    assert settled_titles(tmp_path) == ["only"]


@pytest.mark.usefixtures("quick_settle")
def test_a_version_3_index_is_used_without_reading_the_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation = saved(ConversationStore(tmp_path), "from the old index")
    ConversationStore(tmp_path).list()
    index = tmp_path / "index.json"
    row = json.loads(index.read_text())["conversations"][conversation.id]
    keys = ("title", "updated_at", "model", "message_count", "pinned", "size", "mtime_ns", "inode")
    entry = {"id": conversation.id, **dict(zip(keys, row, strict=True))}
    index.write_text(json.dumps({"version": 3, "conversations": {conversation.id: entry}}))

    def refuse(*args: object) -> None:
        raise AssertionError("a conversation file was read")

    monkeypatch.setattr(ConversationStore, "_read", refuse)
    assert settled_titles(tmp_path) == ["from the old index"]
    assert json.loads(index.read_text())["version"] == 4


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


def store_with_fixture(tmp_path: Path, version: int, conversation_id: str) -> ConversationStore:
    """A store holding the stored fixture of that schema version, as the old app wrote it."""
    store = ConversationStore(tmp_path)
    store.folder.mkdir(parents=True)
    original = (FIXTURES / f"conversation-v{version}.json").read_text()
    (store.folder / f"{conversation_id}.json").write_text(original)
    return store


def test_version_1_files_are_migrated(tmp_path: Path) -> None:
    store = store_with_fixture(tmp_path, 1, "0f1e2d3c4b5a6978")
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
    assert rewritten["schema_version"] == SCHEMA_VERSION == 4
    assert rewritten["memory"] == "summary"


def test_version_3_files_are_migrated_and_a_reply_keeps_its_host(tmp_path: Path) -> None:
    store = store_with_fixture(tmp_path, 3, "3c3c3c3c3c3c3c3c")
    conversation = store.load("3c3c3c3c3c3c3c3c")
    reply = conversation.messages[-1]
    assert reply.host == ""  # version 3 did not say
    reply.written_by("gpu-box")
    store.save(conversation)

    rewritten = json.loads(store.path_of(conversation.id).read_text())
    assert rewritten["schema_version"] == 4
    assert rewritten["messages"][-1]["host"] == "gpu-box"
    assert "host" not in rewritten["messages"][0]
    assert store.load(conversation.id).messages[-1].host == "gpu-box"


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


def test_stamps_taken_within_one_millisecond_still_order() -> None:
    stamps = [now_iso() for _ in range(200)]

    assert stamps == sorted(stamps)
    assert len(set(stamps)) == len(stamps)


def test_a_burst_of_stamps_does_not_run_ahead_of_the_clock() -> None:
    """Another process stamping now must sort after everything stamped here before."""
    for _ in range(20_000):
        last = now_iso()

    assert datetime.fromisoformat(last) <= datetime.now(UTC) + timedelta(milliseconds=50)
