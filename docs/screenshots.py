"""Regenerate the README's pictures: SVG screenshots of the real app against the fake Ollama.

    .venv/bin/python docs/screenshots.py            # writes docs/*.svg
    .venv/bin/python docs/screenshots.py --out DIR  # somewhere else

Each picture is the app as a user sees it, driven by its keys: the main screen with a
conversation holding code, a reply with its thinking, the models screen pulling a model, search,
and the parameter panel. Config, state and data live in a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the fake server lives in tests/

from textual.pilot import Pilot  # noqa: E402

from ollama_tui.cli import make_app  # noqa: E402
from ollama_tui.config import load_settings  # noqa: E402
from ollama_tui.ui.app import OllamaTUI  # noqa: E402
from ollama_tui.ui.screens.models import ModelsScreen  # noqa: E402
from ollama_tui.ui.screens.search import SearchScreen  # noqa: E402
from ollama_tui.ui.widgets.status_bar import Connection  # noqa: E402
from tests.fake_ollama import FakeOllama  # noqa: E402

SIZE = (120, 36)
SHOWN_HOST = "http://127.0.0.1:11434"
"""The fake server's port changes every run; the pictures show Ollama's usual address."""

Scene = Callable[[Pilot[None], OllamaTUI, FakeOllama], Awaitable[None]]


async def until(pilot: Pilot[None], predicate: Callable[[], bool], seconds: float = 20) -> None:
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return
        await pilot.pause(0.05)
    raise TimeoutError("the app did not reach the state this picture needs")


async def ready(pilot: Pilot[None], app: OllamaTUI) -> None:
    await until(pilot, lambda: app.chat.status.connection is Connection.CONNECTED)
    await until(pilot, lambda: bool(app.session.models.listed))
    app.chat.status.host = SHOWN_HOST
    app.chat.prompt.cursor_blink = False


async def chat(pilot: Pilot[None], app: OllamaTUI, server: FakeOllama, text: str) -> None:
    """Type a message, send it, and wait for the whole reply."""
    sent = len(server.chat_requests())
    app.chat.prompt.focus()
    await pilot.press(*text, "enter")
    await until(pilot, lambda: len(server.chat_requests()) > sent)
    await until(pilot, lambda: app.chat.replies_in_progress == 0)
    await pilot.pause(0.3)


async def main_screen(pilot: Pilot[None], app: OllamaTUI, server: FakeOllama) -> None:
    await chat(pilot, app, server, "Write a greeting in Python and in the shell #code")


async def thinking(pilot: Pilot[None], app: OllamaTUI, server: FakeOllama) -> None:
    app.chat._switch_model("qwen3:0.6b")  # as choosing it with ctrl+l does
    server.queue_reply(
        "**No.** 1001 = 7 × 11 × 13, so it has divisors other than 1 and itself.",
        thinking="The user asks whether 1001 is prime. Try small primes: 1001 / 7 = 143, "
        "and 143 = 11 × 13.",
    )
    await chat(pilot, app, server, "Is 1001 prime?")


async def models_pulling(pilot: Pilot[None], app: OllamaTUI, server: FakeOllama) -> None:
    server.pull_speed = 6e7
    server.hold_pull(n=12)
    await pilot.press("f3")
    await until(pilot, lambda: isinstance(app.screen, ModelsScreen))
    await pilot.press("p", *"gemma3:1b", "enter")
    await until(pilot, lambda: "pulling" in str(app.screen.query_one("#pull-status").render()))
    await pilot.pause(1.0)


async def search(pilot: Pilot[None], app: OllamaTUI, server: FakeOllama) -> None:
    await chat(pilot, app, server, "How do tides work on the Moon and the Earth?")
    await pilot.press("ctrl+n")
    await chat(pilot, app, server, "Plan a week of sourdough baking")
    await pilot.press("ctrl+f", *"moon")
    await until(pilot, lambda: isinstance(app.screen, SearchScreen))
    await pilot.pause(0.5)


async def parameters(pilot: Pilot[None], app: OllamaTUI, server: FakeOllama) -> None:
    await chat(pilot, app, server, "Summarise the plot of Hamlet in one line")
    await pilot.press("ctrl+r")
    await pilot.pause(0.3)


SCENES: dict[str, Scene] = {
    "main": main_screen,
    "thinking": thinking,
    "models": models_pulling,
    "search": search,
    "parameters": parameters,
}


async def take(name: str, scene: Scene, out: Path, home: Path) -> Path:
    """Run the app on a fresh library, play `scene`, and save what the screen shows."""
    with FakeOllama(token_delay=0.012) as server:  # ~80 tokens a second
        settings = load_settings(
            config_path=None,
            environ={},
            host=server.url,
            model="llama3.2:latest",
            data_dir=home / name / "data",
            state_path=home / name / "state.toml",
        )
        settings.show_parameters = name == "parameters"
        app = make_app(settings)
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot, app)
            await scene(pilot, app, server)
            app.chat.status.host = SHOWN_HOST
            await pilot.pause(0.2)
            path = out / f"{name}.svg"
            path.write_text(app.export_screenshot(title=f"ollama-tui — {name}"), encoding="utf-8")
            return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder for the SVGs")
    names = ", ".join(SCENES)
    parser.add_argument("scenes", nargs="*", metavar="SCENE", help=f"{names}; default: all")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as home:
        for kind in ("CONFIG", "DATA", "STATE", "CACHE"):
            os.environ[f"XDG_{kind}_HOME"] = str(Path(home) / f"xdg-{kind.lower()}")
        unknown = sorted(set(args.scenes) - set(SCENES))
        if unknown:
            parser.error(f"unknown scene {', '.join(unknown)} (choose from {names})")
        for name in args.scenes or SCENES:
            path = asyncio.run(take(name, SCENES[name], args.out, Path(home)))
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
