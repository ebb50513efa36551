"""The models screen, driven through Pilot on the real app against the fake Ollama server."""

from __future__ import annotations

import re

import httpx
import pytest
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, ProgressBar, Static

from ollama_tui.ollama import RunningModel
from ollama_tui.ui.app import OllamaTUI
from ollama_tui.ui.formatting import (
    duration,
    human_bytes,
    parameter_count,
    processor,
    tidy_parameters,
    time_left,
)
from ollama_tui.ui.screens.confirm import ConfirmScreen
from ollama_tui.ui.screens.models import ModelsScreen
from ollama_tui.ui.widgets.model_list import COLUMNS, ModelList
from ollama_tui.ui.widgets.pull_progress import LayerProgress, TransferRate
from tests.fake_ollama import (
    DEFAULT_MODELS,
    PULLABLE_MODELS,
    UNKNOWN_MANIFEST,
    FakeModel,
    FakeOllama,
)
from tests.ui.conftest import MakeApp, notices, wait_until

SIZE = (120, 40)
PHI = next(m for m in PULLABLE_MODELS if m.name == "phi4-mini:latest")


def names(table: ModelList | DataTable[object]) -> list[str]:
    if isinstance(table, ModelList):
        return [table.name_at(row) for row in range(table.row_count)]
    return [str(row.value) for row in table.rows]


def installed_row(table: ModelList, name: str) -> list[str]:
    row = table.row_of(name)
    assert row is not None
    return [cell.plain for cell in table.cells(row)]


def plain(widget: Static) -> str:
    return str(widget.render())


def load(server: FakeOllama, model: str) -> None:
    """Have the server load `model`, as a chat would."""
    httpx.post(f"{server.url}/api/chat", json={"model": model}).raise_for_status()


def requests_to(server: FakeOllama, path: str) -> int:
    return sum(request.path == path for request in server.requests)


async def open_models(pilot: Pilot[None]) -> ModelsScreen:
    """Push the models screen and wait until both lists and the first details are in."""
    app = pilot.app
    assert isinstance(app, OllamaTUI)
    screen = ModelsScreen(app.session.hosts.client)
    await app.push_screen(screen)
    await wait_until(pilot, lambda: screen.installed.row_count > 0)
    await wait_until(pilot, lambda: "Family" in plain(screen.query_one("#details-summary", Static)))
    await pilot.pause()
    return screen


def changed(messages: list[Message]) -> int:
    return sum(isinstance(m, ModelsScreen.ModelsChanged) for m in messages)


# --------------------------------------------------------------------------- listing


async def test_lists_installed_models_and_details_of_the_highlighted_one(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_models(pilot)
        table = screen.installed
        assert names(table) == [m.name for m in DEFAULT_MODELS]  # newest first
        row = installed_row(table, "llama3.2:latest")
        assert row == ["llama3.2:latest", "3.2B", "Q4_K_M", "2.0 GB", "2025-06-12", " tools "]
        assert installed_row(table, "qwen3:0.6b")[-1] == " think   tools "
        assert installed_row(table, "nomic-embed-text:latest")[-1] == " embed "

        summary = plain(screen.query_one("#details-summary", Static))
        assert "Family        llama" in summary
        assert "Context       131,072 tokens" in summary
        assert "Capabilities  completion · tools" in summary
        parameters = plain(screen.query_one("#details-parameters-text", Static))
        assert parameters.splitlines()[0] == 'stop  "<|start_header_id|>"'
        template = plain(screen.query_one("#details-template-text", Static))
        assert template.startswith("<|start_header_id|>system")
        license_text = plain(screen.query_one("#details-license-text", Static))
        assert license_text.startswith("LLAMA 3.2 COMMUNITY LICENSE")

        seen = len(fake_ollama.requests)
        await pilot.press("down")
        await wait_until(pilot, lambda: "qwen3" in plain(screen.query_one("#details-summary")))
        assert "completion · tools · thinking" in plain(screen.query_one("#details-summary"))
        await pilot.press("up")
        await pilot.pause()
        assert "llama" in plain(screen.query_one("#details-summary", Static))
        shown = [r.json["model"] for r in fake_ollama.requests[seen:] if r.path == "/api/show"]
        assert shown == ["qwen3:0.6b"]  # llama3.2's details were kept from the first time


async def test_sorting_by_key_and_by_clicking_a_header(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_models(pilot)
        table = screen.installed
        by_name = ["llama3.2:latest", "mistral:7b", "nomic-embed-text:latest", "qwen3:0.6b"]
        by_params = ["mistral:7b", "llama3.2:latest", "qwen3:0.6b", "nomic-embed-text:latest"]
        await pilot.press("s")
        assert names(table) == by_name
        assert table.column_labels[0] == "Name ▲"
        await pilot.press("s")
        assert names(table) == by_params
        await pilot.press("S")
        assert names(table) == by_params[::-1]
        assert table.cursor_row == by_params[::-1].index("llama3.2:latest")  # cursor stays put

        size_column = [key for key, _ in COLUMNS].index("size")
        x = 1 + sum(table.column_widths[:size_column]) + 2
        await pilot.click(table, offset=(x, 1))
        by_size = ["mistral:7b", "llama3.2:latest", "qwen3:0.6b", "nomic-embed-text:latest"]
        assert names(table) == by_size
        assert table.column_labels[size_column] == "Size ▼"
        await pilot.click(table, offset=(x, 1))
        assert names(table) == by_size[::-1]


async def test_the_screen_keys_follow_the_keymap(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    keys = {"models.sort": "o", "models.reverse_sort": "O", "models.close": "q"}
    app = build_app(fake_ollama.url, keys=keys)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_models(pilot)
        table = screen.installed
        newest_first = names(table)
        await pilot.press("s")
        assert names(table) == newest_first
        await pilot.press("o")
        assert table.column_labels[0] == "Name ▲"
        await pilot.press("O")
        assert table.column_labels[0] == "Name ▼"
        await pilot.press("escape")
        assert app.screen is screen
        await pilot.press("q")
        await wait_until(pilot, lambda: app.screen is not screen)


async def test_server_text_is_shown_literally(build_app: MakeApp) -> None:
    hostile = FakeModel(
        name="hostile:latest",
        family="[bold]fam[/bold]",
        parameter_size="1B",
        quantization="Q4_0",
        context_length=2048,
        capabilities=("completion",),
        size=1000,
        modified_at="2025-01-01T00:00:00Z",
        parameters=(("stop", "[/]"),),
        template="[@click=app.quit]click me[/] arr[/0]",
        license="\x1b]0;pwned\x07[red]License[/red]",
    )
    with FakeOllama(models=[hostile]) as server:
        app = build_app(server.url, model="hostile:latest")
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_models(pilot)
            assert "[bold]fam[/bold]" in plain(screen.query_one("#details-summary", Static))
            template = plain(screen.query_one("#details-template-text", Static))
            assert template == "[@click=app.quit]click me[/] arr[/0]"
            license_text = plain(screen.query_one("#details-license-text", Static))
            assert license_text == "]0;pwned[red]License[/red]"
            assert plain(screen.query_one("#details-parameters-text", Static)) == 'stop  "[/]"'


async def test_no_models_says_how_to_get_one(build_app: MakeApp) -> None:
    with FakeOllama(models=[]) as server:
        app = build_app(server.url, model=None)
        async with app.run_test(size=SIZE) as pilot:
            screen = ModelsScreen(app.session.hosts.client)
            await app.push_screen(screen)
            summary = screen.query_one("#details-summary", Static)
            await wait_until(pilot, lambda: "Press p" in plain(summary))
            assert plain(summary) == (
                f"No models installed on {server.url}. Press p to pull one: llama3.2 (2 GB) is "
                "a good first model."
            )
            assert screen.installed.row_count == 0


# --------------------------------------------------------------------------- pull


async def test_pull_shows_progress_per_layer_then_lists_the_model(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    fake_ollama.pull_speed = 1e9
    release = fake_ollama.hold_pull(4)  # manifest, layer start, two progress lines
    messages: list[Message] = []
    app = build_app(fake_ollama.url)
    async with app.run_test(size=SIZE, notifications=True, message_hook=messages.append) as pilot:
        screen = await open_models(pilot)
        await pilot.press("p")
        prompt = screen.query_one("#pull-name", Input)
        assert prompt.has_focus
        await pilot.press(*"phi4-mini", "enter")
        await wait_until(
            pilot,
            lambda: (
                bool(screen.query(LayerProgress))
                and screen.query_one(ProgressBar).progress >= 2 * 60_000_000
            ),
        )
        assert screen.pulling and prompt.disabled
        (layer,) = screen.query(LayerProgress)
        bar = layer.query_one(ProgressBar)
        weights = PHI.layers[0]
        assert (bar.total, bar.progress) == (weights[1], 120_000_000)
        stats = plain(layer.query_one(".layer-stats", Static))
        # The rate and time left depend on when the two lines were read: only their form is fixed.
        assert re.fullmatch(r"120 MB/2.5 GB · [\d.]+ [KMGT]?B/s · (\d+:)?\d+:\d\d left", stats)
        assert plain(screen.query_one("#pull-status", Static)) == "pulling phi4-mini, layer 1"
        assert changed(messages) == 0

        release.set()
        await wait_until(pilot, lambda: not screen.pulling)
        await wait_until(pilot, lambda: "phi4-mini:latest" in names(screen.installed))
        assert len(screen.query(LayerProgress)) == len(PHI.layers)  # weights, template, license
        assert all(bar.percentage == 1 for bar in screen.query(ProgressBar))
        assert not screen.query_one("#pull-panel").has_class("-open")
        assert names(screen.installed)[0] == "phi4-mini:latest"
        await wait_until(pilot, lambda: screen.installed.cursor_row == 0)
        assert changed(messages) == 1
        assert "Pulled phi4-mini." in notices(app)


async def test_escape_cancels_a_pull_and_the_server_sees_the_hang_up(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    release = fake_ollama.hold_pull(3)
    messages: list[Message] = []
    app = build_app(fake_ollama.url)
    async with app.run_test(size=SIZE, notifications=True, message_hook=messages.append) as pilot:
        screen = await open_models(pilot)
        await pilot.press("p", *"gemma3:1b", "enter")
        await wait_until(pilot, lambda: bool(screen.query(LayerProgress)))
        await pilot.press("escape")
        await fake_ollama.wait_until_async(lambda: fake_ollama.pulls_cancelled == 1)
        await wait_until(pilot, lambda: not screen.pulling)
        release.set()

        assert app.screen is screen  # escape stopped the pull, not the screen
        assert not screen.query_one("#pull-panel").has_class("-open")
        assert "Pull of gemma3:1b cancelled." in notices(app)
        assert "gemma3:1b" not in [m.name for m in fake_ollama.models]
        assert changed(messages) == 0
        await pilot.press("p")  # a new pull can start
        assert screen.query_one("#pull-name", Input).has_focus
        await pilot.press("escape", "escape")
        assert app.screen is not screen


async def test_a_failed_pull_is_one_line_and_the_prompt_stays(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_models(pilot)
        await pilot.press("p", *"no-such-model:1b", "enter")
        await wait_until(pilot, lambda: not screen.pulling and bool(notices(app)))
        assert notices(app) == [
            f"could not pull 'no-such-model:1b': {UNKNOWN_MANIFEST}; "
            "check the name on ollama.com/library"
        ]
        assert next(iter(app._notifications)).severity == "error"
        prompt = screen.query_one("#pull-name", Input)
        assert prompt.has_focus and not prompt.disabled
        assert prompt.value == "no-such-model:1b"  # to correct and try again


# --------------------------------------------------------------------------- delete and unload


async def test_delete_asks_first_and_can_be_called_off(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    messages: list[Message] = []
    app = build_app(fake_ollama.url)
    async with app.run_test(size=SIZE, notifications=True, message_hook=messages.append) as pilot:
        screen = await open_models(pilot)
        await pilot.press("down", "down", "d")  # mistral:7b
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "Delete mistral:7b?" in plain(app.screen.query_one("#confirm-question", Static))
        await pilot.press("n")
        await wait_until(pilot, lambda: app.screen is screen)
        assert not [r for r in fake_ollama.requests if r.path == "/api/delete"]

        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.click("#confirm-yes")
        await wait_until(pilot, lambda: "mistral:7b" not in names(screen.installed))
        assert "mistral:7b" not in [m.name for m in fake_ollama.models]
        assert changed(messages) == 1
        assert "Deleted mistral:7b." in notices(app)
        assert screen.installed.cursor_row == 2  # on the next model
        await wait_until(pilot, lambda: "nomic-bert" in plain(screen.query_one("#details-summary")))


async def test_deleting_a_model_gone_meanwhile_is_one_line(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_models(pilot)
        fake_ollama.models.remove(fake_ollama.models[0])  # deleted by someone else
        await pilot.press("d", "y")
        await wait_until(pilot, lambda: bool(notices(app)))
        assert notices(app) == [
            f"model 'llama3.2:latest' not found on {fake_ollama.url}; "
            "pull it with `ollama pull llama3.2:latest`"
        ]
        assert app.screen is screen


async def test_unload_the_highlighted_loaded_model(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    load(fake_ollama, "mistral:7b")
    load(fake_ollama, "llama3.2")
    app = build_app(fake_ollama.url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_models(pilot)
        loaded = screen.loaded
        await wait_until(pilot, lambda: loaded.row_count == 2)
        row = [cell.plain for cell in loaded.get_row("llama3.2:latest")]
        assert row == ["llama3.2:latest", "2.0 GB", "100% GPU", "4,096", "in 5 min"]
        loaded.focus()
        await pilot.press("down", "u")
        await wait_until(pilot, lambda: names(loaded) == ["llama3.2:latest"])
        assert fake_ollama.chat_requests()[-1] == {
            "model": "mistral:7b",
            "messages": [],
            "keep_alive": 0,
        }
        assert "Unloaded mistral:7b." in notices(app)


async def test_errors_are_one_line_and_the_screen_stays_usable(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_models(pilot)
        fake_ollama.stop()
        await pilot.press("r")
        await wait_until(pilot, lambda: len(notices(app)) == 2)  # the list and the loaded models
        assert set(notices(app)) == {
            f"cannot reach Ollama at {fake_ollama.url} (connection refused); "
            "start it with `ollama serve` or check --host"
        }
        assert names(screen.installed)  # what was listed stays
        fake_ollama.start()
        app.clear_notifications()
        asked = {path: requests_to(fake_ollama, path) for path in ("/api/tags", "/api/ps")}
        await pilot.press("r")
        for path, count in asked.items():
            await fake_ollama.wait_for_requests_async(path, count + 1)
        await wait_until(
            pilot, lambda: not any(w.node is screen and not w.is_finished for w in app.workers)
        )
        assert not notices(app)
        await pilot.press("escape")
        assert app.screen is not screen


# --------------------------------------------------------------------------- pieces


@pytest.mark.parametrize(
    ("count", "text"),
    [(0, "0 B"), (999, "999 B"), (522653767, "522 MB"), (2019393189, "2.0 GB"), (12e9, "12 GB")],
)
def test_human_bytes(count: float, text: str) -> None:
    assert human_bytes(count) == text


def test_time_left_reads_as_ollama_ps_says_it() -> None:
    now = 1_767_345_300.0  # 2026-01-02T09:15:00Z
    assert time_left("2026-01-02T09:20:00Z", now) == "in 5 min"
    assert time_left("2026-01-02T10:20:00.123456789+01:00", now) == "in 5 min"
    assert time_left("2026-01-02T09:15:40Z", now) == "in 40 s"
    assert time_left("2026-01-02T12:15:00Z", now) == "in 3 h"
    assert time_left("2318-04-11T09:15:00Z", now) == "forever"
    assert time_left("2026-01-02T09:00:00Z", now) == "now"
    assert time_left("garbage", now) == time_left(None, now) == "?"


def test_transfer_rate_speed_and_time_left() -> None:
    rate = TransferRate()
    rate.add(10.0, 0)
    assert rate.speed is None and rate.seconds_left(100) is None
    rate.add(11.0, 50_000_000)
    rate.add(12.0, 100_000_000)
    assert rate.speed == 50_000_000
    assert rate.seconds_left(300_000_000) == 4.0
    rate.add(30.0, 1_000_000_000)  # older samples fall out of the window
    assert rate.speed == pytest.approx(900_000_000 / 18)


def test_small_formatters() -> None:
    assert duration(35) == "0:35" and duration(3723) == "1:02:03"
    assert parameter_count("751.63M") == pytest.approx(751.63e6)
    assert parameter_count("3.2B") > parameter_count("751.63M") > parameter_count(None)
    assert tidy_parameters('stop                           "<|eot_id|>"\ntemperature   0.6') == (
        'stop         "<|eot_id|>"\ntemperature  0.6'
    )

    def running(vram: int) -> RunningModel:
        return RunningModel("m", 100, vram, None, None)

    assert [processor(running(v)) for v in (100, 0, 40)] == [
        "100% GPU",
        "100% CPU",
        "60%/40% CPU/GPU",
    ]
