"""In a browser tab (`ollama-tui serve`) the keys shown first are ones the browser leaves to the
page: alt+n for a new conversation, ctrl+g for the model, in the footer and the help."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path

from textual.widgets._footer import FooterKey

from ollama_tui.config import Settings
from ollama_tui.keymap import BROWSER_KEEPS, browser_keymap
from ollama_tui.ui.app import OllamaTUI
from ollama_tui.ui.screens.help import HelpScreen
from ollama_tui.ui.screens.picker import PickerScreen
from tests.fake_ollama import FakeOllama
from tests.ui.conftest import MakeApp, connected, send, settle, wait_until


class InBrowserTab(OllamaTUI):
    """The app as a browser tab runs it: Textual's web driver says so through `is_web`."""

    CSS_PATH = Path(inspect.getfile(OllamaTUI)).with_name("app.tcss")  # not next to this file

    @property
    def is_web(self) -> bool:
        return True


def tab_app(make_settings: Callable[..., Settings], config_path: Path, url: str) -> OllamaTUI:
    settings = make_settings(url)
    settings.config_path = config_path
    return InBrowserTab(settings)


def footer_keys(app: OllamaTUI) -> set[str]:
    return {key.key for key in app.screen.query(FooterKey)}


def test_keys_a_browser_keeps_come_last() -> None:
    keymap = browser_keymap({"reply.stop": "x", "app.help": "ctrl+w,f10"})
    assert keymap["conversation.new"] == "alt+n,ctrl+n"
    assert keymap["model.pick"] == "ctrl+g,ctrl+l"
    assert keymap["app.help"] == "f10,ctrl+w"  # a key the config gave is kept, but last
    assert keymap["reply.stop"] == "x"
    assert "sidebar.toggle" not in keymap  # ctrl+b reaches the page: nothing to change


async def test_in_a_browser_tab_the_footer_and_help_show_keys_that_reach_the_app(
    fake_ollama: FakeOllama, make_settings: Callable[..., Settings], config_path: Path
) -> None:
    app = tab_app(make_settings, config_path, fake_ollama.url)
    async with app.run_test(size=(140, 40)) as pilot:
        await connected(pilot, app)
        shown = footer_keys(app)
        assert {"alt+n", "ctrl+g"} <= shown
        assert not shown & BROWSER_KEEPS
        await send(pilot, app, "first")
        await settle(pilot, app)
        await pilot.press("alt+n")
        assert not app.chat.conversation.messages
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press("escape")
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        rows = [str(w.render()) for w in app.screen.query(".help-key")]
        assert "alt+n / ctrl+n" in rows and "ctrl+g / ctrl+l" in rows


async def test_in_a_terminal_the_usual_keys_are_shown_and_both_work(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(140, 40)) as pilot:
        await connected(pilot, app)
        shown = footer_keys(app)
        assert {"ctrl+n", "ctrl+l"} <= shown and not {"alt+n", "ctrl+g"} & shown
        await send(pilot, app, "first")
        await settle(pilot, app)
        await pilot.press("alt+n")
        assert not app.chat.conversation.messages
