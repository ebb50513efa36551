"""Pictures of the main screens at 120x40, compared with the stored SVGs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from ollama_tui.chat.conversation import Conversation, Message, MessageState, Options, Role
from ollama_tui.chat.store import ConversationStore
from ollama_tui.ui.app import OllamaTUI
from ollama_tui.ui.widgets.status_bar import Connection
from tests.fake_ollama import FakeOllama
from tests.ui.conftest import MakeApp, wait_until

SIZE = (120, 40)

CODE_REPLY = """Here is a function that reverses words:

```python
def reverse_words(text: str) -> str:
    \"\"\"Return the words of `text` in reverse order.\"\"\"
    return " ".join(reversed(text.split()))
```

And the same in the shell:

```bash
echo "one two three" | tr ' ' '\\n' | tac | paste -sd' '
```

Both print `three two one`."""


def fixed_conversation() -> Conversation:
    """A conversation with fixed ids and times, so its picture never changes."""
    stamp = "2026-01-02T09:15:00.000+00:00"
    conversation = Conversation(
        id="snapshot0000001",
        title="Reverse the words of a sentence",
        model="llama3.2:latest",
        system_prompt="You are a concise programming assistant.",
        options=Options(temperature=0.2, num_ctx=8192),
        created_at=stamp,
        updated_at=stamp,
    )
    conversation.messages = [
        Message(Role.USER, "How do I reverse the words of a sentence?", id="u1", created_at=stamp),
        Message(
            Role.ASSISTANT,
            CODE_REPLY,
            model="llama3.2:latest",
            stats={"eval_count": 96, "eval_duration": 1_200_000_000},
            id="a1",
            created_at=stamp,
        ),
        Message(Role.USER, "Can it keep punctuation in place?", id="u2", created_at=stamp),
        Message(
            Role.ASSISTANT,
            "Split on whitespace only, then punctuation travels",
            model="mistral:7b",
            state=MessageState.CANCELLED,
            id="a2",
            created_at=stamp,
        ),
    ]
    return conversation


@pytest.fixture
def server() -> Iterator[FakeOllama]:
    with FakeOllama() as fake:
        yield fake


async def ready(pilot: Pilot[None]) -> None:
    """Wait for the connection and model details, then freeze what changes between runs."""
    app = pilot.app
    assert isinstance(app, OllamaTUI)
    await wait_until(pilot, lambda: app.status.connection is Connection.CONNECTED)
    await wait_until(pilot, lambda: bool(app.models))
    await wait_until(pilot, lambda: app.query_one("#num_ctx-note").display)
    app.status.host = "http://127.0.0.1:11434"  # the fake server's port differs on every run
    app.prompt.cursor_blink = False
    await pilot.pause()


def test_empty_main_screen(
    snap_compare: Callable[..., bool], server: FakeOllama, build_app: MakeApp
) -> None:
    assert snap_compare(build_app(server.url), terminal_size=SIZE, run_before=ready)


def test_conversation_with_code_blocks(
    snap_compare: Callable[..., bool], server: FakeOllama, build_app: MakeApp, data_dir: Path
) -> None:
    ConversationStore(data_dir).save(fixed_conversation())

    async def open_it(pilot: Pilot[None]) -> None:
        await ready(pilot)
        await pilot.press("ctrl+b", "enter")
        app = pilot.app
        assert isinstance(app, OllamaTUI)
        await wait_until(pilot, lambda: app.conversation.id == "snapshot0000001")
        await wait_until(pilot, lambda: app.query_one("#num_ctx-note").display)
        await pilot.pause()

    assert snap_compare(build_app(server.url), terminal_size=SIZE, run_before=open_it)


def test_help_screen(
    snap_compare: Callable[..., bool], server: FakeOllama, build_app: MakeApp
) -> None:
    async def open_help(pilot: Pilot[None]) -> None:
        await ready(pilot)
        await pilot.press("f1")
        await pilot.pause()

    assert snap_compare(build_app(server.url), terminal_size=SIZE, run_before=open_help)
