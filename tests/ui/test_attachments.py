"""Attaching files through the app, against the fake Ollama with vision models installed."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual import events
from textual.widgets import Collapsible, Input, OptionList

from ollama_tui.chat.conversation import Conversation, MessageState
from ollama_tui.chat.intake import prepare
from ollama_tui.chat.store import ConversationStore
from ollama_tui.ui.app import OllamaTUI
from ollama_tui.ui.screens.attach import AttachScreen, ImageScreen
from ollama_tui.ui.screens.confirm import ConfirmScreen
from ollama_tui.ui.screens.picker import PickerScreen
from ollama_tui.ui.widgets.attachments import AttachedImage, AttachmentChip, MessageAttachments
from tests.fake_ollama import DEFAULT_MODELS, VISION_MODELS, FakeOllama
from tests.images import picture
from tests.ui.conftest import MakeApp, connected, notices, on_disk, send, settle, wait_until
from tests.ui.test_security import assert_inert, terminal_output

SIZE = (120, 40)


@pytest.fixture
def vision_ollama() -> Iterator[FakeOllama]:
    with FakeOllama(models=[*VISION_MODELS, *DEFAULT_MODELS]) as server:
        yield server


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory holding a photo, a source file and a fake PNG."""
    folder = tmp_path / "work"
    (folder / "docs").mkdir(parents=True)
    (folder / "cat.png").write_bytes(picture(64, 48))
    (folder / "docs" / "notes.md").write_text("# Notes\n\nBuy milk.\n")
    (folder / "fake.png").write_text("not a picture")
    monkeypatch.chdir(folder)
    return folder


async def attach_by_prompt(pilot, app: OllamaTUI, typed: str, chips: int | None = None) -> None:  # type: ignore[no-untyped-def]
    """Attach `typed` with ctrl+o; with `chips`, wait until that many files are attached."""
    await pilot.press("ctrl+o")
    await wait_until(pilot, lambda: isinstance(app.screen, AttachScreen))
    app.screen.query_one("#attach-path", Input).value = typed
    await pilot.press("enter")
    await wait_until(pilot, lambda: not isinstance(app.screen, AttachScreen))
    await pilot.pause()
    if chips is not None:
        await wait_until(pilot, lambda: len(app.chat.chips.pending) == chips)


async def test_attach_an_image_and_a_text_file_and_send(
    vision_ollama: FakeOllama, build_app: MakeApp, files: Path, data_dir: Path
) -> None:
    app = build_app(vision_ollama.url, model="gemma3:4b")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await connected(pilot, app)
        await attach_by_prompt(pilot, app, "cat.png", chips=1)
        await attach_by_prompt(pilot, app, "docs/notes.md", chips=2)
        assert [chip.attachment.name for chip in app.query(AttachmentChip)] == [
            "cat.png",
            "notes.md",
        ]
        await send(pilot, app, "What do you see?")
        await settle(pilot, app)

        assert app.chat.chips.pending == [] and not app.chat.chips.display
        request = vision_ollama.chat_requests()[-1]
        (message,) = request["messages"]
        assert (
            message["content"]
            == "What do you see?\n\nnotes.md:\n```markdown\n# Notes\n\nBuy milk.\n```"
        )
        assert base64.b64decode(message["images"][0]) == picture(64, 48)
        reply = app.chat.conversation.messages[1]
        assert "**images** 1" in reply.content and reply.state is MessageState.COMPLETE

        view = app.chat.message_list.view_of(app.chat.conversation.messages[0])
        assert view is not None
        assert len(view.query(AttachedImage)) == 1
        assert str(view.query_one(Collapsible).title) == "notes.md · 19 B"

        # A later turn sends the image again: the history keeps it.
        await send(pilot, app, "And now?")
        await settle(pilot, app)
        later = vision_ollama.chat_requests()[-1]["messages"]
        assert len(later[0]["images"]) == 1 and "images" not in later[2]

        # enter on the picture opens it larger
        view.query_one(AttachedImage).focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ImageScreen))
        await pilot.press("escape")

    saved = on_disk(data_dir)
    assert [a.name for a in saved.messages[0].attachments] == ["cat.png", "notes.md"]
    stored = sorted(p.suffix for p in (data_dir / "attachments").iterdir())
    assert stored == [".md", ".png"]


async def test_bad_files_are_refused_in_one_line_and_the_draft_stays(
    vision_ollama: FakeOllama, build_app: MakeApp, files: Path
) -> None:
    app = build_app(vision_ollama.url, model="gemma3:4b")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await connected(pilot, app)
        app.chat.prompt.text = "half-typed question"
        for typed in ("fake.png", "missing.txt", "/dev/zero"):
            await attach_by_prompt(pilot, app, typed)
        await wait_until(pilot, lambda: len(notices(app)) >= 3)
        assert notices(app)[-3:] == [
            "fake.png is named as a PNG image but is not one",
            f"missing.txt: no such file ({files / 'missing.txt'})",
            "zero is a device: only regular files can be attached",
        ]
        assert app.chat.prompt.text == "half-typed question"
        assert app.chat.chips.pending == []
        assert vision_ollama.chat_requests() == []


async def test_chips_can_be_removed_before_sending(
    vision_ollama: FakeOllama, build_app: MakeApp, files: Path
) -> None:
    app = build_app(vision_ollama.url, model="gemma3:4b")
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        await attach_by_prompt(pilot, app, "cat.png", chips=1)
        app.query_one(AttachmentChip).focus()
        await pilot.press("delete")
        await wait_until(pilot, lambda: not app.chat.chips.pending)
        assert not app.query(AttachmentChip) and not app.chat.chips.display


async def test_completion_of_folders_and_files(
    vision_ollama: FakeOllama, build_app: MakeApp, files: Path
) -> None:
    app = build_app(vision_ollama.url, model="gemma3:4b")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, AttachScreen))
        await pilot.press("d", "tab")
        path = app.screen.query_one("#attach-path", Input)
        assert path.value == "docs/"
        await pilot.press("tab")
        assert path.value == "docs/notes.md"
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(app.chat.chips.pending) == 1)
        assert app.chat.chips.pending[0].name == "notes.md"


async def test_a_model_without_vision_is_refused_images_and_offered_one_that_sees(
    vision_ollama: FakeOllama, build_app: MakeApp, files: Path
) -> None:
    app = build_app(vision_ollama.url, model="llama3.2:latest")
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        await attach_by_prompt(pilot, app, "cat.png", chips=1)
        await send(pilot, app, "What is it?")
        await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen))
        assert app.chat.prompt.text == "What is it?"
        assert vision_ollama.chat_requests() == []
        options = app.screen.query_one("#picker-options", OptionList).options
        labels = [str(option.prompt) for option in options]
        assert labels[:2] == ["Switch to gemma3:4b and send", "Switch to llava:7b and send"]
        await pilot.press("enter")
        await settle(pilot, app)
        assert app.chat.conversation.model == "gemma3:4b"
        request = vision_ollama.chat_requests()[-1]
        assert request["model"] == "gemma3:4b" and len(request["messages"][0]["images"]) == 1


async def test_switching_to_a_text_only_model_says_images_stay_behind(
    vision_ollama: FakeOllama, build_app: MakeApp, files: Path
) -> None:
    app = build_app(vision_ollama.url, model="gemma3:4b")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await connected(pilot, app)
        await attach_by_prompt(pilot, app, "cat.png", chips=1)
        await send(pilot, app, "What is it?")
        await settle(pilot, app)
        app.chat._switch_model("llama3.2:latest")
        warning = (
            "llama3.2:latest cannot see images: the 1 image(s) of this conversation will not be "
            "sent to it."
        )
        await wait_until(pilot, lambda: warning in notices(app))
        await app.session.models.details_of("llama3.2:latest")
        await send(pilot, app, "Describe it in words.")
        await settle(pilot, app)
        request = vision_ollama.chat_requests()[-1]
        assert all("images" not in m for m in request["messages"])
        assert app.chat.conversation.messages[-1].state is MessageState.COMPLETE


async def test_a_pasted_path_is_offered_as_an_attachment(
    vision_ollama: FakeOllama, build_app: MakeApp, files: Path
) -> None:
    app = build_app(vision_ollama.url, model="gemma3:4b")
    async with app.run_test(size=SIZE) as pilot:
        app.chat.prompt.focus()
        app.chat.prompt.post_message(events.Paste(f"'{files / 'cat.png'}'"))
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(pilot, lambda: len(app.chat.chips.pending) == 1)
        assert app.chat.prompt.text == ""
        app.chat.prompt.post_message(events.Paste(str(files / "docs" / "notes.md")))
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await wait_until(pilot, lambda: app.chat.prompt.text == str(files / "docs" / "notes.md"))
        assert len(app.chat.chips.pending) == 1


async def test_a_missing_attachment_file(
    vision_ollama: FakeOllama, build_app: MakeApp, files: Path, data_dir: Path
) -> None:
    store = ConversationStore(data_dir)
    image = store.attachments.add(prepare(files / "cat.png"))
    conversation = Conversation(model="gemma3:4b")
    conversation.add_user_message("What is it?", [image])
    store.save(conversation)
    store.attachments.path_of(image).unlink()

    app = build_app(vision_ollama.url, model="gemma3:4b")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await connected(pilot, app)
        await app.chat.open(conversation.id)
        await pilot.pause()
        assert any("missing from the data folder (cat.png)" in n for n in notices(app))
        (placeholder,) = app.query(MessageAttachments).first().query(".attachment-missing")
        assert "cat.png" in str(placeholder.render())
        await send(pilot, app, "Still there?")
        await pilot.pause()
        assert notices(app)[-1].startswith("the attached image “cat.png” is missing")
        assert app.chat.prompt.text == "Still there?"
        assert vision_ollama.chat_requests() == []

        # The same file attached again brings the stored copy back (same bytes, same name).
        await attach_by_prompt(pilot, app, "cat.png", chips=1)
        assert store.attachments.exists(image)
        await pilot.press("enter")
        await settle(pilot, app)
        (request,) = vision_ollama.chat_requests()
        assert [len(m.get("images", [])) for m in request["messages"]] == [1, 1]


async def test_emptying_the_trash_deletes_only_files_nothing_else_uses(
    vision_ollama: FakeOllama, build_app: MakeApp, files: Path, data_dir: Path
) -> None:
    store = ConversationStore(data_dir)
    shared = store.attachments.add(prepare(files / "cat.png"))
    alone = store.attachments.add(prepare(files / "docs" / "notes.md"))
    kept, trashed = Conversation(), Conversation()
    kept.add_user_message("kept", [shared])
    trashed.add_user_message("trashed", [shared, alone])
    store.save(kept)
    store.save(trashed)
    store.delete(trashed.id)

    app = build_app(vision_ollama.url, model="gemma3:4b")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        app.chat.action_empty_trash()
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(
            pilot, lambda: "Deleted 1 conversation(s) and 1 attached file(s)." in notices(app)
        )
    assert store.attachments.exists(shared) and not store.attachments.exists(alone)
    assert store.trashed() == []


async def test_hostile_file_names_are_inert(
    vision_ollama: FakeOllama, build_app: MakeApp, files: Path
) -> None:
    hostile = "[@click=app.quit]x [red]arr[0 \x1b]0;pwned\x07"  # no "/" in a file name
    (files / f"{hostile}.md").write_text("text")
    (files / f"{hostile}.png").write_bytes(picture(8, 8))
    app = build_app(vision_ollama.url, model="gemma3:4b")
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        for suffix in (".md", ".png"):
            await app.chat.attach(files / f"{hostile}{suffix}")
        await wait_until(pilot, lambda: len(app.chat.chips.pending) == 2)
        await send(pilot, app, "names")
        await settle(pilot, app)
        view = app.chat.message_list.view_of(app.chat.conversation.messages[0])
        assert view is not None
        literal = "[@click=app.quit]x [red]arr[0 ]0;pwned"
        assert str(view.query_one(Collapsible).title) == f"{literal}.md · 4 B"
        caption = str(view.query_one(".attachment-caption").render())
        assert caption.startswith(f"▣ {literal}.png")
        assert_inert(terminal_output(app))
        assert app.is_running
