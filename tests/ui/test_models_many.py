"""The models screen with 100,000 models on the server: it lists them lazily, rows on demand."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from types import ModuleType

import pytest
from rich.segment import Segment
from rich.text import Text
from textual.content import Content
from textual.dom import DOMNode
from textual.pilot import Pilot
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from ollama_tui.ui.app import OllamaTUI
from ollama_tui.ui.screens.confirm import ConfirmScreen
from ollama_tui.ui.screens.models import ModelsScreen
from ollama_tui.ui.widgets.model_list import ModelList
from tests.fake_ollama import FakeOllama, synthetic_models
from tests.ui.conftest import MakeApp, wait_until

MODELS = 100_000
SIZE = (120, 40)
LISTING = 60.0
"""Seconds allowed for the server to send, and the client to read, 100,000 models (~40 MB)."""


@pytest.fixture(scope="module")
def crowded() -> Iterator[FakeOllama]:
    with FakeOllama(models=synthetic_models(MODELS)) as server:
        yield server


def shown(table: ModelList) -> list[str]:
    """The lines the table paints now, header first."""
    return [table.render_line(y).text for y in range(table.scrollable_content_region.height)]


def cursor_line(table: ModelList) -> str:
    """The painted line of the row under the cursor ("" when that row is out of view)."""
    lines, y = shown(table), table.cursor_row + 1 - round(table.scroll_y)
    return lines[y] if 0 < y < len(lines) else ""


def details_title(screen: ModelsScreen) -> str:
    return str(screen.query_one("#model-details").border_title)


async def open_models(pilot: Pilot[None]) -> ModelsScreen:
    app = pilot.app
    assert isinstance(app, OllamaTUI)
    screen = ModelsScreen(app.session.hosts.client)
    await app.push_screen(screen)
    await wait_until(pilot, lambda: screen.installed.row_count == MODELS, timeout=LISTING)
    await pilot.pause()
    return screen


def rendering_objects_held_by(widget: Widget) -> int:
    """How many Text, Content, Strip and segment-list objects `widget` keeps alive: those
    reachable from it without passing through another node of the DOM or a class."""
    seen = {id(widget)}
    todo: list[object] = [widget]
    count = 0
    while todo:
        thing = todo.pop()
        if isinstance(thing, Text | Content | Strip) or (
            isinstance(thing, list) and bool(thing) and isinstance(thing[0], Segment)
        ):
            count += 1
        for referent in gc.get_referents(thing):
            if id(referent) in seen or isinstance(referent, DOMNode | type | ModuleType):
                continue
            seen.add(id(referent))
            todo.append(referent)
    return count


async def test_opens_on_the_first_rows_and_end_shows_the_last_model(
    crowded: FakeOllama, build_app: MakeApp
) -> None:
    newest, oldest = crowded.models[0].name, crowded.models[-1].name
    app = build_app(crowded.url, model=newest)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_models(pilot)
        table = screen.installed
        lines = shown(table)
        assert lines[0].split()[:2] == ["Name", "Params"]
        assert lines[1].split()[0] == newest  # newest first, as the server lists them
        assert lines[2].split()[0] == crowded.models[1].name
        await wait_until(pilot, lambda: details_title(screen) == newest)

        # The table holds no cell, line or text object per model: only those of rows on screen.
        assert rendering_objects_held_by(table) < 1_000

        await pilot.press("end")
        assert table.cursor_row == MODELS - 1
        assert table.highlighted_name == oldest
        await pilot.pause()
        assert shown(table)[-1].split()[0] == oldest
        assert not any(newest in line for line in shown(table))
        await wait_until(pilot, lambda: details_title(screen) == oldest)
        assert rendering_objects_held_by(table) < 1_000
        await pilot.resize_terminal(120, 24)  # a smaller terminal keeps the cursor in view
        await wait_until(pilot, lambda: oldest in cursor_line(table))
        assert shown(table)[-1].split()[0] == oldest
        await pilot.resize_terminal(*SIZE)

        await pilot.press("home")
        await pilot.pause()
        assert table.cursor_row == 0 and shown(table)[1].split()[0] == newest
        await pilot.click(table, offset=(5, 4))  # under the border and the header: row 2
        assert table.highlighted_name == crowded.models[2].name
        await wait_until(pilot, lambda: details_title(screen) == crowded.models[2].name)


async def test_sorting_and_the_cursor_pick_the_right_model(
    crowded: FakeOllama, build_app: MakeApp
) -> None:
    by_size = sorted(crowded.models, key=lambda model: model.size, reverse=True)
    app = build_app(crowded.url, model=crowded.models[0].name)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_models(pilot)
        table = screen.installed
        await pilot.press("down", "down")
        kept = crowded.models[2].name
        assert table.highlighted_name == kept

        await pilot.press("s")  # by name, A to Z
        assert table.column_labels[0] == "Name ▲"
        assert table.highlighted_name == kept  # the cursor stays on its model
        assert kept in cursor_line(table)
        await pilot.press("home")
        assert shown(table)[1].split()[0] == min(model.name for model in crowded.models)

        await pilot.press("s", "s", "s")  # params, quant, then size: largest first
        assert table.column_labels[3] == "Size ▼"
        assert table.name_at(0) == by_size[0].name
        await pilot.press("home")
        assert shown(table)[1].split()[0] == by_size[0].name
        await pilot.press("S")  # smallest first; the cursor goes with its model, to the end
        assert table.cursor_row == MODELS - 1 and table.highlighted_name == by_size[0].name
        assert shown(table)[-1].split()[0] == by_size[0].name
        await pilot.press("home")
        assert shown(table)[1].split()[0] == by_size[-1].name

        await pilot.press("home", "down", "pagedown")
        page = table.scrollable_content_region.height - 1
        assert table.cursor_row == 1 + page
        chosen = by_size[-2 - page].name  # smallest first: the (2 + page)th largest
        assert table.highlighted_name == chosen
        assert chosen in cursor_line(table)
        await wait_until(pilot, lambda: details_title(screen) == chosen)
        await wait_until(
            pilot, lambda: any(r.json == {"model": chosen} for r in crowded.requests[-20:])
        )

        await pilot.press("d")  # the delete prompt names the model under the cursor
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        question = app.screen.query_one("#confirm-question", Static)
        assert f"Delete {chosen}?" in str(question.render())
        await pilot.press("n")
        await wait_until(pilot, lambda: app.screen is screen)
