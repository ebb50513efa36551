"""Versions and branches of messages: regenerate, edit, flip, delete — and what is sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ollama_tui.chat.conversation import (
    Conversation,
    Message,
    MessageState,
    Role,
    Summary,
)
from ollama_tui.chat.store import ConversationStore

FIXTURES = Path(__file__).parent / "fixtures"


def answered(conversation: Conversation, text: str) -> Message:
    reply = conversation.start_reply()
    reply.content, reply.state = text, MessageState.COMPLETE
    return reply


def chat(*turns: tuple[str, str]) -> Conversation:
    conversation = Conversation(model="m")
    for question, answer in turns:
        conversation.add_user_message(question)
        answered(conversation, answer)
    return conversation


def sent(conversation: Conversation) -> list[str]:
    return [message["content"] for message in conversation.request_messages()]


def test_regenerated_replies_are_versions_and_the_shown_one_is_sent() -> None:
    conversation = chat(("Name a colour.", "Red."))
    reply = conversation.restart_reply(conversation.messages[-1])
    reply.content, reply.state = "Blue.", MessageState.COMPLETE
    reply = conversation.restart_reply(reply, model="other")
    reply.content, reply.state = "Green.", MessageState.COMPLETE

    assert reply.model == "other"
    assert [v.content for v in reply.all_versions()] == ["Red.", "Blue.", "Green."]
    assert (reply.version_position, reply.version_count) == (2, 3)

    first = conversation.show_version(reply, -1)
    assert first is not None and first.content == "Blue."
    first = conversation.show_version(first, -1)
    assert first is not None and first.content == "Red."
    assert conversation.show_version(first, -1) is None
    assert sent(conversation) == ["Name a colour.", "Red."]
    assert [v.content for v in first.all_versions()] == ["Red.", "Blue.", "Green."]


def test_regenerating_while_an_older_version_is_shown_keeps_every_version() -> None:
    conversation = chat(("Q", "one"))
    two = conversation.restart_reply(conversation.messages[-1])
    two.content = "two"
    one = conversation.show_version(two, -1)
    assert one is not None

    three = conversation.restart_reply(conversation.messages[-1])

    assert [v.content for v in three.all_versions()] == ["one", "two", ""]
    assert three.version_position == 2


def test_a_reply_without_text_is_not_kept_as_a_version() -> None:
    conversation = chat(("Q", "kept"))
    failed = conversation.restart_reply(conversation.messages[-1])
    failed.state = MessageState.FAILED

    again = conversation.restart_reply(conversation.messages[-1])

    assert [v.content for v in again.versions] == ["kept"]


def test_editing_a_message_branches_and_the_old_branch_comes_back() -> None:
    conversation = chat(("Hi", "Hello!"), ("Name a colour.", "Red."), ("Why?", "It is warm."))
    question = conversation.messages[2]

    edited = conversation.edit_message(question, "Name a fruit.")
    answered(conversation, "Apple.")

    assert sent(conversation) == ["Hi", "Hello!", "Name a fruit.", "Apple."]
    assert (edited.version_position, edited.version_count) == (1, 2)

    old = conversation.show_version(edited, -1)
    assert old is not None
    assert sent(conversation) == ["Hi", "Hello!", "Name a colour.", "Red.", "Why?", "It is warm."]

    new = conversation.show_version(old, +1)
    assert new is not None
    assert sent(conversation) == ["Hi", "Hello!", "Name a fruit.", "Apple."]


def test_only_the_users_messages_can_be_edited() -> None:
    conversation = chat(("Q", "A"))
    with pytest.raises(ValueError, match="only the user"):
        conversation.edit_message(conversation.messages[1], "x")


def test_branches_nest_and_survive_a_save(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    conversation = chat(("Q1", "A1"), ("Q2", "A2"))
    conversation.restart_reply(conversation.messages[-1]).content = "A2 again"
    conversation.messages[-1].state = MessageState.COMPLETE
    conversation.edit_message(conversation.messages[0], "Q1 edited")
    answered(conversation, "A1 edited")
    store.save(conversation)

    loaded = store.load(conversation.id)
    assert sent(loaded) == ["Q1 edited", "A1 edited"]
    old = loaded.show_version(loaded.messages[0], -1)
    assert old is not None
    assert sent(loaded) == ["Q1", "A1", "Q2", "A2 again"]
    reply = loaded.show_version(loaded.messages[-1], -1)
    assert reply is not None
    assert sent(loaded) == ["Q1", "A1", "Q2", "A2"]
    store.save(loaded)
    assert sent(store.load(conversation.id)) == ["Q1", "A1", "Q2", "A2"]


def test_a_summary_of_another_branch_is_not_used_and_deleting_covered_drops_it() -> None:
    conversation = chat(("Q1", "A1"), ("Q2", "A2"), ("Q3", "A3"))
    summary = Summary("about Q1 and Q2", conversation.messages[3].id, 4, "m")
    conversation.summary = summary

    conversation.remove_message(conversation.messages[5])
    assert conversation.summary is summary  # it covered only earlier messages

    conversation.remove_message(conversation.messages[1])
    assert conversation.summary is None
    assert sent(conversation) == ["Q1", "Q2", "A2", "Q3"]


def test_merging_another_writers_copy_does_not_bring_back_a_branch_set_aside() -> None:
    ours = chat(("Q", "A"))
    theirs = Conversation.from_dict(ours.to_dict())
    ours.edit_message(ours.messages[0], "Q edited")

    assert ours.merge_from(theirs) == 0
    assert sent(ours) == ["Q edited"]


def test_version_2_files_keep_their_regenerated_replies(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    store.folder.mkdir(parents=True)
    source = FIXTURES / "conversation-v2.json"
    (store.folder / "1a2b3c4d5e6f7081.json").write_bytes(source.read_bytes())

    conversation = store.load("1a2b3c4d5e6f7081")

    reply = conversation.messages[-1]
    assert reply.role is Role.ASSISTANT
    assert [v.content for v in reply.all_versions()] == ["Red.", "Teal."]
    assert reply.version_position == 1
    store.save(conversation)
    assert json.loads(store.path_of(conversation.id).read_text())["schema_version"] == 4


def test_writing_an_earlier_reply_again_branches_from_there() -> None:
    conversation = chat(("Q1", "A1"), ("Q2", "A2"))

    again = conversation.restart_reply(conversation.messages[1])
    again.content, again.state = "A1 again", MessageState.COMPLETE

    assert sent(conversation) == ["Q1", "A1 again"]
    old = conversation.show_version(again, -1)
    assert old is not None
    assert sent(conversation) == ["Q1", "A1", "Q2", "A2"]


def test_deleting_a_version_takes_its_branch_and_shows_the_one_before() -> None:
    conversation = chat(("Q1", "A1"), ("Q2", "A2"))
    edited = conversation.edit_message(conversation.messages[0], "Q1b")
    answered(conversation, "A1b")
    third = conversation.edit_message(edited, "Q1c")

    shown = conversation.remove_message(third)

    assert shown is not None and shown.content == "Q1b"
    assert sent(conversation) == ["Q1b", "A1b"]
    assert [v.content for v in shown.all_versions()] == ["Q1", "Q1b"]
    first = conversation.remove_message(shown)
    assert first is not None and not first.versions
    assert sent(conversation) == ["Q1", "A1", "Q2", "A2"]
