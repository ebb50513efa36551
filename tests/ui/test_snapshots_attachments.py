"""Pictures of messages with attachments: an image drawn in half-blocks, a text file unfolded."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Collapsible

from ollama_tui.chat.conversation import Conversation, Message, Role
from ollama_tui.chat.intake import prepare
from ollama_tui.chat.store import ConversationStore
from ollama_tui.ui.app import OllamaTUI
from tests.fake_ollama import DEFAULT_MODELS, VISION_MODELS, FakeOllama
from tests.images import picture
from tests.ui.conftest import MakeApp, wait_until
from tests.ui.test_snapshots import SIZE, ready

pytestmark = pytest.mark.usefixtures("list_clock")

STAMP = "2026-01-02T09:15:00.000+00:00"


@pytest.fixture
def server() -> Iterator[FakeOllama]:
    with FakeOllama(models=[*VISION_MODELS, *DEFAULT_MODELS]) as fake:
        yield fake


def saved_with(data_dir: Path, tmp_path: Path, name: str, data: bytes, question: str) -> None:
    """A conversation of one question with one attached file, and its answer."""
    store = ConversationStore(data_dir)
    source = tmp_path / name
    source.write_bytes(data)
    attachment = store.attachments.add(prepare(source))
    conversation = Conversation(
        id="attach00000001", title=question, model="gemma3:4b", created_at=STAMP, updated_at=STAMP
    )
    conversation.messages = [
        Message(Role.USER, question, attachments=[attachment], id="u1", created_at=STAMP),
        Message(
            Role.ASSISTANT,
            "A red square on a blue gradient.",
            model="gemma3:4b",
            id="a1",
            created_at=STAMP,
        ),
    ]
    store.save(conversation)


def opened(unfold: bool = False) -> Callable[[Pilot[None]], object]:
    async def open_it(pilot: Pilot[None]) -> None:
        await ready(pilot)
        await pilot.press("ctrl+b", "enter")
        app = pilot.app
        assert isinstance(app, OllamaTUI)
        await wait_until(pilot, lambda: app.chat.conversation.id == "attach00000001")
        if unfold:
            app.query_one(".attached-text", Collapsible).collapsed = False
        await wait_until(pilot, lambda: app.query_one("#num_ctx-note").display)
        await pilot.pause()

    return open_it


def test_message_with_an_image(
    snap_compare: Callable[..., bool],
    server: FakeOllama,
    build_app: MakeApp,
    data_dir: Path,
    tmp_path: Path,
) -> None:
    saved_with(data_dir, tmp_path, "square.png", picture(64, 48), "What is in this picture?")
    app = build_app(server.url, model="gemma3:4b")
    assert snap_compare(app, terminal_size=SIZE, run_before=opened())


def test_message_with_a_text_file(
    snap_compare: Callable[..., bool],
    server: FakeOllama,
    build_app: MakeApp,
    data_dir: Path,
    tmp_path: Path,
) -> None:
    source = "def area(width: float, height: float) -> float:\n    return width * height\n"
    saved_with(data_dir, tmp_path, "shapes.py", source.encode(), "Is this function right?")
    app = build_app(server.url, model="gemma3:4b")
    assert snap_compare(app, terminal_size=SIZE, run_before=opened(unfold=True))
