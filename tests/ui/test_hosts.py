"""Several named hosts: switching mid-conversation keeps the history; conversations remember
their host; the picker shows which hosts answer."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import OptionList

from ollama_tui.chat.store import ConversationStore
from ollama_tui.cli import make_app
from ollama_tui.config import load_settings
from ollama_tui.ui.app import OllamaTUI
from ollama_tui.ui.screens.models import ModelsScreen
from ollama_tui.ui.screens.picker import PickerScreen
from tests.fake_ollama import FakeOllama
from tests.ui.conftest import MakeApp, connected, run_command, send, settle, wait_until


def app_with_hosts(config_path: Path, data_dir: Path, **urls: str) -> OllamaTUI:
    tables = "".join(f'[hosts.{name}]\nurl = "{url}"\n' for name, url in urls.items())
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(
        f'default_host = "{next(iter(urls))}"\nmodel = "llama3.2:latest"\n{tables}'
    )
    app = make_app(load_settings(config_path=config_path, environ={}, data_dir=data_dir))
    assert isinstance(app, OllamaTUI)
    return app


async def test_switch_host_mid_conversation_keeps_the_history(
    fake_ollama: FakeOllama, unused_url: str, config_path: Path, data_dir: Path
) -> None:
    with FakeOllama() as other:
        app = app_with_hosts(
            config_path, data_dir, laptop=fake_ollama.url, gpu=other.url, offline=unused_url
        )
        async with app.run_test(size=(120, 40), notifications=True) as pilot:
            await connected(pilot, app)
            assert app.chat.status.host.startswith("laptop ")
            await send(pilot, app, "asked on the laptop")
            await settle(pilot, app)
            first_reply = app.chat.conversation.messages[-1].content

            await run_command(pilot, app, "Switch host")
            await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen), 10)
            options = app.screen.query_one(OptionList)
            shown = " ".join(
                str(options.get_option_at_index(i).prompt) for i in range(options.option_count)
            )
            assert "gpu" in shown and "Ollama 0.32.15" in shown and "unreachable" in shown
            await pilot.press(*"gpu", "enter")
            await wait_until(pilot, lambda: app.session.hosts.current.name == "gpu")
            await connected(pilot, app)
            assert app.chat.status.host.startswith("gpu ")

            await send(pilot, app, "asked on the gpu box")
            await settle(pilot, app)
            request = other.chat_requests()[-1]
            assert [m["content"] for m in request["messages"]] == [
                "asked on the laptop",
                first_reply,
                "asked on the gpu box",
            ]
            assert len(fake_ollama.chat_requests()) == 1
            conversation_id = app.chat.conversation.id

    assert ConversationStore(data_dir).load(conversation_id).host == "gpu"

    with FakeOllama() as other_again:  # the gpu box is back on another port: new config
        again = app_with_hosts(config_path, data_dir, laptop=fake_ollama.url, gpu=other_again.url)
        async with again.run_test(size=(120, 40), notifications=True) as pilot:
            await connected(pilot, again)
            # Reopened at start (the last conversation), on the host it was held on.
            assert again.chat.conversation.id == conversation_id
            assert again.session.hosts.current.name == "gpu"
            assert again.chat.status.host.startswith("gpu ")
            assert any(
                "where this conversation was held" in n.message for n in again._notifications
            )


async def test_f3_opens_models_and_a_pulled_model_reaches_the_pickers(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        assert "gemma3:1b" not in [m.name for m in app.session.models.listed]
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, ModelsScreen))
        await pilot.press("ctrl+n")  # main-screen keys do nothing here
        await pilot.press("p", *"gemma3:1b", "enter")
        await wait_until(
            pilot, lambda: "gemma3:1b" in [m.name for m in app.session.models.listed], 20
        )
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, ModelsScreen))
        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen))
        options = app.screen.query_one(OptionList)
        shown = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert any(label.startswith("gemma3:1b") for label in shown)
