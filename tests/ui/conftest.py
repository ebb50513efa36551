"""Helpers for driving the real app with Pilot against the fake Ollama server."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.command import Command, CommandList, CommandPalette
from textual.pilot import Pilot
from textual.widgets import Static

from ollama_tui.chat.conversation import Conversation
from ollama_tui.chat.store import ConversationStore
from ollama_tui.cli import make_app
from ollama_tui.config import Settings, load_settings
from ollama_tui.ui.app import OllamaTUI
from ollama_tui.ui.widgets import sidebar
from ollama_tui.ui.widgets.message_view import MessageView

# Message headers and the sidebar show local times; pin the zone so screens are reproducible.
os.environ["TZ"] = "UTC"
time.tzset()

MakeApp = Callable[..., OllamaTUI]


@pytest.fixture
def list_clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """The conversation list's "now", fixed: the dates it shows ("Jan 2", "2025-10-30") depend
    on the current day and year, which a snapshot must not."""
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    monkeypatch.setattr(sidebar, "local_now", lambda: now)
    return now


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return tmp_path / "config" / "config.toml"


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "state.toml"


@pytest.fixture
def make_settings(data_dir: Path, config_path: Path, state_path: Path) -> Callable[..., Settings]:
    """Settings as the CLI builds them, isolated in a temp folder."""

    def build(host: str, model: str | None = "llama3.2:latest") -> Settings:
        return load_settings(
            config_path=config_path if config_path.exists() else None,
            environ={},
            host=host,
            model=model,
            data_dir=data_dir,
            state_path=state_path,
        )

    return build


@pytest.fixture
def build_app(make_settings: Callable[..., Settings], config_path: Path) -> MakeApp:
    """The app exactly as `ollama-tui` builds it, its config and state in a temp folder."""

    def build(host: str, model: str | None = "llama3.2:latest", **overrides: object) -> OllamaTUI:
        settings = make_settings(host, model)
        settings.config_path = config_path
        for name, value in overrides.items():
            setattr(settings, name, value)
        app = make_app(settings)
        assert isinstance(app, OllamaTUI)
        return app

    return build


async def wait_until(
    pilot: Pilot[None], predicate: Callable[[], bool], timeout: float = 10.0
) -> None:
    """Poll `predicate` between pauses until it holds; fail with a clear message on timeout."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await pilot.pause(0.02)


async def settle(pilot: Pilot[None], app: OllamaTUI) -> None:
    """Wait until no reply is streaming and the screen has caught up."""
    await wait_until(pilot, lambda: app.chat.replies_in_progress == 0)
    await pilot.pause()


async def send(pilot: Pilot[None], app: OllamaTUI, text: str) -> None:
    """Type a message into the prompt and press Enter."""
    app.chat.prompt.focus()
    app.chat.prompt.text = text
    await pilot.press("enter")


async def run_command(pilot: Pilot[None], app: OllamaTUI, name: str) -> None:
    """Run the palette command whose name begins with `name`, typed into the palette, as soon
    as the palette shows it highlighted (it gathers its hits in a worker)."""
    await pilot.press("ctrl+p")
    await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
    await pilot.press(*name)
    hits = app.screen.query_one(CommandList)

    def highlighted() -> bool:
        if hits.highlighted is None:
            return False
        option = hits.get_option_at_index(hits.highlighted)
        return isinstance(option, Command) and str(option.hit.text).startswith(name)

    await wait_until(pilot, highlighted)
    await pilot.press("enter")


async def connected(pilot: Pilot[None], app: OllamaTUI) -> None:
    from ollama_tui.ui.widgets.status_bar import Connection

    await wait_until(pilot, lambda: app.chat.status.connection is Connection.CONNECTED)
    await wait_until(pilot, lambda: bool(app.session.models.listed))


def last_view(app: OllamaTUI) -> MessageView:
    """The view of the conversation's last message."""
    view = app.chat.message_list.view_of(app.chat.conversation.messages[-1])
    assert view is not None
    return view


async def writing_header(pilot: Pilot[None], app: OllamaTUI) -> Static:
    """The last reply's header, once it says the reply is being written."""
    header = last_view(app).query_one(".message-header", Static)
    await wait_until(pilot, lambda: "writing" in str(header.content))
    return header


def notices(app: OllamaTUI) -> list[str]:
    """The text of every notification shown so far, oldest first."""
    return [notification.message for notification in app._notifications]


def on_disk(data_dir: Path) -> Conversation:
    """The one conversation saved in `data_dir`, as a fresh store reads it."""
    store = ConversationStore(data_dir)
    (summary,) = store.list()
    return store.load(summary.id)
