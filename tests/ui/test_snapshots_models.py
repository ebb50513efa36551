"""A picture of the models screen at 120x40, compared with the stored SVG."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from ollama_tui.ui.app import OllamaTUI
from ollama_tui.ui.screens.models import ModelsScreen
from tests.fake_ollama import FakeOllama
from tests.ui.conftest import MakeApp, wait_until

SIZE = (120, 40)
NOW_NS = 1_767_345_300 * 10**9  # 2026-01-02T09:15:00Z: the server's and the screen's clock


@pytest.fixture
def server() -> Iterator[FakeOllama]:
    with FakeOllama() as fake:
        fake.frozen_clock_ns = NOW_NS
        for body in ({"model": "llama3.2"}, {"model": "qwen3:0.6b", "keep_alive": -1}):
            httpx.post(f"{fake.url}/api/chat", json=body).raise_for_status()
        yield fake


def test_models_screen(
    snap_compare: Callable[..., bool], server: FakeOllama, build_app: MakeApp
) -> None:
    async def open_models(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, OllamaTUI)
        screen = ModelsScreen(app.session.hosts.client, clock=lambda: NOW_NS / 1e9)
        await app.push_screen(screen)
        summary = screen.query_one("#details-summary", Static)
        await wait_until(pilot, lambda: "Family" in str(summary.render()))
        await wait_until(pilot, lambda: screen.loaded.row_count == 2)
        await pilot.pause()

    assert snap_compare(build_app(server.url), terminal_size=SIZE, run_before=open_models)
