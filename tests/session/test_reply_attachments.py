"""A reply run with attached files, no screen: images on every request for a model that sees
them, none for one that does not, and a missing image named instead of a request sent."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from ollama_tui.chat.attachments import Attachment
from ollama_tui.chat.conversation import Conversation, MessageState
from ollama_tui.chat.intake import prepare
from ollama_tui.session import Notice, Session
from ollama_tui.session.reply import Finished, ReplyEvent, ReplyRun
from tests.fake_ollama import DEFAULT_MODELS, VISION_MODELS, FakeOllama
from tests.images import picture
from tests.session.conftest import settings_for


@pytest.fixture
async def vision_session(tmp_path: Path) -> AsyncIterator[tuple[Session, FakeOllama]]:
    with FakeOllama(models=[*VISION_MODELS, *DEFAULT_MODELS]) as server:
        notices: list[Notice] = []
        session = Session.open(settings_for(server.url, tmp_path), notices.append)
        yield session, server
        await session.close()


def stored_image(session: Session, folder: Path) -> Attachment:
    path = folder / "cat.png"
    path.write_bytes(picture(24, 16))
    return session.library.store.attachments.add(prepare(path))


async def reply_to(
    session: Session, conversation: Conversation, text: str, files: Sequence[Attachment] = ()
) -> ReplyRun:
    """Send `text` (with `files`) and run the reply to its end."""
    conversation.add_user_message(text, files)
    run = ReplyRun(session, conversation, conversation.start_reply())
    events: list[ReplyEvent] = []
    await run.run(events.append)
    assert events[-1] == run.finished
    return run


async def test_images_go_with_every_request_to_a_model_that_sees(
    vision_session: tuple[Session, FakeOllama], tmp_path: Path
) -> None:
    session, server = vision_session
    conversation = Conversation(model="gemma3:4b")
    run = await reply_to(session, conversation, "What is it?", [stored_image(session, tmp_path)])
    assert "**images** 1" in run.reply.content
    later_run = await reply_to(session, conversation, "Sure?")
    assert later_run.finished == Finished(MessageState.COMPLETE)
    first, _, later = server.chat_requests()[-1]["messages"]
    assert base64.b64decode(first["images"][0]) == picture(24, 16)
    assert "images" not in later
    # The estimate counted the image (256 tokens for gemma3) with the text.
    assert session.plan(conversation).image_tokens == 256


async def test_a_model_without_vision_gets_the_text_only(
    vision_session: tuple[Session, FakeOllama], tmp_path: Path
) -> None:
    session, server = vision_session
    await session.models.details_of("llama3.2:latest")
    conversation = Conversation(model="llama3.2:latest")
    run = await reply_to(session, conversation, "What is it?", [stored_image(session, tmp_path)])
    assert run.finished == Finished(MessageState.COMPLETE)
    assert all("images" not in m for m in server.chat_requests()[-1]["messages"])


async def test_a_missing_image_fails_the_reply_naming_it(
    vision_session: tuple[Session, FakeOllama], tmp_path: Path
) -> None:
    session, server = vision_session
    image = stored_image(session, tmp_path)
    session.library.store.attachments.path_of(image).unlink()
    run = await reply_to(session, Conversation(model="gemma3:4b"), "What is it?", [image])
    assert run.finished is not None and run.finished.state is MessageState.FAILED
    assert run.finished.error is not None and "“cat.png” is missing" in run.finished.error
    assert server.chat_requests() == []
