"""Pools of hosts with no screen: which fake server gets each reply under each strategy,
failover before the first token, no retry elsewhere after it, the status notes, the host each
reply records, and a host that comes back. Two or three fake servers run at once."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from ollama_tui.chat.conversation import MessageState, Options
from ollama_tui.config import HostSettings, PoolSettings
from ollama_tui.ollama.client import OllamaClient
from ollama_tui.session import Session
from ollama_tui.session.reply import Activity, Finished, Note, ReplyEvent
from tests.fake_ollama import DEFAULT_MODELS, FakeOllama
from tests.session.conftest import settings_for
from tests.session.test_reply import poll, run_to_end, start

MODEL = "llama3.2:latest"
WITHOUT_MODEL = [model for model in DEFAULT_MODELS if model.name != MODEL]


@pytest.fixture
def servers() -> Callable[..., list[FakeOllama]]:
    """Start fake servers (each argument a dict of FakeOllama keywords); stopped after."""
    started: list[FakeOllama] = []

    def start_all(*configs: dict[str, object]) -> list[FakeOllama]:
        for config in configs:
            started.append(FakeOllama(**config).start())  # type: ignore[arg-type]
        return started[-len(configs) :]

    yield start_all  # type: ignore[misc]
    for server in started:
        server.stop()


@contextlib.asynccontextmanager
async def pool_session(tmp_path: Path, strategy: str, **urls: str) -> AsyncIterator[Session]:
    """A session whose default host is the pool "office" of the named hosts, in order."""
    hosts = {name: HostSettings(name=name, url=url) for name, url in urls.items()}
    settings = settings_for(
        "http://127.0.0.1:1",
        tmp_path,
        hosts=hosts,
        pools={"office": PoolSettings("office", list(urls), strategy)},
        default_host="office",
        connect_timeout=1.0,
    )
    session = Session.open(settings, lambda notice: None)
    try:
        yield session
    finally:
        await session.close()


def replies_on(server: FakeOllama) -> int:
    """Chat requests that asked for a reply (not a model load)."""
    return sum(1 for body in server.chat_requests() if body.get("messages"))


async def warm(server: FakeOllama, model: str = MODEL) -> None:
    """Load `model` on the server as Ollama does: a chat with no messages."""
    async with OllamaClient(server.url) as client:
        async for _ in client.chat(model, []):
            pass


def activities(events: list[ReplyEvent]) -> list[str]:
    return [event.text for event in events if isinstance(event, Activity)]


async def test_priority_takes_the_first_host_and_records_it(
    servers: Callable[..., list[FakeOllama]], tmp_path: Path
) -> None:
    first, second = servers({}, {})
    async with pool_session(tmp_path, "priority", gpu=first.url, laptop=second.url) as session:
        run = start(session, "Hello")
        events = await run_to_end(run)

    assert events[-1] == Finished(MessageState.COMPLETE)
    assert (replies_on(first), replies_on(second)) == (1, 0)
    assert run.reply.host == "gpu"
    assert run.conversation.host == "office"  # the conversation remembers the pool
    assert activities(events)[0] == f"waiting for {MODEL}…"  # no hand-over, no note


async def test_only_hosts_that_have_the_model_are_candidates(
    servers: Callable[..., list[FakeOllama]], tmp_path: Path
) -> None:
    without, having = servers({"models": WITHOUT_MODEL}, {})
    async with pool_session(tmp_path, "priority", gpu=without.url, laptop=having.url) as session:
        run = start(session, "Hello")
        await run_to_end(run)
        assert (replies_on(without), replies_on(having)) == (0, 1)
        assert run.reply.host == "laptop"

        session.models.forget_list()
        assert await session.models.refresh()
        chat_models = session.models.chat_models()
        assert MODEL in chat_models and WITHOUT_MODEL[0].name in chat_models
        assert session.models.where[MODEL] == ["laptop"]
        assert session.models.where[WITHOUT_MODEL[0].name] == ["gpu", "laptop"]


async def test_warm_first_prefers_the_host_with_the_model_loaded(
    servers: Callable[..., list[FakeOllama]], tmp_path: Path
) -> None:
    cold, loaded = servers({}, {})
    await warm(loaded)
    async with pool_session(tmp_path, "warm-first", gpu=cold.url, laptop=loaded.url) as session:
        run = start(session, "Hello")
        await run_to_end(run)
    assert (replies_on(cold), replies_on(loaded)) == (0, 1)
    assert run.reply.host == "laptop"


async def test_warm_first_without_a_warm_host_keeps_the_order(
    servers: Callable[..., list[FakeOllama]], tmp_path: Path
) -> None:
    first, second = servers({}, {})
    async with pool_session(tmp_path, "warm-first", gpu=first.url, laptop=second.url) as session:
        await run_to_end(start(session, "Hello"))
    assert (replies_on(first), replies_on(second)) == (1, 0)


async def test_least_busy_spreads_replies_in_flight_then_prefers_warm(
    servers: Callable[..., list[FakeOllama]], tmp_path: Path
) -> None:
    first, second, third = servers({}, {}, {})
    await warm(third)
    urls = {"a": first.url, "b": second.url, "c": third.url}
    async with pool_session(tmp_path, "least-busy", **urls) as session:
        release = third.hold(n=2)
        held = start(session, "one")
        task = asyncio.create_task(run_to_end(held))
        await poll(lambda: len(held.content) == 2)
        assert held.reply.host == "c"  # all idle: the warm one

        run = start(session, "two")
        await run_to_end(run)
        assert run.reply.host == "a"  # c is busy with one reply; a and b are cold: order
        release.set()
        await task
    assert [replies_on(server) for server in (first, second, third)] == [1, 0, 1]


async def test_an_unreachable_host_is_skipped_with_a_note(
    servers: Callable[..., list[FakeOllama]], tmp_path: Path, unused_url: str
) -> None:
    (laptop,) = servers({})
    async with pool_session(tmp_path, "priority", gpu=unused_url, laptop=laptop.url) as session:
        run = start(session, "Hello")
        events = await run_to_end(run)
        assert session.hosts.is_down(session.settings.hosts["gpu"])

    assert events[-1] == Finished(MessageState.COMPLETE)
    assert run.reply.host == "laptop" and replies_on(laptop) == 1
    assert activities(events)[:3] == [
        f"waiting for {MODEL}…",
        f"gpu unreachable → laptop · waiting for {MODEL}…",
        f"gpu unreachable → laptop · {MODEL} is answering…",
    ]


async def test_busy_or_failing_before_the_first_token_hands_over_at_once(
    servers: Callable[..., list[FakeOllama]], tmp_path: Path, unused_url: str
) -> None:
    busy, failing, working = servers({}, {}, {})
    busy.queue_reply(status=503)
    failing.queue_reply(status=500)
    urls = {"down": unused_url, "busy": busy.url, "failing": failing.url, "ok": working.url}
    async with pool_session(tmp_path, "priority", **urls) as session:
        run = start(session, "Hello")
        events = await run_to_end(run)

    assert events[-1] == Finished(MessageState.COMPLETE)
    assert [replies_on(s) for s in (busy, failing, working)] == [1, 1, 1]
    assert run.reply.host == "ok"
    note = "down unreachable → busy busy → failing failed (500) → ok"
    assert activities(events)[-1] == f"{note} · {MODEL} is answering…"
    # No busy retry (and its wait) while another host is free: each host was asked once.
    assert not [event for event in events if isinstance(event, Note) and event.text]


@pytest.mark.parametrize("strategy", ["priority", "warm-first", "least-busy"])
async def test_down_without_the_model_busy_and_loaded_hosts_at_once(
    servers: Callable[..., list[FakeOllama]], tmp_path: Path, unused_url: str, strategy: str
) -> None:
    without, busy, loaded = servers({"models": WITHOUT_MODEL}, {}, {})
    await warm(loaded)
    busy.queue_reply(status=503)
    urls = {"down": unused_url, "without": without.url, "busy": busy.url, "loaded": loaded.url}
    async with pool_session(tmp_path, strategy, **urls) as session:
        run = start(session, "Hello")
        events = await run_to_end(run)

    assert events[-1] == Finished(MessageState.COMPLETE)
    assert run.reply.host == "loaded" and replies_on(without) == 0
    if strategy == "priority":  # the loaded host comes last in the order: the others first
        assert replies_on(busy) == 1
        assert run.route_note == "down unreachable → busy busy → loaded"
    else:  # warm first (least-busy: all idle, then warm): straight to the loaded host
        assert replies_on(busy) == 0
        assert run.route_note == "down unreachable → loaded"  # a host before it is down


async def test_the_last_candidate_busy_is_retried_as_a_single_host_is(
    servers: Callable[..., list[FakeOllama]], tmp_path: Path
) -> None:
    first, second = servers({}, {})
    first.queue_reply(status=503)
    second.queue_reply(status=503)
    async with pool_session(tmp_path, "priority", gpu=first.url, laptop=second.url) as session:
        run = start(session, "Hello")
        events = await run_to_end(run)
    assert events[-1] == Finished(MessageState.COMPLETE)
    assert (replies_on(first), replies_on(second)) == (1, 2)  # one retry on the laptop


async def test_a_reply_broken_mid_stream_is_not_retried_elsewhere(
    servers: Callable[..., list[FakeOllama]], tmp_path: Path
) -> None:
    first, second = servers({}, {})
    first.queue_reply(fault="drop", fault_after=3)
    async with pool_session(tmp_path, "priority", gpu=first.url, laptop=second.url) as session:
        run = start(session, "Hello")
        events = await run_to_end(run)
        assert events[-1].state is MessageState.INTERRUPTED  # type: ignore[union-attr]
        assert run.reply.content and run.reply.host == "gpu"
        assert (replies_on(first), replies_on(second)) == (1, 0)

        # Sending it again (F5) goes through the pool from the start.
        again = start(session, "Hello again", run.conversation)
        await run_to_end(again)
        assert again.reply.host == "gpu" and replies_on(first) == 2


async def test_no_host_answering_leaves_the_message_unsent(tmp_path: Path, unused_url: str) -> None:
    async with pool_session(tmp_path, "priority", gpu=unused_url, laptop=unused_url) as session:
        run = start(session, "Hello")
        events = await run_to_end(run)
    assert events[-1].state is MessageState.UNSENT  # type: ignore[union-attr]
    assert "pool office (no host answers: gpu, laptop)" in str(events[-1].error)  # type: ignore[union-attr]


async def test_a_model_on_no_host_fails_with_what_to_do(
    servers: Callable[..., list[FakeOllama]], tmp_path: Path, unused_url: str
) -> None:
    (without,) = servers({"models": WITHOUT_MODEL})
    async with pool_session(tmp_path, "priority", gpu=unused_url, laptop=without.url) as session:
        run = start(session, "Hello")
        events = await run_to_end(run)
    finished = events[-1]
    assert isinstance(finished, Finished) and finished.state is MessageState.FAILED
    assert finished.error == (
        f"model '{MODEL}' is on no host of pool office (laptop answered); "
        f"pull it on one with `ollama pull {MODEL}`, or pick another model"
    )


async def test_a_host_that_comes_back_is_used_again(
    servers: Callable[..., list[FakeOllama]], tmp_path: Path
) -> None:
    gpu, laptop = servers({}, {})
    async with pool_session(tmp_path, "priority", gpu=gpu.url, laptop=laptop.url) as session:
        hosts = session.hosts
        gpu.stop()
        reports: list[str | None] = []

        async def report(version: str | None) -> None:
            reports.append(version)

        watcher = asyncio.create_task(hosts.watch(report))
        await poll(lambda: hosts.is_down(session.settings.hosts["gpu"]))
        assert hosts.current.name == "laptop" and reports[-1] == "0.32.15"
        run = start(session, "while the gpu is off")
        await run_to_end(run)
        assert run.reply.host == "laptop" and run.route_note == "gpu unreachable → laptop"

        gpu.start()  # back on the same port; the watcher sees it within its backoff
        await poll(lambda: hosts.health.get("gpu") == "0.32.15", timeout=20)
        assert hosts.current.name == "gpu"
        run = start(session, "the gpu is back")
        await run_to_end(run)
        assert run.reply.host == "gpu" and run.route_note == ""
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


async def test_the_plan_uses_the_chosen_hosts_context_limit(
    servers: Callable[..., list[FakeOllama]], tmp_path: Path, unused_url: str
) -> None:
    small = [dataclasses.replace(m, context_length=4096) for m in DEFAULT_MODELS]
    (laptop,) = servers({"models": small})
    async with pool_session(tmp_path, "priority", gpu=unused_url, laptop=laptop.url) as session:
        conversation = session.library.new_conversation()
        conversation.set_options(Options(num_ctx=32768))
        await run_to_end(start(session, "Hello", conversation))
    (request,) = [body for body in laptop.chat_requests() if body.get("messages")]
    assert request["options"]["num_ctx"] == 4096
