"""The app on a data folder it cannot trust, and saves that fail before a switch or a quit."""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ollama_tui.chat import store as store_module
from ollama_tui.chat.conversation import Conversation
from ollama_tui.chat.migrations import SCHEMA_VERSION
from ollama_tui.chat.store import ConversationStore
from ollama_tui.cli import make_app
from ollama_tui.config import Settings
from ollama_tui.ui.screens.confirm import ConfirmScreen
from tests.fake_ollama import FakeOllama
from tests.ui.conftest import MakeApp, connected, notices, send, settle, wait_until
from tests.ui.test_security import HOSTILE, assert_inert, terminal_output


def refuse(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    raise OSError(errno.ENOSPC, "No space left on device", str(path))


async def test_a_data_folder_named_like_markup_is_shown_literally(
    unused_url: str, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(unused_url)
    settings.data_dir = tmp_path / "x[/]y[@click=app.quit]z"
    (settings.data_dir / "conversations").mkdir(parents=True)
    (settings.data_dir / "conversations" / "deadbeef.json").write_text("{")
    app = make_app(settings)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.pause()
        (notice,) = [n for n in notices(app) if "deadbeef" in n]
        assert str(settings.data_dir / "damaged") in notice
        assert app.is_running


async def test_a_read_only_folder_with_a_damaged_file_starts_and_leaves_it(
    unused_url: str, build_app: MakeApp, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (data_dir / "conversations").mkdir(parents=True)
    damaged = data_dir / "conversations" / "deadbeef.json"
    damaged.write_text('{"schema_version": 3, "id": "deadbeef", "options": {"num_ctx": 1e999}}')

    def read_only(source: object, target: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(os, "rename", read_only)
    app = build_app(unused_url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.pause()
        (notice,) = [n for n in notices(app) if "deadbeef" in n]
        assert "Read-only file system" in notice and "left where it is" in notice
    assert damaged.exists()


async def test_a_failed_save_is_saved_on_switch(
    fake_ollama: FakeOllama,
    build_app: MakeApp,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    other = Conversation(model="llama3.2:latest")
    other.add_user_message("another conversation")
    ConversationStore(data_dir).save(other)
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await connected(pilot, app)
        with monkeypatch.context() as patch:
            patch.setattr(store_module, "write_atomic", refuse)
            await send(pilot, app, "typed while the disk is full")
            await settle(pilot, app)
        unsaved_id = app.chat.conversation.id
        await app.chat.open(other.id)  # the disk has room again; nothing else changed
        assert app.chat.conversation.id == other.id
        saved = ConversationStore(data_dir).load(unsaved_id)
        assert saved.messages[0].content == "typed while the disk is full"


@pytest.mark.parametrize(
    ("answer", "saved"), [("n", True), ("y", False)], ids=["save again", "quit anyway"]
)
async def test_a_quit_that_cannot_save_asks_first(
    fake_ollama: FakeOllama,
    build_app: MakeApp,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
    saved: bool,
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await connected(pilot, app)
        monkeypatch.setattr(store_module, "write_atomic", refuse)
        await send(pilot, app, "typed while the disk is full")
        await settle(pilot, app)

        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("ctrl+q")  # asking again does not stack a second dialog
        assert len(app.screen_stack) == 2
        question = str(app.screen.query_one("#confirm-question").render())
        assert "typed while the disk is full" in question and "No space left" in question
        assert app.is_running

        if saved:
            monkeypatch.undo()  # the disk has room again
        await pilot.press(answer)
        await wait_until(pilot, lambda: not app.is_running)
    path = data_dir / "conversations" / f"{app.chat.conversation.id}.json"
    assert path.exists() is saved
    if saved:
        loaded = ConversationStore(data_dir).load(app.chat.conversation.id)
        assert loaded.messages[0].content == "typed while the disk is full"


async def test_a_file_made_unreadable_while_open_is_set_aside_with_a_notice(
    fake_ollama: FakeOllama, build_app: MakeApp, data_dir: Path
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "first")
        await settle(pilot, app)
        path = data_dir / "conversations" / f"{app.chat.conversation.id}.json"
        newer = json.loads(path.read_text()) | {"schema_version": SCHEMA_VERSION + 1}
        path.write_text(json.dumps(newer))

        await send(pilot, app, "second")
        await settle(pilot, app)
        (notice,) = [n for n in notices(app) if "newer ollama-tui" in n]
        assert "moved to" in notice
    (moved,) = (data_dir / "damaged").iterdir()
    assert json.loads(moved.read_text())["schema_version"] == SCHEMA_VERSION + 1


async def test_a_conversation_trashed_in_another_window_is_not_brought_back(
    fake_ollama: FakeOllama, build_app: MakeApp, data_dir: Path
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "first")
        await settle(pilot, app)
        ConversationStore(data_dir).delete(app.chat.conversation.id)

        await send(pilot, app, "second")
        await settle(pilot, app)
        assert len([n for n in notices(app) if "moved to the trash by another" in n]) == 1
    assert ConversationStore(data_dir).list() == []
    restored = ConversationStore(data_dir).restore(app.chat.conversation.id)
    assert [m.content for m in restored.messages][::2] == ["first", "second"]


async def test_a_locked_search_index_never_freezes_the_screen_and_is_caught_up_later(
    fake_ollama: FakeOllama, build_app: MakeApp, data_dir: Path
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "before the lock")
        await settle(pilot, app)
        await wait_until(pilot, lambda: bool(app.session.library.search_index.search("before")))

        holder = sqlite3.connect(data_dir / "search.sqlite3", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")  # another program writing to the index
        try:
            started = time.monotonic()
            await send(pilot, app, "zanzibar while locked")
            await settle(pilot, app)
            assert time.monotonic() - started < 3  # each save used to wait 5 s for the lock
            await wait_until(pilot, lambda: any("Search index" in n for n in notices(app)))
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        await wait_until(pilot, lambda: bool(app.session.library.search_index.search("zanzibar")))


async def test_a_conversation_file_full_of_escapes_is_inert_at_start_and_when_opened(
    fake_ollama: FakeOllama, build_app: MakeApp, data_dir: Path
) -> None:
    conversation = Conversation(model="llama3.2:latest")
    conversation.add_user_message("hello")
    ConversationStore(data_dir).save(conversation)
    path = data_dir / "conversations" / f"{conversation.id}.json"
    document = json.loads(path.read_text())
    for name in ("title", "model", "system_prompt", "host", "keep_alive"):
        document[name] = f"{name} {HOSTILE}"
    document["messages"][0]["model"] = HOSTILE
    path.write_text(json.dumps(document))

    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await connected(pilot, app)
        assert_inert(terminal_output(app))  # the sidebar, at start-up
        await app.chat.open(conversation.id)
        await pilot.pause()
        assert app.chat.conversation.model.startswith("model [@click=app.quit]")
        assert_inert(terminal_output(app))
        assert app.is_running
