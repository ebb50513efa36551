"""Files in the data folder that are not what they claim: hostile values, hostile text, links,
other writers' deletions. Everything is checked at the load boundary (`chat.validation`)."""

from __future__ import annotations

import errno
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from ollama_tui.chat.context import Calibration
from ollama_tui.chat.conversation import Conversation
from ollama_tui.chat.migrations import SCHEMA_VERSION, FormatError
from ollama_tui.chat.search import SearchIndex
from ollama_tui.chat.store import ConversationStore, StoreError
from ollama_tui.chat.validation import MAX_BRANCH_DEPTH, conversation_from_json, parse_json
from ollama_tui.config import ConfigError, load_settings
from ollama_tui.sanitize import UNSAFE

ESCAPES = "\x1b]0;pwned\x07\x1b[2J"


def document(**changes: Any) -> dict[str, Any]:
    """A valid conversation document with `changes` applied (a message's with message_*)."""
    message = {
        "id": "m1",
        "role": "user",
        "content": "hello",
        "created_at": "2026-01-01T00:00:00.000+00:00",
        "state": "complete",
    }
    message |= {k.removeprefix("message_"): v for k, v in changes.items() if k[:8] == "message_"}
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "id": "c0ffee",
        "title": "a title",
        "created_at": "2026-01-01T00:00:00.000+00:00",
        "model": "llama3.2:latest",
        "options": {},
        "messages": [message],
    }
    return data | {k: v for k, v in changes.items() if k[:8] != "message_"}


def deeply_nested(depth: int) -> str:
    return '{"schema_version": 3, "id": "c0ffee", "x": ' + "[" * depth + "]" * depth + "}"


def deeply_branched(levels: int) -> str:
    """A conversation whose first message holds a version, whose branch holds a message that
    holds a version… `levels` deep."""
    message = {"id": "m", "role": "user", "content": "x", "created_at": "2026-01-01"}
    for _ in range(levels):
        message = message | {"versions": [message]}
    return json.dumps(document() | {"messages": [message]})


HOSTILE = {
    "num_ctx 1e999": json.dumps(document(options={"num_ctx": 1})).replace(
        '"num_ctx": 1', '"num_ctx": 1e999'
    ),
    "num_ctx below the minimum": json.dumps(document(options={"num_ctx": 3})),
    "temperature NaN": json.dumps(document()).replace('"options": {}', '"options": {"top_p": NaN}'),
    "message model a dict": json.dumps(document(message_model={"a": 1})),
    "message model a number": json.dumps(document(message_model=7)),
    "error a number": json.dumps(document(message_error=404)),
    "stats not counts": json.dumps(document(message_stats={"eval_count": "many"})),
    "versions not a list": json.dumps(document(message_versions={"x": 1})),
    "title a list": json.dumps(document(title=["x"])),
    "pinned a string": json.dumps(document(pinned="yes")),
    "stop not strings": json.dumps(document(options={"stop": [1, 2]})),
    "100,000 levels deep": deeply_nested(100_000),
    "branches 100 levels deep": deeply_branched(100),
}


def write_file(data_dir: Path, text: str, name: str = "c0ffee") -> Path:
    folder = data_dir / "conversations"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(text)
    return path


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_file_with_hostile_values_is_set_aside_and_the_rest_load(
    tmp_path: Path, text: str
) -> None:
    good = Conversation(model="m")
    good.add_user_message("fine")
    ConversationStore(tmp_path).save(good)
    write_file(tmp_path, text)

    store = ConversationStore(tmp_path)
    assert [summary.id for summary in store.list()] == [good.id]
    (notice,) = store.take_notices()
    assert notice.startswith("c0ffee.json could not be read (") and "\n" not in notice
    assert len(notice) < 400
    assert [p.name.split(".")[0] for p in (tmp_path / "damaged").iterdir()] == ["c0ffee"]


def test_branches_up_to_the_limit_load() -> None:
    conversation = conversation_from_json(deeply_branched(MAX_BRANCH_DEPTH))
    assert conversation.messages[0].versions


def test_loading_a_hostile_file_is_a_one_line_store_error(tmp_path: Path) -> None:
    write_file(tmp_path, HOSTILE["message model a dict"])
    with pytest.raises(StoreError, match=r"messages\[0\]\.model: expected a string, got an object"):
        ConversationStore(tmp_path).load("c0ffee")


def test_damaged_files_never_overwrite_each_other(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    for _ in range(3):
        write_file(tmp_path, "{")
        store.list()
    assert len(list((tmp_path / "damaged").iterdir())) == 3


def test_a_damaged_file_in_a_read_only_folder_is_left_in_place_and_told_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_file(tmp_path, "{")

    def read_only(source: object, target: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(os, "rename", read_only)
    store = ConversationStore(tmp_path)
    assert store.list() == []
    assert store.list() == []
    (notice,) = store.take_notices()
    assert notice.endswith("not moved aside: Read-only file system); left where it is")
    with pytest.raises(StoreError, match="could not be moved aside and was left in place"):
        store.load("c0ffee")
    assert path.read_text() == "{"


def test_every_string_from_a_conversation_file_is_inert(tmp_path: Path) -> None:
    hostile = document(
        title=f"t{ESCAPES}",
        model=f"m{ESCAPES}",
        system_prompt=f"s{ESCAPES}",
        host=f"h{ESCAPES}",
        keep_alive=f"5m{ESCAPES}",
        message_content=f"c{ESCAPES}",
        message_model=f"mm{ESCAPES}",
        message_error=f"e{ESCAPES}",
    )
    write_file(tmp_path, json.dumps(hostile))
    conversation = ConversationStore(tmp_path).load("c0ffee")
    (message,) = conversation.messages
    assert message.content == f"c{ESCAPES}"  # the words as written; the screen makes them inert
    message.content = ""
    assert "\x1b" not in conversation.to_json() and "\x07" not in conversation.to_json()
    assert conversation.model == "m]0;pwned[2J"


def test_the_index_and_calibration_are_read_inert(tmp_path: Path) -> None:
    conversation = Conversation(model="m")
    conversation.add_user_message("hello")
    store = ConversationStore(tmp_path)
    store.save(conversation)
    store.flush_index()
    index = json.loads((tmp_path / "index.json").read_text())
    index["conversations"][conversation.id][0] = f"title{ESCAPES}"
    index["conversations"][conversation.id][2] = f"model{ESCAPES}"
    (tmp_path / "index.json").write_text(json.dumps(index))
    (summary,) = ConversationStore(tmp_path).list()
    assert "\x1b" not in summary.title + summary.model

    calibration = tmp_path / "calibration.json"
    models = {f"x{ESCAPES}": {"actual": 300, "estimated": 200}}
    calibration.write_text(json.dumps({"version": 1, "models": models}))
    assert "\x1b" not in json.dumps(Calibration.load(calibration).to_dict())
    calibration.write_text(deeply_nested(100_000))
    assert Calibration.load(calibration).factor("m") == 1.0


def test_config_errors_never_carry_escapes_and_deep_nesting_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('"evil\\u001b]0;pwned\\u0007\\u001b[2J" = 1\n')  # TOML escapes in a key
    with pytest.raises(ConfigError) as caught:
        load_settings(config_path=path, environ={})
    assert "\x1b" not in str(caught.value) and "evil]0;pwned[2J: unknown key" in str(caught.value)

    path.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_settings(config_path=path, environ={})


def test_a_file_made_unreadable_while_open_is_set_aside_before_the_save(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    conversation = Conversation(model="m")
    conversation.add_user_message("mine")
    store.save(conversation)
    newer = conversation.to_dict() | {"schema_version": SCHEMA_VERSION + 1, "new": "field"}
    path = store.path_of(conversation.id)
    path.write_text(json.dumps(newer))

    conversation.add_user_message("more of mine")
    store.save(conversation)

    (moved,) = (tmp_path / "damaged").iterdir()
    assert json.loads(moved.read_text())["new"] == "field"
    (notice,) = store.take_notices()
    assert "from a newer ollama-tui" in notice and str(moved) in notice
    assert len(ConversationStore(tmp_path).load(conversation.id).messages) == 2


def test_deletions_merge_between_two_writers(tmp_path: Path) -> None:
    mine, theirs = ConversationStore(tmp_path), ConversationStore(tmp_path)
    conversation = Conversation(model="m")
    for text in ("one", "two", "three"):
        conversation.add_user_message(text)
    mine.save(conversation)
    other = theirs.load(conversation.id)

    conversation.remove_message(conversation.messages[1])  # "two", deleted here
    mine.save(conversation)
    other.remove_message(other.messages[0])  # "one", deleted there
    other.add_user_message("four")
    assert theirs.save(other) == 1  # "two", deleted by the other writer

    assert [m.content for m in other.messages] == ["three", "four"]
    mine.save(conversation)
    assert [m.content for m in conversation.messages] == ["three", "four"]
    assert [m.content for m in ConversationStore(tmp_path).load(other.id).messages] == [
        "three",
        "four",
    ]


def test_a_conversation_trashed_elsewhere_is_not_recreated(tmp_path: Path) -> None:
    mine, theirs = ConversationStore(tmp_path), ConversationStore(tmp_path)
    conversation = Conversation(model="m")
    conversation.add_user_message("first")
    mine.save(conversation)
    theirs.delete(conversation.id)

    conversation.add_user_message("typed after the other window trashed it")
    mine.save(conversation)
    mine.save(conversation)

    assert not mine.path_of(conversation.id).exists()
    assert [s.id for s in ConversationStore(tmp_path).list()] == []
    (notice,) = mine.take_notices()
    assert "moved to the trash by another ollama-tui" in notice
    restored = ConversationStore(tmp_path).restore(conversation.id)
    assert [m.content for m in restored.messages][-1] == "typed after the other window trashed it"


def test_a_symlinked_conversation_file_is_refused_and_its_target_untouched(
    tmp_path: Path,
) -> None:
    target = tmp_path / "elsewhere.json"
    target.write_text(json.dumps(document()))
    folder = tmp_path / "data" / "conversations"
    folder.mkdir(parents=True)
    (folder / "c0ffee.json").symlink_to(target)

    store = ConversationStore(tmp_path / "data")
    assert store.list() == []
    (notice,) = store.take_notices()
    assert "symbolic link" in notice and "left where it is" in notice
    with pytest.raises(StoreError, match="is a symbolic link, which is not followed"):
        store.load("c0ffee")
    assert (folder / "c0ffee.json").is_symlink()
    assert json.loads(target.read_text()) == document()


def test_text_read_back_from_the_search_index_is_inert(tmp_path: Path) -> None:
    conversation = Conversation(model="m")
    conversation.add_user_message("needle in the haystack")
    index = SearchIndex(tmp_path)
    index.update(conversation)
    index.close()
    with sqlite3.connect(tmp_path / "search.sqlite3") as connection:
        connection.execute("UPDATE texts SET text = ?", (f"needle {ESCAPES} haystack",))
        connection.execute("UPDATE conversations SET title = ?", (f"title{ESCAPES}",))
        connection.execute("UPDATE entries SET role = 'bot'")

    (hit,) = SearchIndex(tmp_path).search("needle")
    assert "\x1b" not in hit.snippet + hit.title and hit.role is None


@pytest.mark.parametrize(
    "text",
    [
        '{"a": "x\\u001by"}',  # an escaped control character
        '{"a": "x\\by", "b": "\\f\\r"}',  # the short escapes of control characters
        '{"a": "x\u0085y\u202ez\u2066"}',  # C1 and bidi characters as they are, not escaped
        '{"a\\u009b": "x"}',  # in a key
        '["x\\u001b", ["y\u0090"]]',  # in lists
    ],
)
def test_json_that_needs_cleaning_is_cleaned_and_clean_json_is_read_as_is(text: str) -> None:
    cleaned = parse_json(text.encode())
    assert not UNSAFE.search(json.dumps(cleaned, ensure_ascii=False))
    clean = '{"a": "plain \\"quoted\\" \\\\ text\\n\\t", "n": [1, 2.5, true, null]}'
    assert parse_json(clean.encode()) == json.loads(clean)


def test_json_numbers_out_of_range_name_their_field() -> None:
    for text in ('{"temperature": 1e400}', '{"temperature": NaN}'):
        with pytest.raises(FormatError, match="out of range"):
            parse_json(text)
    with pytest.raises(FormatError, match="not JSON"):
        parse_json(b'{"a": "\xff"}')
