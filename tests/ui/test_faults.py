"""Server faults, produced for real by the fake Ollama: the app says what happened in one line,
stays usable, and keeps every word on disk."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Markdown

from ollama_tui.chat.conversation import MessageState
from ollama_tui.ui.app import OllamaTUI
from ollama_tui.ui.widgets.message_view import MessageView
from ollama_tui.ui.widgets.status_bar import Connection
from tests.fake_ollama import FakeOllama
from tests.ui.conftest import MakeApp, connected, notices, on_disk, send, settle, wait_until


def header_of(app: OllamaTUI, index: int = -1) -> str:
    view = app.chat.message_list.view_of(app.chat.conversation.messages[index])
    assert view is not None
    return str(view.header())


async def test_unsent_while_unreachable_then_reconnects_and_retries(
    unused_url: str, build_app: MakeApp, data_dir: Path
) -> None:
    port = int(unused_url.rsplit(":", 1)[1])
    app = build_app(unused_url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await wait_until(pilot, lambda: app.chat.status.connection is Connection.UNREACHABLE)
        await send(pilot, app, "hello, anyone?")
        await settle(pilot, app)

        (message,) = app.chat.conversation.messages
        assert message.state is MessageState.UNSENT
        assert "not sent" in header_of(app)
        assert any(n.startswith("Not sent: cannot reach Ollama") for n in notices(app))
        assert on_disk(data_dir).messages[0].state is MessageState.UNSENT

        with FakeOllama(port=port) as server:
            await wait_until(pilot, lambda: app.chat.status.connection is Connection.CONNECTED, 20)
            await wait_until(pilot, lambda: any("F5 sends" in n for n in notices(app)))
            await pilot.press("f5")
            await settle(pilot, app)

            user, reply = app.chat.conversation.messages
            assert user.state is MessageState.COMPLETE and user.error is None
            assert reply.state is MessageState.COMPLETE
            assert "hello, anyone?" in reply.content
            assert server.chat_requests()[-1]["messages"] == [
                {"role": "user", "content": "hello, anyone?"}
            ]
    assert [m.state for m in on_disk(data_dir).messages] == [MessageState.COMPLETE] * 2


async def test_server_dies_mid_reply_then_regenerate(
    fake_ollama: FakeOllama, build_app: MakeApp, data_dir: Path
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await connected(pilot, app)
        release = fake_ollama.hold(8)
        await send(pilot, app, "tell me everything")
        reply = app.chat.conversation.messages[-1]
        view = app.chat.message_list.view_of(reply)
        assert view is not None
        await wait_until(pilot, lambda: bool(view.query_one(Markdown).source))

        fake_ollama.stop()
        release.set()
        await settle(pilot, app)

        assert reply.state is MessageState.INTERRUPTED
        assert reply.content and "dropped" in (reply.error or "")
        assert "interrupted" in header_of(app)
        assert app.is_running
        saved_reply = on_disk(data_dir).messages[-1]
        assert saved_reply.state is MessageState.INTERRUPTED
        assert saved_reply.content == reply.content

        fake_ollama.start()
        await wait_until(pilot, lambda: app.chat.status.connection is Connection.CONNECTED, 20)
        await pilot.press("f5")
        await settle(pilot, app)

        new_reply = app.chat.conversation.messages[-1]
        assert new_reply.state is MessageState.COMPLETE
        assert [v.content for v in new_reply.versions] == [reply.content]
        assert len(app.chat.conversation.messages) == 2
        assert len(app.query(MessageView)) == 2
        # The interrupted text is kept as a version, not sent as history.
        assert fake_ollama.chat_requests()[-1]["messages"] == [
            {"role": "user", "content": "tell me everything"}
        ]
    assert on_disk(data_dir).messages[-1].versions[0].content == reply.content


@pytest.mark.parametrize(
    ("fault", "state", "error_part"),
    [
        ("error", MessageState.FAILED, "unexpected EOF"),
        ("nodone", MessageState.INTERRUPTED, "without"),
        ("malformed", MessageState.INTERRUPTED, "not JSON"),
        ("drop", MessageState.INTERRUPTED, "dropped"),
    ],
)
async def test_broken_streams_keep_the_partial_reply(
    fake_ollama: FakeOllama,
    build_app: MakeApp,
    data_dir: Path,
    fault: str,
    state: MessageState,
    error_part: str,
) -> None:
    fake_ollama.queue_reply(fault=fault, fault_after=10)
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "go")
        await settle(pilot, app)

        reply = app.chat.conversation.messages[-1]
        assert reply.state is state
        assert error_part in (reply.error or "")
        assert len(reply.content) > 10
        failures = [n for n in notices(app) if error_part in n]
        assert failures and all("\n" not in n for n in failures)
        assert app.is_running
        await send(pilot, app, "still there?")
        await settle(pilot, app)
        assert app.chat.conversation.messages[-1].state is MessageState.COMPLETE
    assert on_disk(data_dir).messages[1].content == reply.content


@pytest.mark.parametrize("fault", ["huge_line", "split_utf8", "text_in_done"])
async def test_awkward_but_valid_streams_arrive_whole(
    fake_ollama: FakeOllama, build_app: MakeApp, fault: str
) -> None:
    fake_ollama.queue_reply("Grüße aus Köln — 東京 🚀 " * 40, fault=fault)
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "go")
        await settle(pilot, app)

        reply = app.chat.conversation.messages[-1]
        assert reply.state is MessageState.COMPLETE
        if fault == "huge_line":
            assert len(reply.content) >= 1024 * 1024
        else:
            assert reply.content == "Grüße aus Köln — 東京 🚀 " * 40
        view = app.chat.message_list.view_of(reply)
        assert view is not None
        await wait_until(pilot, lambda: view.query_one(Markdown).source == reply.content)


@pytest.mark.parametrize(
    ("status", "error", "expected"),
    [
        (400, "invalid model name", "rejected the request (400): invalid model name"),
        (500, "model runner has unexpectedly stopped", "(500)"),
    ],
)
async def test_http_errors_fail_with_one_line(
    fake_ollama: FakeOllama, build_app: MakeApp, status: int, error: str, expected: str
) -> None:
    fake_ollama.queue_reply(status=status, error=error)
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "go")
        await settle(pilot, app)
        reply = app.chat.conversation.messages[-1]
        assert reply.state is MessageState.FAILED
        assert expected in (reply.error or "")
        assert any(expected in n and "\n" not in n for n in notices(app))


async def test_busy_server_is_retried_visibly_then_answers(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    busy = "server busy, please try again.  maximum pending requests exceeded"
    for _ in range(2):
        fake_ollama.queue_reply(status=503, error=busy)
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "go")
        await wait_until(pilot, lambda: "busy; retry 1 of 3" in header_of(app))
        await settle(pilot, app)
        assert app.chat.conversation.messages[-1].state is MessageState.COMPLETE
        assert len(fake_ollama.chat_requests()) == 3


async def test_busy_server_given_up_after_the_retries(
    fake_ollama: FakeOllama, build_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ollama_tui.session.reply.BUSY_RETRY_DELAYS", (0.1, 0.1, 0.1))
    for _ in range(4):
        fake_ollama.queue_reply(status=503, error="server busy, please try again.")
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "go")
        await settle(pilot, app)
        reply = app.chat.conversation.messages[-1]
        assert reply.state is MessageState.FAILED
        assert "busy" in (reply.error or "")
        assert len(fake_ollama.chat_requests()) == 4


async def test_stall_between_tokens_is_reported(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    fake_ollama.queue_reply(fault="stall", fault_after=5)
    app = build_app(fake_ollama.url, stall_timeout=0.5)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "go")
        await settle(pilot, app)
        reply = app.chat.conversation.messages[-1]
        assert reply.state is MessageState.INTERRUPTED
        assert "no data from Ollama" in (reply.error or "")
        assert reply.content


async def test_escape_stops_at_once_while_no_bytes_arrive(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    fake_ollama.queue_reply(fault="stall", fault_after=5)
    app = build_app(fake_ollama.url)  # the default stall limit is a minute
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "go")
        reply = app.chat.conversation.messages[-1]
        view = app.chat.message_list.view_of(reply)
        assert view is not None
        await wait_until(pilot, lambda: bool(view.query_one(Markdown).source))
        await pilot.press("escape")
        # Far sooner than the minute of the stall limit, with room for a loaded machine.
        await wait_until(pilot, lambda: app.chat.replies_in_progress == 0, timeout=10)
        assert reply.state is MessageState.CANCELLED
        await fake_ollama.wait_until_async(lambda: fake_ollama.streams_cancelled >= 1)


async def test_slow_first_token_shows_loading_and_is_not_a_timeout(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    fake_ollama.load_delay = 1.5
    app = build_app(fake_ollama.url, stall_timeout=0.5)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "go")
        await pilot.pause(0.6)
        assert "loading it can take a minute" in header_of(app)
        await settle(pilot, app)
        assert app.chat.conversation.messages[-1].state is MessageState.COMPLETE
