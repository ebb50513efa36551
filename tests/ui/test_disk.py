"""Trouble on disk met through the app: full disks, refused writes, damaged files, other writers."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from textual.widgets import Markdown

from ollama_tui.chat import store as store_module
from ollama_tui.chat.conversation import Conversation, MessageState
from ollama_tui.chat.store import ConversationStore
from ollama_tui.ui.widgets.message_view import MessageView
from tests.fake_ollama import FakeOllama
from tests.ui.conftest import MakeApp, connected, notices, send, settle, wait_until


@pytest.mark.parametrize(
    ("code", "reason"),
    [(errno.ENOSPC, "No space left on device"), (errno.EACCES, "Permission denied")],
)
async def test_a_failed_save_is_reported_and_retried_on_the_next_change(
    fake_ollama: FakeOllama,
    build_app: MakeApp,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    code: int,
    reason: str,
) -> None:
    def refuse(path: Path, data: bytes, *, mode: int = 0o600) -> None:
        raise OSError(code, reason, str(path))

    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await connected(pilot, app)
        with monkeypatch.context() as patch:
            patch.setattr(store_module, "write_atomic", refuse)
            await send(pilot, app, "first, while the disk refuses")
            await settle(pilot, app)

            failures = [n for n in notices(app) if reason in n]
            assert failures and all("\n" not in n for n in failures)
            assert failures[0].startswith("could not save 'first, while the disk refuses'")
            assert len(app.chat.conversation.messages) == 2  # kept in memory
            assert app.is_running

        await send(pilot, app, "second, once it accepts again")
        await settle(pilot, app)

    (summary,) = ConversationStore(data_dir).list()
    saved = ConversationStore(data_dir).load(summary.id)
    assert [m.content for m in saved.messages][::2] == [
        "first, while the disk refuses",
        "second, once it accepts again",
    ]
    assert all(m.state is MessageState.COMPLETE for m in saved.messages)


async def test_damaged_files_are_set_aside_with_a_notice(
    unused_url: str, build_app: MakeApp, data_dir: Path
) -> None:
    good = Conversation(model="llama3.2:latest")
    good.add_user_message("still readable")
    ConversationStore(data_dir).save(good)
    (data_dir / "conversations" / "deadbeef.json").write_text('{"schema_version": 1, "id"')

    app = build_app(unused_url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.pause()
        assert app.chat.sidebar.summary_count == 1
        damaged = [n for n in notices(app) if "damaged" in n]
        assert len(damaged) == 1 and "deadbeef" in damaged[0]
    assert [p.name.split(".")[0] for p in (data_dir / "damaged").iterdir()] == ["deadbeef"]


async def test_messages_another_instance_wrote_are_merged_not_overwritten(
    fake_ollama: FakeOllama, build_app: MakeApp, data_dir: Path
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "from this window")
        await settle(pilot, app)

        other_store = ConversationStore(data_dir)
        other = other_store.load(app.chat.conversation.id)
        other.add_user_message("from another window")
        other_store.save(other)

        await send(pilot, app, "from this window again")
        await settle(pilot, app)

        contents = [m.content for m in app.chat.conversation.messages]
        assert "from another window" in contents
        assert any("merged" in n for n in notices(app))
        await wait_until(pilot, lambda: len(app.query(MessageView)) == len(contents))
        reply = app.chat.conversation.messages[-1]
        (reply_view,) = [v for v in app.query(MessageView) if v.message is reply]
        assert reply_view.query_one(Markdown).source == reply.content

    saved = ConversationStore(data_dir).load(app.chat.conversation.id)
    assert [m.content for m in saved.messages] == contents
