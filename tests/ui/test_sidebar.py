"""The conversation list: date groups, pinned conversations on top."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from ollama_tui.chat.conversation import Conversation
from ollama_tui.chat.store import ConversationStore
from ollama_tui.ui.widgets.sidebar import _when
from tests.ui.conftest import MakeApp, wait_until


def saved(data_dir: Path, title: str, days_ago: int) -> Conversation:
    conversation = Conversation(model="llama3.2:latest")
    conversation.add_user_message(title)
    moment = (datetime.now(UTC) - timedelta(days=days_ago)).isoformat(timespec="milliseconds")
    conversation.updated_at = moment
    ConversationStore(data_dir).save(conversation)
    return conversation


def rows(app) -> list[str]:  # type: ignore[no-untyped-def]
    sidebar = app.chat.sidebar
    return [
        str(sidebar.get_option_at_index(i).prompt).split("\n")[0]
        for i in range(sidebar.option_count)
    ]


async def test_grouped_by_date_and_pinned_on_top(
    unused_url: str, build_app: MakeApp, data_dir: Path
) -> None:
    saved(data_dir, "old one", 40)
    saved(data_dir, "this week", 3)
    saved(data_dir, "yesterday's", 1)
    pin_me = saved(data_dir, "pin me", 30)
    saved(data_dir, "today's", 0)
    app = build_app(unused_url)
    async with app.run_test(size=(120, 40)) as pilot:
        assert rows(app) == [
            "Today", "today's",
            "Yesterday", "yesterday's",
            "Previous 7 days", "this week",
            "Older", "pin me", "old one",
        ]  # fmt: skip
        await pilot.press("ctrl+b")
        assert app.chat.sidebar.highlighted_option.id == app.chat.sidebar.conversation_ids()[0]
        app.chat.sidebar.highlight_id(pin_me.id)
        await pilot.press("p")
        await wait_until(pilot, lambda: rows(app)[0] == "Pinned")
        assert rows(app)[:3] == ["Pinned", "pin me", "Today"]
        assert app.chat.sidebar.highlighted_option.id == pin_me.id
        await pilot.press("down")  # the heading is skipped
        assert app.chat.sidebar.highlighted_option.id == app.chat.sidebar.conversation_ids()[1]

    assert ConversationStore(data_dir).load(pin_me.id).pinned
    again = build_app(unused_url)
    async with again.run_test(size=(120, 40)) as pilot:
        assert rows(again)[:2] == ["Pinned", "pin me"]
        await pilot.press("ctrl+b")
        again.chat.sidebar.highlight_id(pin_me.id)
        await pilot.press("p")
        await wait_until(pilot, lambda: rows(again)[0] == "Today")
    assert not ConversationStore(data_dir).load(pin_me.id).pinned


def test_dates_are_short_enough_for_the_list() -> None:
    now = datetime(2026, 12, 4, 15, 30).astimezone()

    def when(days: int) -> str:
        return _when((now - timedelta(days=days)).isoformat(), now)

    assert when(0) == "15:30"
    assert when(1) == "yesterday"
    assert when(3) == "Tuesday"
    assert when(40) == "Oct 25"
    assert when(400) == "2025-10-30"
    assert _when("not a date", now) == ""


async def test_each_row_is_a_title_and_one_line_of_date_and_model(
    unused_url: str, build_app: MakeApp, data_dir: Path
) -> None:
    saved(data_dir, "old one", 40)
    saved(data_dir, "last year", 400)
    app = build_app(unused_url)
    async with app.run_test(size=(120, 40)):
        sidebar = app.chat.sidebar
        prompts = [str(sidebar.get_option_at_index(i).prompt) for i in range(sidebar.option_count)]
        metas = [prompt.split("\n")[1] for prompt in prompts if "\n" in prompt]
        assert len(metas) == 2 and all(meta.endswith(" · llama3.2") for meta in metas)
        width = sidebar.scrollable_content_region.width - 2  # the rows' padding
        assert all(len(meta) <= width for meta in metas)  # so none wraps to a third line
