"""Process-wide settings the app makes for smooth streaming, and that it puts them back."""

from __future__ import annotations

import gc
import os
import subprocess
import sys

from ollama_tui.ui.collector import YOUNG_COLLECTION_THRESHOLD
from tests.fake_ollama import FakeOllama
from tests.ui.conftest import MakeApp, connected, send, settle


async def test_collector_is_quieted_while_the_app_runs_and_restored_after(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    before = gc.get_threshold()
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        assert gc.get_threshold() == (YOUNG_COLLECTION_THRESHOLD, *before[1:])
        assert gc.get_freeze_count() > 0  # what the app mounted with is out of the scans
        await send(pilot, app, "Hello")
        await settle(pilot, app)
        assert app.chat.conversation.messages[-1].content
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def frame_rate(environ: dict[str, str]) -> str:
    """Textual's frame rate in a new process that imports the app first, as `ollama-tui` does."""
    code = "import ollama_tui.cli, textual.constants as c; print(c.MAX_FPS)"
    result = subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_frame_rate_defaults_to_120_and_the_users_setting_wins() -> None:
    environ = {k: v for k, v in os.environ.items() if k != "TEXTUAL_FPS"}
    assert frame_rate(environ) == "120"
    assert frame_rate({**environ, "TEXTUAL_FPS": "30"}) == "30"
