"""Conversation memory through the UI: every request fits num_ctx under each strategy."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from textual.widgets import Select, TextArea

from ollama_tui.chat.context import SUMMARY_PREFIX
from ollama_tui.chat.conversation import Conversation, MemoryStrategy, MessageState
from ollama_tui.chat.options import Options
from ollama_tui.chat.store import ConversationStore
from ollama_tui.ui.app import OllamaTUI
from ollama_tui.ui.screens.picker import PickerScreen
from ollama_tui.ui.screens.summary import SummaryScreen
from ollama_tui.ui.widgets.memory_marker import MemoryMarker
from tests.fake_ollama import DEFAULT_MODELS, FakeOllama
from tests.ui.conftest import MakeApp, connected, send, settle, wait_until

NUM_CTX = 2048
SYSTEM = "You are terse."


@pytest.fixture(autouse=True)
def quick_tokens(fake_ollama: FakeOllama) -> None:
    """The fake quotes whole transcripts back when asked to summarise: keep its tokens quick."""
    fake_ollama.token_delay = 0.0005


def long_conversation(turns: int, memory: MemoryStrategy) -> Conversation:
    conversation = Conversation(
        model="llama3.2:latest",
        system_prompt=SYSTEM,
        options=Options(num_ctx=NUM_CTX),
        memory=memory,
    )
    for turn in range(turns):
        conversation.add_user_message(f"Question {turn}: " + "tell me about rivers " * 12)
        reply = conversation.start_reply()
        reply.content = f"Answer {turn}: " + "rivers flow to the sea " * 14
        reply.state = MessageState.COMPLETE
    return conversation


async def open_saved(pilot, app: OllamaTUI, conversation: Conversation) -> None:  # type: ignore[no-untyped-def]
    await connected(pilot, app)

    app.chat.sidebar.focus()
    app.chat.sidebar.highlighted = app.chat.sidebar.get_option_index(conversation.id)
    await pilot.press("enter")
    await wait_until(pilot, lambda: app.chat.conversation.id == conversation.id)


def chat_streams(server: FakeOllama) -> list[dict]:
    return [r for r in server.chat_requests() if r.get("stream", True) is not False]


def summary_calls(server: FakeOllama) -> list[dict]:
    return [r for r in server.chat_requests() if r.get("stream") is False]


async def send_checked(pilot, app: OllamaTUI, server: FakeOllama, text: str) -> dict:  # type: ignore[no-untyped-def]
    """Send, then check the request fits the budget by the estimator the app planned it with."""
    estimator = app.session.calibration.estimator(app.chat.conversation.model)
    num_ctx = app.chat.conversation.options.num_ctx
    await send(pilot, app, text)
    await settle(pilot, app)
    request = chat_streams(server)[-1]
    assert request["messages"][0] == {"role": "system", "content": SYSTEM}
    assert request["messages"][-1] == {"role": "user", "content": text}
    if request["options"]["num_ctx"] == num_ctx == NUM_CTX:
        assert estimator.request_tokens(request["messages"]) <= NUM_CTX - 512
    return request


async def test_summary_memory_summarises_older_turns_and_the_summary_can_be_edited(
    fake_ollama: FakeOllama, build_app: MakeApp, data_dir: Path
) -> None:
    saved = long_conversation(40, MemoryStrategy.SUMMARY)
    ConversationStore(data_dir).save(saved)
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_saved(pilot, app, saved)
        request = await send_checked(pilot, app, fake_ollama, "What did we say about rivers?")

        calls = summary_calls(fake_ollama)
        assert calls, "older turns were summarised"
        estimator = app.session.calibration.estimator(saved.model)
        for call in calls:
            assert call["options"]["num_ctx"] == NUM_CTX and call["options"]["num_predict"] > 0
            size = estimator.request_tokens(call["messages"])
            assert size + call["options"]["num_predict"] <= NUM_CTX
        # Incremental: each call carries the previous summary and only turns not yet covered.
        covered: set[str] = set()
        for index, call in enumerate(calls):
            so_far, new_part = call["messages"][-1]["content"].split(
                "\n\nNew part of the conversation:\n", 1
            )
            assert (so_far == "Summary so far:\n(none yet)") == (index == 0)
            questions = set(re.findall(r"^User: (Question \d+):", new_part, re.MULTILINE))
            assert questions and not questions & covered
            covered |= questions
        assert request["options"]["num_ctx"] == NUM_CTX
        assert request["messages"][1]["content"].startswith(SUMMARY_PREFIX)
        summary = app.chat.conversation.summary
        assert summary is not None and summary.covered_count > 10
        assert len(app.chat.conversation.messages) == 82  # nothing dropped from the conversation

        marker = app.query_one(MemoryMarker)
        await wait_until(pilot, lambda: marker.display)
        assert "summarised" in str(marker.render())
        marker.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, SummaryScreen))
        app.screen.query_one(TextArea).text = "We discussed rivers at length."
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not isinstance(app.screen, SummaryScreen))

        request = await send_checked(pilot, app, fake_ollama, "And lakes?")
        assert (
            request["messages"][1]["content"] == SUMMARY_PREFIX + "We discussed rivers at length."
        )

    reloaded = ConversationStore(data_dir).load(saved.id)
    assert reloaded.summary is not None
    assert reloaded.summary.text == "We discussed rivers at length."


async def test_window_memory_chosen_in_the_panel_sends_the_latest_turns(
    fake_ollama: FakeOllama, build_app: MakeApp, data_dir: Path
) -> None:
    saved = long_conversation(40, MemoryStrategy.SUMMARY)
    ConversationStore(data_dir).save(saved)
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_saved(pilot, app, saved)
        app.query_one("#memory-select", Select).value = MemoryStrategy.WINDOW
        await wait_until(pilot, lambda: app.chat.conversation.memory is MemoryStrategy.WINDOW)
        request = await send_checked(pilot, app, fake_ollama, "latest question")

        assert summary_calls(fake_ollama) == []
        assert len(request["messages"]) < 40
        marker = app.query_one(MemoryMarker)
        for _ in range(10):  # the marker shows once the user scrolls up to where memory begins
            if marker.display:
                break
            await app.chat.message_list.load_earlier()
            await pilot.pause()
        assert "no longer fit" in str(marker.render())
    assert ConversationStore(data_dir).load(saved.id).memory is MemoryStrategy.WINDOW


async def test_full_memory_warns_before_sending_and_offers_the_others(
    fake_ollama: FakeOllama, build_app: MakeApp, data_dir: Path
) -> None:
    saved = long_conversation(40, MemoryStrategy.FULL)
    ConversationStore(data_dir).save(saved)
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_saved(pilot, app, saved)
        await send(pilot, app, "one more")
        await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen))
        assert chat_streams(fake_ollama) == []  # nothing sent before the user decides
        await pilot.press(*"window", "enter")
        await settle(pilot, app)

        assert app.chat.conversation.memory is MemoryStrategy.WINDOW
        assert app.chat.conversation.messages[-2].content == "one more"
        request = chat_streams(fake_ollama)[-1]
        assert request["messages"][-1]["content"] == "one more"
        assert len(request["messages"]) < 40

        app.chat.conversation.memory = MemoryStrategy.FULL
        await send(pilot, app, "everything please")
        await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press(*"anyway", "enter")
        await settle(pilot, app)
        request = chat_streams(fake_ollama)[-1]
        # The system prompt and every turn but the new reply.
        assert len(request["messages"]) == len(app.chat.conversation.history_messages())


async def test_a_failed_summary_falls_back_to_the_window(
    fake_ollama: FakeOllama, build_app: MakeApp, data_dir: Path
) -> None:
    saved = long_conversation(40, MemoryStrategy.SUMMARY)
    ConversationStore(data_dir).save(saved)
    fake_ollama.queue_reply(status=500, error="model runner has unexpectedly stopped")
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await open_saved(pilot, app, saved)
        request = await send_checked(pilot, app, fake_ollama, "question")

        assert len(summary_calls(fake_ollama)) == 1
        assert len(request["messages"]) < 40
        assert not any(m["content"].startswith(SUMMARY_PREFIX) for m in request["messages"])
        assert any("Could not summarise" in n.message for n in app._notifications)
        assert app.chat.conversation.messages[-1].state is MessageState.COMPLETE
        assert app.chat.conversation.summary is None


async def test_switching_model_rebudgets_against_its_own_maximum(
    build_app: MakeApp, data_dir: Path
) -> None:
    tiny = replace(DEFAULT_MODELS[0], name="tiny:latest", context_length=2048)
    saved = long_conversation(40, MemoryStrategy.WINDOW)
    saved.options = Options(num_ctx=16384)
    ConversationStore(data_dir).save(saved)
    with FakeOllama(models=(*DEFAULT_MODELS, tiny), token_delay=0.0005) as server:
        app = build_app(server.url)
        async with app.run_test(size=(120, 40)) as pilot:
            await open_saved(pilot, app, saved)
            await send(pilot, app, "with the big model")
            await settle(pilot, app)
            big = chat_streams(server)[-1]
            assert big["options"]["num_ctx"] == 16384
            assert len(big["messages"]) == 82  # system prompt + 80 + the new one: all fit in 16k

            app.chat.conversation.model = "tiny:latest"
            await send(pilot, app, "with the tiny one")
            await settle(pilot, app)
            small = chat_streams(server)[-1]
            assert small["model"] == "tiny:latest"
            assert small["options"]["num_ctx"] == 2048
            assert len(small["messages"]) < 40
            assert small["messages"][-1]["content"] == "with the tiny one"
