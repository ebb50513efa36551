"""Picking a model on a server with 100,000: the picker (ctrl+l) and the parameter panel's
Model select list a bounded number of rows, and every model can still be found and chosen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import OptionList, Select
from textual.widgets._select import SelectOverlay

from ollama_tui.ui.app import OllamaTUI
from ollama_tui.ui.attaching import KEEP_DRAFT
from ollama_tui.ui.screens.picker import SHOWN, PickerScreen
from ollama_tui.ui.widgets.parameter_panel import MODELS_LISTED
from tests.fake_ollama import FakeOllama, synthetic_models
from tests.images import picture
from tests.ui.conftest import MakeApp, connected, send, wait_until
from tests.ui.test_attachments import attach_by_prompt

MODELS = 100_000
LISTING = 60.0
"""Seconds allowed for the server to send, and the client to read, 100,000 models (~40 MB)."""


@pytest.fixture(scope="module")
def crowded() -> Iterator[FakeOllama]:
    with FakeOllama(models=synthetic_models(MODELS)) as server:
        yield server


def option_ids(options: OptionList) -> list[str | None]:
    return [options.get_option_at_index(i).id for i in range(options.option_count)]


async def open_picker(pilot: Pilot[None], app: OllamaTUI) -> OptionList:
    await wait_until(pilot, lambda: bool(app.session.models.listed), timeout=LISTING)
    await pilot.press("ctrl+l")
    await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen), timeout=LISTING)
    options = app.screen.query_one("#picker-options", OptionList)
    await wait_until(pilot, lambda: options.option_count > 0)
    return options


async def test_the_picker_lists_the_first_models_and_typing_finds_any_of_them(
    crowded: FakeOllama, build_app: MakeApp
) -> None:
    chat_models = [m.name for m in crowded.models if "embedding" not in m.capabilities]
    wanted = crowded.models[54_321].name  # "<family>-054321:<n>b", a model that can chat
    assert wanted in chat_models[SHOWN:]
    app = build_app(crowded.url, model=chat_models[0])
    async with app.run_test(size=(120, 40)) as pilot:
        options = await open_picker(pilot, app)

        # The first models in the server's order, then one line saying how many more match.
        assert option_ids(options)[:SHOWN] == chat_models[:SHOWN]
        assert options.option_count == SHOWN + 1
        note = options.get_option_at_index(SHOWN)
        assert note.disabled
        assert str(note.prompt).startswith(f"{len(chat_models) - SHOWN:,} more match")
        assert options.highlighted == 0  # on the model in use
        options.highlighted = SHOWN - 1
        await pilot.press("down")  # the note is not a row to land on
        assert options.highlighted == SHOWN - 1

        await pilot.press(*"054321")
        await wait_until(pilot, lambda: option_ids(options)[:1] == [wanted])
        assert options.option_count <= SHOWN
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.chat.conversation.model == wanted)
        select = app.chat.parameters.query_one("#model-select", Select)
        await wait_until(pilot, lambda: select.value == wanted)  # listed though far down


async def test_the_panel_lists_the_first_models_and_its_last_entry_opens_the_picker(
    crowded: FakeOllama, build_app: MakeApp
) -> None:
    chat_models = [m.name for m in crowded.models if "embedding" not in m.capabilities]
    current = chat_models[-1]  # the last model: beyond those the select lists first
    app = build_app(crowded.url, model=current)
    async with app.run_test(size=(120, 50)) as pilot:
        await connected(pilot, app)
        select = app.chat.parameters.query_one("#model-select", Select)
        overlay = select.query_one(SelectOverlay)
        await wait_until(pilot, lambda: overlay.option_count > 2, timeout=LISTING)
        # The blank ("no model"), the first models in the server's order, the one in use, and
        # an entry for the others.
        labels = [str(overlay.get_option_at_index(i).prompt) for i in range(overlay.option_count)]
        assert labels[1:-1] == [*chat_models[:MODELS_LISTED], current]
        hidden = len(chat_models) - MODELS_LISTED - 1
        assert labels[-1] == f"{hidden:,} more… (ctrl+l)"
        assert select.value == current

        select.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: select.expanded)
        await pilot.press("end", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen))
        assert select.value == current
        assert app.chat.conversation.model == current
        options = app.screen.query_one("#picker-options", OptionList)
        await wait_until(pilot, lambda: options.highlighted == 0)
        assert options.get_option_at_index(0).id == current  # the model in use comes first


async def test_an_image_for_a_text_model_offers_the_vision_models_and_keeps_the_draft_first(
    crowded: FakeOllama, build_app: MakeApp, tmp_path: Path
) -> None:
    vision = [m.name for m in crowded.models if "vision" in m.capabilities]
    text_only = next(m.name for m in crowded.models if m.capabilities == ("completion",))
    (tmp_path / "cat.png").write_bytes(picture(64, 48))
    app = build_app(crowded.url, model=text_only)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await attach_by_prompt(pilot, app, str(tmp_path / "cat.png"), chips=1)
        await send(pilot, app, "What is it?")
        await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen), timeout=LISTING)
        options = app.screen.query_one("#picker-options", OptionList)
        # Keeping the message stays in reach above the first of the many vision models.
        assert option_ids(options)[:3] == [KEEP_DRAFT, *vision[:2]]
        assert options.option_count == SHOWN + 1
        wanted = vision[-1]
        await pilot.press(*wanted.split("-")[1])
        await wait_until(pilot, lambda: option_ids(options)[:1] == [wanted])
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.chat.conversation.model == wanted, timeout=LISTING)
