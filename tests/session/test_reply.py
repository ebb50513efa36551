"""One reply run with no screen at all: the events it reports for each way a reply can go,
against the fake Ollama on a real loopback socket."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from itertools import groupby
from pathlib import Path

import pytest

from ollama_tui.chat.conversation import Conversation, MemoryStrategy, MessageState, Options
from ollama_tui.chat.store import ConversationStore
from ollama_tui.session import Notice, Session
from ollama_tui.session.reply import (
    Activity,
    ContentAdded,
    Finished,
    Note,
    ReplyEvent,
    ReplyRun,
)
from tests.fake_ollama import FakeOllama, tokenize
from tests.session.conftest import settings_for

MODEL = "llama3.2:latest"


def start(session: Session, text: str, conversation: Conversation | None = None) -> ReplyRun:
    conversation = conversation or session.library.new_conversation()
    conversation.add_user_message(text)
    return ReplyRun(session, conversation, conversation.start_reply())


async def run_to_end(run: ReplyRun) -> list[ReplyEvent]:
    events: list[ReplyEvent] = []
    await run.run(events.append)
    return events


def kinds(events: list[ReplyEvent]) -> list[str]:
    """The event types in order, a run of the same type counted once."""
    return [name for name, _ in groupby(type(event).__name__ for event in events)]


def streamed(events: list[ReplyEvent]) -> str:
    return "".join(event.text for event in events if isinstance(event, ContentAdded))


async def poll(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_a_reply_streams_completes_and_is_saved(session: Session, tmp_path: Path) -> None:
    run = start(session, "Hello")
    events = await run_to_end(run)

    assert events[:2] == [Activity(f"waiting for {MODEL}…"), Activity(f"{MODEL} is answering…")]
    assert kinds(events) == ["Activity", "ContentAdded", "Finished"]
    assert events[-1] == Finished(MessageState.COMPLETE)
    reply = run.reply
    assert reply.state is MessageState.COMPLETE and reply.content == streamed(events)
    assert "Hello" in reply.content and reply.stats["eval_count"] > 0
    assert run.conversation.host == session.hosts.current.name
    saved = ConversationStore(tmp_path / "data").load(run.conversation.id)
    assert saved.messages[-1].content == reply.content


async def test_a_fault_in_drawing_the_reply_loses_none_of_it(
    session: Session, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    """A bug in whatever shows the reply (its last words, or a batch mid-stream) must not cost
    the reply: what arrived is saved before the fault goes on up."""
    store = ConversationStore(tmp_path / "data")

    async def arrived_fails() -> None:
        raise RuntimeError("drawing failed")

    run = start(session, "Hello")
    events: list[ReplyEvent] = []
    with pytest.raises(RuntimeError):
        await run.run(events.append, arrived_fails)
    assert run.reply.state is MessageState.COMPLETE
    assert "Hello" in run.reply.content
    assert store.load(run.conversation.id).messages[-1].content == streamed(events)

    fake_ollama.queue_reply("one two three four five six seven eight")
    fake_ollama.token_delay = 0.01
    run = start(session, "Again")
    drawn: list[ReplyEvent] = []

    def draw_fails_mid_stream(event: ReplyEvent) -> None:
        drawn.append(event)
        if len(streamed(drawn)) > 8:
            raise RuntimeError("drawing failed")

    with pytest.raises(RuntimeError):
        await run.run(draw_fails_mid_stream)
    saved = store.load(run.conversation.id).messages[-1]
    assert saved.content == run.reply.content == "one two three four five six seven eight"


async def test_stopping_keeps_what_arrived(session: Session, fake_ollama: FakeOllama) -> None:
    release = fake_ollama.hold(n=5)
    run = start(session, "Hello")
    events: list[ReplyEvent] = []
    task = asyncio.create_task(run.run(events.append))
    await poll(lambda: len(run.content) == 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    release.set()

    assert kinds(events) == ["Activity", "ContentAdded", "Finished"]
    assert events[-1] == Finished(MessageState.CANCELLED)
    assert run.reply.state is MessageState.CANCELLED
    assert run.reply.content == streamed(events) != ""


@pytest.mark.parametrize(
    ("fault", "state", "error_part"),
    [
        ("error", MessageState.FAILED, "unexpected EOF"),
        ("drop", MessageState.INTERRUPTED, "dropped"),
        ("malformed", MessageState.INTERRUPTED, "not JSON"),
    ],
)
async def test_a_broken_stream_ends_the_reply_with_its_reason(
    session: Session, fake_ollama: FakeOllama, fault: str, state: MessageState, error_part: str
) -> None:
    fake_ollama.queue_reply(fault=fault, fault_after=10)
    run = start(session, "go")
    events = await run_to_end(run)

    assert kinds(events) == ["Activity", "ContentAdded", "Finished"]
    finished = events[-1]
    assert isinstance(finished, Finished) and finished.state is state
    assert error_part in (finished.error or "")
    assert run.reply.state is state and run.reply.error == finished.error
    assert run.reply.content == streamed(events) != ""


async def test_a_stall_interrupts_the_reply(
    fake_ollama: FakeOllama, tmp_path: Path, notices: list[Notice]
) -> None:
    fake_ollama.queue_reply(fault="stall", fault_after=5)
    session = Session.open(
        settings_for(fake_ollama.url, tmp_path, stall_timeout=0.5), notices.append
    )
    try:
        run = start(session, "go")
        events = await run_to_end(run)
    finally:
        await session.close()

    assert kinds(events) == ["Activity", "ContentAdded", "Finished"]
    finished = events[-1]
    assert isinstance(finished, Finished) and finished.state is MessageState.INTERRUPTED
    assert "no data from Ollama" in (finished.error or "")
    assert run.reply.content == streamed(events) != ""


async def test_an_unknown_model_fails_without_text(session: Session) -> None:
    conversation = session.library.new_conversation()
    conversation.set_model("nosuch")
    run = start(session, "Hello", conversation)
    events = await run_to_end(run)

    assert kinds(events) == ["Activity", "Finished"]
    finished = events[-1]
    assert isinstance(finished, Finished) and finished.state is MessageState.FAILED
    assert "model 'nosuch' not found" in (finished.error or "")
    assert run.reply.content == ""


async def test_an_unreachable_server_leaves_the_message_unsent(
    unused_url: str, tmp_path: Path, notices: list[Notice]
) -> None:
    session = Session.open(settings_for(unused_url, tmp_path), notices.append)
    try:
        run = start(session, "Hello")
        events = await run_to_end(run)
    finally:
        await session.close()

    assert kinds(events) == ["Activity", "Finished"]
    finished = events[-1]
    assert isinstance(finished, Finished) and finished.state is MessageState.UNSENT
    messages = run.conversation.messages
    assert [m.content for m in messages] == ["Hello"]  # the empty reply is gone
    assert messages[0].state is MessageState.UNSENT and messages[0].error == finished.error
    saved = ConversationStore(tmp_path / "data").load(run.conversation.id)
    assert saved.messages[-1].state is MessageState.UNSENT


async def test_a_busy_server_is_retried_visibly(
    session: Session, fake_ollama: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ollama_tui.session.reply.BUSY_RETRY_DELAYS", (0.05, 0.05, 0.05))
    fake_ollama.queue_reply(status=503, error="server busy, please try again.")
    run = start(session, "go")
    events = await run_to_end(run)

    assert kinds(events) == ["Activity", "Note", "Activity", "ContentAdded", "Finished"]
    assert [e for e in events if isinstance(e, Note)] == [
        Note("Ollama is busy; retry 1 of 3 in 0.05 s…"),
        Note(""),
    ]
    assert events[-1] == Finished(MessageState.COMPLETE)
    assert len(fake_ollama.chat_requests()) == 2


def forty_turns_about_rivers() -> Conversation:
    """A conversation under summary memory too long for its 2,048-token window."""
    conversation = Conversation(
        model=MODEL, options=Options(num_ctx=2048), memory=MemoryStrategy.SUMMARY
    )
    for turn in range(40):
        conversation.add_user_message(f"Question {turn}: " + "tell me about rivers " * 12)
        reply = conversation.start_reply()
        reply.fill(f"Answer {turn}: " + "rivers flow to the sea " * 14, "")
        reply.end(MessageState.COMPLETE)
    return conversation


async def test_a_summary_round_comes_before_the_reply(
    session: Session, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    fake_ollama.token_delay = 0.0005  # the fake quotes whole transcripts back when summarising
    conversation = forty_turns_about_rivers()
    run = start(session, "What did we say about rivers?", conversation)
    events = await run_to_end(run)

    notes = [e for e in events if isinstance(e, Note)]
    assert notes and notes[0].text.startswith("summarising ") and notes[-1] == Note("")
    assert kinds(events)[:3] == ["Activity", "Note", "Activity"]
    assert kinds(events)[-2:] == ["ContentAdded", "Finished"]
    assert events[-1] == Finished(MessageState.COMPLETE)
    summary = conversation.summary
    assert summary is not None and summary.covered_count > 10
    summaries = [r for r in fake_ollama.chat_requests() if r.get("stream") is False]
    assert summaries and all(r["options"]["num_ctx"] == 2048 for r in summaries)
    assert all(0 < r["options"]["num_predict"] < 2048 for r in summaries)
    saved = ConversationStore(tmp_path / "data").load(conversation.id)
    assert saved.summary is not None and saved.summary.text == summary.text


async def test_a_summary_longer_than_asked_is_cut_to_its_budget_before_it_is_used(
    session: Session, fake_ollama: FakeOllama
) -> None:
    """Ollama stops a summary at num_predict of its own tokens; in Japanese each of those
    counts for more than one by the app's estimate, so what arrives is still too long."""
    fake_ollama.token_delay = 0.0005
    conversation = forty_turns_about_rivers()
    for _ in range(10):  # a summariser that writes on and on
        fake_ollama.queue_reply("川は 海へ 流れ ます。 " * 400)
    run = start(session, "What did we say about rivers?", conversation)
    events = await run_to_end(run)

    assert events[-1] == Finished(MessageState.COMPLETE)
    summaries = [r for r in fake_ollama.chat_requests() if r.get("stream") is False]
    assert summaries and all(
        r["options"]["num_predict"] == run.plan.summary_tokens for r in summaries
    )
    summary = conversation.summary
    assert summary is not None
    assert run.plan.estimator.message_tokens(summary.text) <= run.plan.summary_tokens + 4
    assert summary.text.endswith(" …")  # cut by the app, not short by chance


async def test_text_read_in_one_burst_reaches_the_screen_as_one_event(
    session: Session, fake_ollama: FakeOllama
) -> None:
    """Lines that arrive together (here: network chunks of ~200 bytes, each completing one or
    two lines of ~110) reach the screen as one ContentAdded, since nothing waits between
    them; no text is lost or reordered."""
    text = "".join(f" word{index}" for index in range(500))
    fake_ollama.token_delay = 0
    fake_ollama.queue_reply(text, fault="split_utf8", fault_after=0)
    run = start(session, "go")
    events = await run_to_end(run)

    added = [event for event in events if isinstance(event, ContentAdded)]
    assert "".join(event.text for event in added) == run.reply.content == text
    assert len(added) < 0.75 * len(tokenize(text))
