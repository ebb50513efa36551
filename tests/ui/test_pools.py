"""A pool of hosts in the app: the status line says where a reply went instead, the reply's
header names its host, Switch host lists the pool with each host's health, and a conversation
held on the pool goes back to it."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import OptionList, Static

from ollama_tui.chat.store import ConversationStore
from ollama_tui.cli import make_app
from ollama_tui.config import load_settings
from ollama_tui.ui.app import OllamaTUI
from ollama_tui.ui.screens.picker import PickerScreen
from ollama_tui.ui.widgets.message_view import MessageView
from tests.fake_ollama import FakeOllama
from tests.ui.conftest import connected, run_command, send, settle, wait_until

MODEL = "llama3.2:latest"


def app_with_pool(
    config_path: Path, data_dir: Path, default: str = "office", **urls: str
) -> OllamaTUI:
    tables = "".join(f'[hosts.{name}]\nurl = "{url}"\n' for name, url in urls.items())
    members = ", ".join(f'"{name}"' for name in urls)
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(
        f'default_host = "{default}"\nmodel = "{MODEL}"\n[network]\nconnect_timeout = 1.0\n'
        f'{tables}[pools.office]\nhosts = [{members}]\nstrategy = "warm-first"\n'
    )
    app = make_app(load_settings(config_path=config_path, environ={}, data_dir=data_dir))
    assert isinstance(app, OllamaTUI)
    return app


def header_of_last_reply(app: OllamaTUI) -> str:
    view = app.chat.message_list.query(MessageView).last()
    return str(view.query_one(".message-header", Static).content)


async def test_failover_note_in_the_status_line_and_the_host_in_the_header(
    fake_ollama: FakeOllama, unused_url: str, config_path: Path, data_dir: Path
) -> None:
    app = app_with_pool(config_path, data_dir, gpu=unused_url, laptop=fake_ollama.url)
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        await connected(pilot, app)
        assert app.chat.status.host == "office (gpu, laptop)"
        release = fake_ollama.hold(n=3)
        await send(pilot, app, "Hello")
        await wait_until(pilot, lambda: "answering" in app.chat.status.activity)
        assert app.chat.status.activity == f"gpu unreachable → laptop · {MODEL} is answering…"
        await wait_until(pilot, lambda: "@ laptop" in header_of_last_reply(app))
        assert header_of_last_reply(app).startswith(f"{MODEL} @ laptop")
        release.set()
        await settle(pilot, app)
        assert header_of_last_reply(app).startswith(f"{MODEL} @ laptop")
        conversation = app.chat.conversation

    saved = ConversationStore(data_dir).load(conversation.id)
    assert saved.host == "office" and saved.messages[-1].host == "laptop"


async def test_switch_host_lists_the_pool_and_a_conversation_returns_to_it(
    fake_ollama: FakeOllama, unused_url: str, config_path: Path, data_dir: Path
) -> None:
    app = app_with_pool(
        config_path, data_dir, default="laptop", gpu=unused_url, laptop=fake_ollama.url
    )
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        await connected(pilot, app)
        assert app.chat.status.host.startswith("laptop ")
        await run_command(pilot, app, "Switch host")
        await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen), 10)
        options = app.screen.query_one(OptionList)
        shown = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert "office   pool, warm-first:   gpu ● down   laptop ●" in shown
        await pilot.press(*"office", "enter")
        await wait_until(pilot, lambda: app.chat.status.host == "office (gpu, laptop)")
        await send(pilot, app, "Hello")
        await settle(pilot, app)
        conversation_id = app.chat.conversation.id
        assert app.chat.conversation.host == "office"

    again = app_with_pool(
        config_path, data_dir, default="laptop", gpu=unused_url, laptop=fake_ollama.url
    )
    async with again.run_test(size=(140, 40), notifications=True) as pilot:
        await connected(pilot, again)
        await pilot.press("ctrl+b", "enter")
        await wait_until(pilot, lambda: again.chat.conversation.id == conversation_id)
        await wait_until(pilot, lambda: again.session.hosts.pool is not None)
        assert again.chat.status.host == "office (gpu, laptop)"
        assert any(
            n.message == "Switched to pool office (gpu, laptop), where this conversation was held."
            for n in again._notifications
        )
