"""Working with single messages from the keyboard: move, copy, flip versions, edit and
branch, write a reply again (with another model), delete — against the fake Ollama."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual.widgets import Markdown

from ollama_tui.chat.conversation import Conversation, MessageState, Role
from ollama_tui.chat.store import ConversationStore
from ollama_tui.ui.app import OllamaTUI
from ollama_tui.ui.screens.confirm import ConfirmScreen
from ollama_tui.ui.screens.edit_message import EditMessageScreen
from ollama_tui.ui.screens.picker import PickerScreen
from ollama_tui.ui.widgets.message_list import MessageList
from ollama_tui.ui.widgets.message_view import MessageView
from ollama_tui.ui.widgets.prompt import PromptArea
from tests.fake_ollama import FakeOllama
from tests.ui.conftest import (
    MakeApp,
    connected,
    notices,
    on_disk,
    run_command,
    send,
    settle,
    wait_until,
)


def cursor(app: OllamaTUI) -> MessageView:
    view = app.chat.message_list.cursor
    assert view is not None
    return view


def shown_texts(app: OllamaTUI) -> list[str]:
    return [view.query_one(Markdown).source for view in app.query(MessageView)]


def saved_conversation(data_dir: Path, turns: int, answer: str) -> Conversation:
    """A conversation of `turns` questions and answers (`answer` formatted with the number)."""
    conversation = Conversation(model="llama3.2:latest")
    for number in range(turns):
        conversation.add_user_message(f"question {number}")
        reply = conversation.start_reply()
        reply.content, reply.state = answer.format(number), MessageState.COMPLETE
    ConversationStore(data_dir).save(conversation)
    return conversation


async def chat_of(pilot, app: OllamaTUI, fake: FakeOllama, *replies: str) -> None:  # type: ignore[no-untyped-def]
    for number, reply in enumerate(replies, 1):
        fake.queue_reply(reply)
        await send(pilot, app, f"question {number}")
        await settle(pilot, app)


async def test_moving_between_messages_highlights_one(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await chat_of(pilot, app, fake_ollama, "answer one", "answer two")

        await pilot.press("up")  # in the empty prompt: into the messages
        assert app.focused is app.chat.message_list
        assert cursor(app).message.content == "answer two"
        assert cursor(app).has_class("-cursor")

        await pilot.press("up", "up")
        assert cursor(app).message.content == "answer one"
        await pilot.press("k")
        assert cursor(app).message.content == "question 1"
        await pilot.press("up")  # stays on the first
        assert cursor(app).message.content == "question 1"
        await pilot.press("end")
        assert cursor(app).message.content == "answer two"
        await pilot.press("home", "j")
        assert cursor(app).message.content == "answer one"
        assert len(app.query(".-cursor")) == 1

        await pilot.press("escape")
        assert app.focused is app.chat.prompt
        assert not app.query(".-cursor")
        await pilot.press("ctrl+up")
        assert app.focused is app.chat.message_list
        assert cursor(app).message.content == "answer one"  # where it was left


async def test_moving_up_loads_earlier_messages(
    fake_ollama: FakeOllama, build_app: MakeApp, data_dir: Path
) -> None:
    conversation = saved_conversation(data_dir, 60, "answer {}")
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        app.chat.sidebar.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.chat.conversation.id == conversation.id)
        await pilot.press("ctrl+up", "home")
        await wait_until(pilot, lambda: cursor(app).message.content == "question 0")
        for _ in range(70):  # the action the down key runs (70 presses take Pilot ~8 s)
            await app.chat.message_list.action_move(1)
        await pilot.pause()
        assert cursor(app).message.id == conversation.messages[70].id
        await pilot.press("end")
        await wait_until(pilot, lambda: cursor(app).message.content == "answer 59")


async def test_copy_the_message_and_cycle_through_its_code_blocks(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "show me #code")
        await settle(pilot, app)
        reply = app.chat.conversation.messages[-1]

        await pilot.press("ctrl+up", "c")
        assert app.clipboard == reply.content
        assert notices(app)[-1].startswith("Copied the reply to the clipboard (")

        python, bash = re.findall(r"```\w+\n(.*?)```", reply.content, re.DOTALL)
        await pilot.press("b")
        assert app.clipboard == python
        assert notices(app)[-1].startswith("Copied python code block 1 of 2")
        await pilot.press("b")
        assert app.clipboard == bash
        assert notices(app)[-1].startswith("Copied bash code block 2 of 2")
        await pilot.press("b")
        assert app.clipboard == python  # round again
        assert app.query(".-copied")

        await pilot.press("k", "b")
        assert "no code blocks" in notices(app)[-1]


async def test_regenerate_then_flip_versions_and_send_the_chosen_one(
    fake_ollama: FakeOllama, build_app: MakeApp, data_dir: Path
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await connected(pilot, app)
        await chat_of(pilot, app, fake_ollama, "Red.")
        fake_ollama.queue_reply("Blue.")
        await pilot.press("ctrl+up", "left")
        assert "only one version" in notices(app)[-1]
        await pilot.press("r")
        await settle(pilot, app)

        reply = app.chat.conversation.messages[-1]
        assert reply.content == "Blue."
        assert "‹2/2›" in str(cursor(app).header())
        await pilot.press("left")
        assert app.chat.conversation.messages[-1].content == "Red."
        assert "‹1/2›" in str(cursor(app).header())
        assert shown_texts(app)[-1] == "Red."
        await pilot.press("left")
        assert "first of 2 versions" in notices(app)[-1]
        assert on_disk(data_dir).messages[-1].content == "Red."

        fake_ollama.queue_reply("Noted.")
        await pilot.press("escape")
        await send(pilot, app, "next")
        await settle(pilot, app)
        assert fake_ollama.chat_requests()[-1]["messages"] == [
            {"role": "user", "content": "question 1"},
            {"role": "assistant", "content": "Red."},
            {"role": "user", "content": "next"},
        ]


@pytest.mark.parametrize("way", ["key", "palette"])
async def test_regenerate_with_another_model(
    fake_ollama: FakeOllama, build_app: MakeApp, way: str
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await connected(pilot, app)
        await chat_of(pilot, app, fake_ollama, "from llama")
        if way == "key":
            await pilot.press("ctrl+up", "m")
        else:
            await run_command(pilot, app, "Regenerate with another model")
        await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen))
        for key in "qwen":
            await pilot.press(key)
        await pilot.press("enter")
        await settle(pilot, app)

        reply = app.chat.conversation.messages[-1]
        assert reply.model is not None and reply.model.startswith("qwen")
        assert fake_ollama.chat_requests()[-1]["model"] == reply.model
        assert app.chat.conversation.model == "llama3.2:latest"
        assert [v.content for v in reply.versions] == ["from llama"]


async def test_edit_a_sent_message_branches_and_the_old_branch_is_kept(
    fake_ollama: FakeOllama, build_app: MakeApp, data_dir: Path
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await connected(pilot, app)
        await chat_of(pilot, app, fake_ollama, "one", "two", "three")
        await pilot.press("ctrl+up", "up", "up", "up")  # question 2
        assert cursor(app).message.content == "question 2"
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, EditMessageScreen))
        editor = app.screen.query_one(PromptArea)
        assert editor.text == "question 2"
        editor.text = "question 2, put better"
        fake_ollama.queue_reply("two, better")
        await pilot.press("enter")
        await settle(pilot, app)

        assert [m.content for m in app.chat.conversation.messages] == [
            "question 1",
            "one",
            "question 2, put better",
            "two, better",
        ]
        assert fake_ollama.chat_requests()[-1]["messages"][-1] == {
            "role": "user",
            "content": "question 2, put better",
        }
        assert app.focused is app.chat.prompt

        await pilot.press("ctrl+up")  # back on the message just edited
        assert "‹2/2›" in str(cursor(app).header())
        await pilot.press("left")  # the old branch, whole
        assert [m.content for m in app.chat.conversation.messages] == [
            "question 1",
            "one",
            "question 2",
            "two",
            "question 3",
            "three",
        ]
        assert shown_texts(app)[2:] == ["question 2", "two", "question 3", "three"]
        assert len(on_disk(data_dir).messages) == 6
        await pilot.press("right")
        assert len(on_disk(data_dir).messages) == 4


async def test_editing_a_reply_is_refused_with_a_hint(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await connected(pilot, app)
        await chat_of(pilot, app, fake_ollama, "one")
        await pilot.press("ctrl+up")
        assert cursor(app).message.role is Role.ASSISTANT
        await pilot.press("e")  # disabled on a reply: nothing opens
        assert not isinstance(app.screen, EditMessageScreen)


async def test_delete_a_single_message_after_confirming(
    fake_ollama: FakeOllama, build_app: MakeApp, data_dir: Path
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await connected(pilot, app)
        await chat_of(pilot, app, fake_ollama, "one", "two")
        await pilot.press("ctrl+up", "up")  # question 2
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("escape")  # no: nothing deleted
        assert len(app.chat.conversation.messages) == 4

        await pilot.press("delete")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("tab", "enter")  # "No" has the focus; tab to "Delete"
        await wait_until(pilot, lambda: len(app.chat.conversation.messages) == 3)

        assert [m.content for m in on_disk(data_dir).messages] == ["question 1", "one", "two"]
        assert shown_texts(app) == ["question 1", "one", "two"]
        assert app.focused is app.chat.message_list
        assert cursor(app).message.content == "two"


async def test_message_actions_wait_for_a_streaming_reply(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await connected(pilot, app)
        await chat_of(pilot, app, fake_ollama, "one")
        release = fake_ollama.hold(3)
        await send(pilot, app, "question 2")
        await wait_until(pilot, lambda: app.chat.replies_in_progress == 1)
        await pilot.press("ctrl+up", "up", "up", "d")
        assert "still arriving" in notices(app)[-1]
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")  # stops the reply first
        await settle(pilot, app)
        assert app.focused is app.chat.message_list
        await pilot.press("escape")  # then leaves the messages
        assert app.focused is app.chat.prompt
        release.set()


async def test_message_keys_follow_the_keymap(fake_ollama: FakeOllama, build_app: MakeApp) -> None:
    app = build_app(fake_ollama.url, keys={"message.copy": "x", "messages.focus": "f9"})
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await connected(pilot, app)
        await chat_of(pilot, app, fake_ollama, "copy me")
        await pilot.press("f9", "c")
        assert isinstance(app.focused, MessageList)
        assert app.clipboard == ""
        await pilot.press("x")
        assert app.clipboard == "copy me"


def mounted_window_is_whole(app: OllamaTUI) -> bool:
    """The mounted views show exactly the messages the list says it shows, in order."""
    message_list = app.chat.message_list
    shown = [view.message for view in message_list.query(MessageView)]
    expected = app.chat.conversation.messages[message_list._first_shown : message_list._last_shown]
    return len(shown) == len(expected) and all(a is b for a, b in zip(shown, expected, strict=True))


async def test_sending_while_a_long_conversation_still_fills_in_keeps_every_view(
    fake_ollama: FakeOllama, build_app: MakeApp, data_dir: Path
) -> None:
    conversation = saved_conversation(data_dir, 100, "answer {}\n\nand a second paragraph")
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        fake_ollama.queue_reply("the last answer")
        await app.chat.open(conversation.id)  # the latest page goes on filling in after this
        app.chat.prompt.text = "one more"
        app.chat.prompt.action_submit()
        await app.chat.message_list.page_up()
        await pilot.press("pageup", "pageup", "pageup", "pageup")
        await settle(pilot, app)
        await pilot.press(*["pagedown"] * 12)
        await pilot.pause()

        assert mounted_window_is_whole(app)
        last = list(app.query(MessageView))[-1]
        assert last.message.content == "the last answer"
        assert last.query_one(Markdown).source == "the last answer"
