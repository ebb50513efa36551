"""A conversation's compact JSON, with each message's encoding cached between saves, always
equals its document: a change to any saved field of any message is written."""

from __future__ import annotations

import json

from ollama_tui.chat.conversation import Conversation, MessageState, Summary


def branched() -> Conversation:
    conversation = Conversation(model="m", system_prompt="Be brief.", think="high")
    conversation.add_user_message("Q1 — naïve “quotes” \x1b[31m and \\ backslashes")
    reply = conversation.start_reply()
    reply.content, reply.state, reply.thinking = "A1", MessageState.COMPLETE, "hmm"
    reply.stats = {"eval_count": 3, "eval_duration": 10}
    conversation.add_user_message("Q2")
    conversation.start_reply().content = "partial"
    conversation.messages[-1].state = MessageState.INTERRUPTED
    conversation.edit_message(conversation.messages[2], "Q2 edited")
    again = conversation.restart_reply(conversation.messages[1])
    again.content, again.state = "A1 again", MessageState.COMPLETE
    conversation.summary = Summary("s", conversation.messages[0].id, 1, "m")
    return conversation


def same(conversation: Conversation) -> bool:
    return json.loads(conversation.to_json()) == conversation.to_dict()


def test_the_json_is_the_document_with_every_branch() -> None:
    conversation = branched()
    assert same(conversation)
    document = json.loads(conversation.to_json())
    assert document["messages"][1]["versions"][0]["following"][0]["versions"]
    assert Conversation.from_dict(document).to_dict() == conversation.to_dict()


def test_every_change_to_a_message_is_written() -> None:
    conversation = branched()
    conversation.to_json()  # fills the cache
    message = conversation.messages[-1]
    changes = [
        lambda: setattr(message, "content", message.content + " more"),
        lambda: setattr(message, "thinking", "new thoughts"),
        lambda: setattr(message, "state", MessageState.FAILED),
        lambda: setattr(message, "error", "it broke"),
        lambda: setattr(message, "done_reason", "length"),
        lambda: message.stats.update(eval_count=99),
        lambda: setattr(message, "model", "other"),
        lambda: setattr(message.versions[0], "content", "old text changed"),
        lambda: setattr(message, "version_index", 0),
    ]
    for change in changes:
        change()
        assert same(conversation)
    flipped = conversation.show_version(conversation.messages[1], +1)
    assert flipped is not None
    assert same(conversation)
    conversation.remove_message(conversation.messages[0])
    assert same(conversation)
