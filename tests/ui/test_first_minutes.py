"""What a new user meets in the first ten minutes: refused sends, advice, empty servers."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from textual.widgets import Input, OptionList, Select, Static
from textual.widgets._footer import FooterKey

from ollama_tui.logs import configure_logging
from ollama_tui.ui import app as app_module
from ollama_tui.ui.app import OllamaTUI
from ollama_tui.ui.screens.help import HelpScreen
from ollama_tui.ui.screens.models import ModelsScreen
from ollama_tui.ui.screens.picker import PickerScreen
from ollama_tui.ui.widgets.status_bar import Connection
from tests.fake_ollama import DEFAULT_MODELS, PULLABLE_MODELS, FakeOllama
from tests.ui.conftest import (
    MakeApp,
    connected,
    notices,
    run_command,
    send,
    settle,
    wait_until,
)


async def test_a_refused_send_keeps_the_text_and_the_cursor(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await connected(pilot, app)
        prompt = app.chat.prompt
        release = fake_ollama.hold(3)
        prompt.focus()
        await pilot.press(*"first question", "enter")
        await wait_until(pilot, lambda: app.chat.replies_in_progress == 1)
        assert prompt.text == ""

        await pilot.press(*"second one", "enter")
        await wait_until(pilot, lambda: any("still arriving" in n for n in notices(app)))
        assert prompt.text == "second one"
        assert prompt.cursor_location == (0, len("second one"))
        await pilot.press(*" more")  # the next words land after the others, not in front
        assert prompt.text == "second one more"

        release.set()
        await settle(pilot, app)
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(fake_ollama.chat_requests()) == 2)
        assert fake_ollama.chat_requests()[-1]["messages"][-1]["content"] == "second one more"
        assert prompt.text == ""


async def test_text_typed_with_no_model_is_kept(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    fake_ollama.models.clear()
    app = build_app(fake_ollama.url, model=None)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await wait_until(pilot, lambda: app.session.models.loaded)
        prompt = app.chat.prompt
        prompt.focus()
        await pilot.press(*"hello there", "enter")
        await wait_until(pilot, lambda: len(notices(app)) >= 1)
        assert prompt.text == "hello there"
        assert prompt.cursor_location == (0, len("hello there"))
        assert fake_ollama.chat_requests() == []


async def test_a_model_pulled_elsewhere_shows_in_the_open_picker(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        assert "gemma3:1b" not in app.session.models.chat_models()
        gemma = next(m for m in PULLABLE_MODELS if m.name == "gemma3:1b")
        fake_ollama.models.insert(0, gemma)  # `ollama pull gemma3:1b` in another terminal

        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen))
        options = app.screen.query_one(OptionList)
        await wait_until(
            pilot,
            lambda: any(
                options.get_option_at_index(i).id == "gemma3:1b"
                for i in range(options.option_count)
            ),
        )
        await pilot.press(*"gemma", "enter")
        await wait_until(pilot, lambda: app.chat.conversation.model == "gemma3:1b")
        select = app.chat.parameters.query_one("#model-select", Select)
        await wait_until(pilot, lambda: select.value == "gemma3:1b")


async def test_advice_when_the_server_is_down_says_how_to_start_it(
    unused_url: str, build_app: MakeApp
) -> None:
    app = build_app(unused_url, model=None)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await wait_until(pilot, lambda: app.chat.status.connection is Connection.UNREACHABLE)
        hint = str(app.chat.message_list.query_one("#empty-hint", Static).render())
        assert hint.startswith("Ollama is not answering")
        app.chat.prompt.focus()
        await pilot.press(*"hi", "enter")
        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: len(notices(app)) >= 2)
        for notice in notices(app)[-2:]:
            if "not answering" in notice:
                assert "ollama serve" in notice and unused_url in notice
        assert not any("ollama pull" in notice for notice in notices(app))
        assert not any("Choose a model first" in notice for notice in notices(app))
        assert app.chat.prompt.text == "hi"


async def test_an_empty_server_says_to_pull_a_model_here(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    fake_ollama.models.clear()
    app = build_app(fake_ollama.url, model=None)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await wait_until(pilot, lambda: app.session.models.loaded)
        hint = app.chat.message_list.query_one("#empty-hint", Static)
        await wait_until(pilot, lambda: str(hint.render()).startswith("No models yet"))
        assert "F3, then p" in str(hint.render())
        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: len(notices(app)) >= 1)
        assert "No models on" in notices(app)[-1] and "F3, then p" in notices(app)[-1]

        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, ModelsScreen))
        summary = app.screen.query_one("#details-summary", Static)
        await wait_until(pilot, lambda: "No models installed" in str(summary.render()))
        await pilot.pause()  # the empty state's styles apply on the next refresh
        hidden = app.screen.query(".details-heading, .details-section")
        assert len(hidden) == 6 and not any(part.display for part in hidden)
        await pilot.press("escape")

        fake_ollama.models.extend(DEFAULT_MODELS)  # pulled from another terminal
        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press("enter")
        await wait_until(pilot, lambda: bool(app.chat.conversation.model))
        assert str(hint.render()).startswith("A new conversation")


async def test_a_relaunch_reopens_the_last_conversation_with_its_model(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    app = build_app(fake_ollama.url, model=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        picked = app.chat.conversation.model
        assert picked == "llama3.2:latest"  # the app picked the first model by itself
        await send(pilot, app, "remember me")
        await settle(pilot, app)
        first_id = app.chat.conversation.id
        await pilot.press("ctrl+n")  # a new conversation keeps a model too
        assert app.chat.conversation.model == picked
        assert app.chat.conversation.id != first_id

    # A model pulled meanwhile is listed first (newest); the choice made before holds.
    gemma = next(m for m in PULLABLE_MODELS if m.name == "gemma3:1b")
    fake_ollama.models.insert(0, gemma)
    again = build_app(fake_ollama.url, model=None)
    async with again.run_test(size=(120, 40)) as pilot:
        await connected(pilot, again)
        assert again.chat.conversation.id == first_id
        assert again.chat.conversation.messages[0].content == "remember me"
        assert again.chat.conversation.model == picked
        await pilot.press("ctrl+n")
        assert again.chat.conversation.model == picked

    fresh = build_app(fake_ollama.url, model=None, reopen_last=False)
    async with fresh.run_test(size=(120, 40)) as pilot:
        await connected(pilot, fresh)
        assert not fresh.chat.conversation.messages


async def test_the_palette_keeps_one_help_and_a_screenshot_that_says_where(
    unused_url: str, build_app: MakeApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "screenshot_folder", lambda: tmp_path / "pictures")
    app = build_app(unused_url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert titles.count("Help") == 1
        for gone in ("Keys", "Maximize", "Minimize"):
            assert gone not in titles
        assert {"Theme", "Quit", "Screenshot"} <= set(titles)

        await run_command(pilot, app, "Screenshot")
        await wait_until(pilot, lambda: any("Screenshot saved to" in n for n in notices(app)))
        [picture] = (tmp_path / "pictures").iterdir()
        assert picture.suffix == ".svg" and str(picture) in notices(app)[-1]


async def test_an_unexpected_error_leaves_its_traceback_in_the_log_and_one_line(
    unused_url: str, build_app: MakeApp, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log_file = configure_logging(logging.WARNING, tmp_path / "log" / "ollama-tui.log")

    def broken() -> None:
        raise RuntimeError("something nobody expected")

    app = build_app(unused_url)
    with pytest.raises(RuntimeError):
        async with app.run_test(size=(120, 40)) as pilot:
            app.call_later(broken)
            await pilot.pause()
    logged = log_file.read_text(encoding="utf-8")
    assert "Traceback" in logged and "RuntimeError: something nobody expected" in logged
    assert app.crash == (
        "ollama-tui stopped on an unexpected error (RuntimeError: something nobody expected). "
        f"The traceback is in {log_file}."
    )
    assert "something nobody expected" not in capsys.readouterr().err  # no page of locals


async def test_earlier_prompts_come_back_with_alt_up_across_conversations_and_restarts(
    fake_ollama: FakeOllama, build_app: MakeApp, state_path: Path
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        for text in ("first question", "second question"):
            await send(pilot, app, text)
            await settle(pilot, app)
        await pilot.press("ctrl+n")
        await send(pilot, app, "in another conversation")
        await settle(pilot, app)

        prompt = app.chat.prompt
        prompt.focus()
        await pilot.press(*"a draft")
        await pilot.press("alt+up")
        assert prompt.text == "in another conversation"
        await pilot.press("alt+up", "alt+up")
        assert prompt.text == "first question"
        assert prompt.cursor_location == (0, len("first question"))
        await pilot.press("alt+up")  # nothing earlier: it stays
        assert prompt.text == "first question"
        await pilot.press("alt+down", "alt+down", "alt+down")
        assert prompt.text == "a draft"  # past the newest, the draft comes back

    history = state_path.parent / "prompts.json"
    assert json.loads(history.read_text()) == [
        "first question",
        "second question",
        "in another conversation",
    ]
    history.write_text('["kept", 3, {"x": 1}, ""]')  # hand-edited: what is not a prompt goes
    again = build_app(fake_ollama.url)
    async with again.run_test(size=(120, 40)) as pilot:
        again.chat.prompt.focus()
        await pilot.press("alt+up")
        assert again.chat.prompt.text == "kept"


async def test_stop_sequences_and_min_p_from_the_panel_reach_the_server_and_are_saved(
    fake_ollama: FakeOllama, build_app: MakeApp, data_dir: Path
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(140, 45)) as pilot:
        await connected(pilot, app)
        panel = app.chat.parameters
        await wait_until(pilot, lambda: bool(panel.query("#stop")))
        panel.query_one("#min_p", Input).value = "0.05"
        stop = panel.query_one("#stop", Input)
        stop.value = r"a\q"
        await wait_until(pilot, lambda: panel.query_one("#stop-note").display)
        assert "Stop" in panel.invalid_fields
        stop.value = r"###, \n\nUser\, then"
        await wait_until(pilot, lambda: app.chat.conversation.options.stop is not None)
        assert panel.invalid_fields == []
        await send(pilot, app, "hello")
        await settle(pilot, app)
        options = fake_ollama.chat_requests()[-1]["options"]
        assert options["min_p"] == 0.05
        assert options["stop"] == ["###", "\n\nUser, then"]

    again = build_app(fake_ollama.url)
    async with again.run_test(size=(140, 45)) as pilot:
        await connected(pilot, again)
        panel = again.chat.parameters
        await wait_until(pilot, lambda: bool(panel.query("#stop")))
        assert again.chat.conversation.options.stop == ("###", "\n\nUser, then")
        await wait_until(pilot, lambda: panel.query_one("#stop", Input).value != "")
        assert panel.query_one("#stop", Input).value == r"###, \n\nUser\, then"
        assert panel.query_one("#min_p", Input).value == "0.05"


async def test_each_screen_shows_its_own_keys_in_the_room_there_is(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    def shown(app: OllamaTUI) -> list[str]:
        """Keys whose footer entry is wholly on screen, left of the palette's key."""
        limit = app.size.width - len(" ^p palette ")
        return [k.key for k in app.screen.query(FooterKey) if 0 < k.region.right <= limit]

    app = build_app(fake_ollama.url)
    async with app.run_test(size=(80, 30)) as pilot:
        await connected(pilot, app)
        await pilot.pause()
        assert {"ctrl+q", "f1", "ctrl+l", "f3", "ctrl+n"} <= set(shown(app))
        await send(pilot, app, "hi")
        await settle(pilot, app)
        await pilot.press("ctrl+up")
        await pilot.pause()
        assert {"c", "e", "r", "escape", "ctrl+q", "f1"} <= set(shown(app))
        await pilot.press("escape", "ctrl+l")
        await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.pause()
        assert shown(app) == ["escape"]  # the picker's, not the prompt's Send and Newline
        await pilot.press("escape", "f1")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause()
        assert shown(app) == ["escape"]


async def test_the_cursor_stops_blinking_lit_while_nobody_types(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    """An idle screen draws nothing: the prompt's cursor blinks a while after the last key,
    then stays lit, and blinks again at the next key."""
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        prompt = app.chat.prompt
        prompt.blink_seconds = 1.0
        await pilot.press("h")
        assert prompt.blinking
        await wait_until(pilot, lambda: not prompt.blinking, timeout=5)
        for _ in range(8):  # lit, and left alone
            await pilot.pause(0.1)
            assert prompt._cursor_visible and not prompt.blinking
        await pilot.press("i")
        assert prompt.blinking and prompt.text == "hi"
        prompt.blur()
        await pilot.pause()
        assert not prompt.blinking


async def test_a_hint_changed_while_the_app_closes_is_no_error(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    """The model list can come back while the app closes, after the message list's children
    are gone (as Textual removes them, innermost first): the hint's change is simply unseen."""
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await app.chat.message_list.remove_children()
        assert await app.chat.refresh_models()
