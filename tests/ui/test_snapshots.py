"""Pictures of the main screens at 120x40, compared with the stored SVGs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Collapsible

from ollama_tui.chat.conversation import Conversation, Message, MessageState, Role
from ollama_tui.chat.options import Options
from ollama_tui.chat.store import ConversationStore
from ollama_tui.ui.app import OllamaTUI
from ollama_tui.ui.widgets import sidebar
from ollama_tui.ui.widgets.status_bar import Connection
from tests.fake_ollama import FakeOllama
from tests.ui.conftest import MakeApp, wait_until

pytestmark = pytest.mark.usefixtures("list_clock")

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
    await wait_until(pilot, lambda: app.chat.status.connection is Connection.CONNECTED)
    await wait_until(pilot, lambda: bool(app.session.models.listed))
    await wait_until(pilot, lambda: app.query_one("#num_ctx-note").display)
    app.chat.status.host = "http://127.0.0.1:11434"  # the fake server's port differs on every run
    app.chat.prompt.cursor_blink = False
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
        await wait_until(pilot, lambda: app.chat.conversation.id == "snapshot0000001")
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


LIBRARY_NOW = datetime(2026, 1, 9, 15, 0, tzinfo=UTC)
"""The moment the grouped-sidebar picture is taken (tests run with TZ=UTC)."""


def library() -> list[Conversation]:
    """Conversations in every group of the sidebar, with fixed ids and times."""
    days_ago = {
        "Plan a week of vegetarian dinners": 0,
        "Why is my Rust borrow checker angry": 0,
        "Translate a letter to German": 1,
        "Explain Raft leader election": 3,
        "Sourdough starter schedule": 40,
        "Bash one-liner to rename photos": 12,
    }
    conversations = []
    for number, (title, days) in enumerate(days_ago.items()):
        moment = (LIBRARY_NOW - timedelta(days=days, hours=number)).isoformat(
            timespec="milliseconds"
        )
        conversation = Conversation(
            id=f"library{number:08d}",
            title=title,
            model="qwen3:0.6b" if number % 2 else "llama3.2:latest",
            created_at=moment,
            updated_at=moment,
            pinned=title.startswith("Bash"),
        )
        conversation.messages = [
            Message(Role.USER, title + "?", id=f"q{number}", created_at=moment),
            Message(
                Role.ASSISTANT,
                f"Here is an answer about {title.lower()}.",
                model=conversation.model,
                id=f"r{number}",
                created_at=moment,
            ),
        ]
        conversations.append(conversation)
    return conversations


@pytest.fixture
def saved_library(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, list_clock: datetime
) -> ConversationStore:
    """The library saved, and the sidebar's clock stopped at LIBRARY_NOW (after the module's
    `list_clock`, which it overrides)."""
    monkeypatch.setattr(sidebar, "local_now", lambda: LIBRARY_NOW)
    store = ConversationStore(data_dir)
    for conversation in library():
        store.save(conversation)
    return store


def test_grouped_sidebar_and_a_message_with_versions(
    snap_compare: Callable[..., bool],
    server: FakeOllama,
    build_app: MakeApp,
    saved_library: ConversationStore,
) -> None:
    store = saved_library
    opened = library()[0]
    reply = opened.messages[-1]
    earlier = Message(
        Role.ASSISTANT,
        "An earlier answer.",
        model="mistral:7b",
        id="r0old",
        created_at=reply.created_at,
    )
    reply.versions = [earlier]
    store.save(opened)

    async def open_and_focus(pilot: Pilot[None]) -> None:
        await ready(pilot)
        app = pilot.app
        assert isinstance(app, OllamaTUI)
        app.chat.sidebar.focus()
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: app.chat.conversation.id == opened.id)
        await wait_until(pilot, lambda: app.query_one("#num_ctx-note").display)
        await pilot.press("ctrl+up")
        await pilot.pause()

    assert snap_compare(build_app(server.url), terminal_size=SIZE, run_before=open_and_focus)


@pytest.mark.usefixtures("saved_library")
def test_search_results(
    snap_compare: Callable[..., bool], server: FakeOllama, build_app: MakeApp
) -> None:

    async def search(pilot: Pilot[None]) -> None:
        await ready(pilot)
        await pilot.press("ctrl+f", *"answer")
        app = pilot.app
        assert isinstance(app, OllamaTUI)
        await wait_until(pilot, lambda: len(getattr(app.screen, "_hits", ())) == 6)
        await pilot.pause()

    assert snap_compare(build_app(server.url), terminal_size=SIZE, run_before=search)


def test_thinking_reply(
    snap_compare: Callable[..., bool], server: FakeOllama, build_app: MakeApp, data_dir: Path
) -> None:
    stamp = "2026-01-02T09:15:00.000+00:00"
    conversation = Conversation(
        id="thinking0000001",
        title="Is 1001 prime?",
        model="qwen3:0.6b",
        think=True,
        created_at=stamp,
        updated_at=stamp,
    )
    conversation.messages = [
        Message(Role.USER, "Is 1001 prime?", id="u1", created_at=stamp),
        Message(
            Role.ASSISTANT,
            "No. **1001 = 7 × 11 × 13**, so it has divisors other than 1 and itself.",
            model="qwen3:0.6b",
            thinking="The user asks whether 1001 is prime. Try small primes: 1001 / 7 = 143, "
            "and 143 = 11 × 13. So 1001 = 7 × 11 × 13: not prime.",
            stats={"eval_count": 58, "eval_duration": 900_000_000},
            id="a1",
            created_at=stamp,
        ),
    ]
    ConversationStore(data_dir).save(conversation)

    async def open_and_expand(pilot: Pilot[None]) -> None:
        await ready(pilot)
        await pilot.press("ctrl+b", "enter")
        app = pilot.app
        assert isinstance(app, OllamaTUI)
        await wait_until(pilot, lambda: app.chat.conversation.id == "thinking0000001")
        await wait_until(pilot, lambda: app.query_one("#think-select").display)
        app.query_one(Collapsible).collapsed = False
        app.chat.prompt.focus()
        await pilot.pause()

    assert snap_compare(build_app(server.url), terminal_size=SIZE, run_before=open_and_expand)
