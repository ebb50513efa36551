"""What the chat screen asks before a file is attached or a message with files is sent:
reading a file (in a thread: it may be a 12-megapixel photo), the files a request would miss,
and the vision models to offer instead."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from textual.content import Content

from ollama_tui.chat.attachment_store import AttachmentStore
from ollama_tui.chat.attachments import Attachment, images_of
from ollama_tui.chat.conversation import Conversation, Role
from ollama_tui.chat.intake import AttachLimits, prepare
from ollama_tui.ollama import ModelSummary
from ollama_tui.ui.inert import inert
from ollama_tui.ui.screens.picker import SHOWN, Choice, Pickable

KEEP_DRAFT = "keep-draft"


async def read_attachment(path: Path, store: AttachmentStore, limits: AttachLimits) -> Attachment:
    """Check, downscale and store the file at `path` off the event loop.

    Raises AttachmentRefused or AttachmentStoreError with a one-line reason.
    """
    return await asyncio.to_thread(lambda: store.add(prepare(path, limits)))


def conversation_images(conversation: Conversation) -> list[Attachment]:
    """The images of the user's messages on screen (what each request sends again)."""
    return [
        image
        for message in conversation.messages
        if message.role is Role.USER
        for image in images_of(message.attachments)
    ]


def missing_files(needed: Iterable[Attachment], store: AttachmentStore) -> list[Attachment]:
    """The files of `needed` that are gone from the data folder."""
    return [attachment for attachment in needed if not store.exists(attachment)]


class SwitchChoice(NamedTuple):
    """Switch to a vision model and send; its label is made only when the picker shows it."""

    value: str

    @property
    def search(self) -> str:
        return self.value

    @property
    def label(self) -> Content:
        return Content.assemble("Switch to ", inert(self.value), " and send")


def vision_choices(models: Iterable[ModelSummary], model: str) -> list[Pickable]:
    """What to do when `model` cannot see the images attached: switch to an installed vision
    model (sending at once), or keep the draft to change it (listed first when the vision
    models are more than the picker shows at once)."""
    choices: list[Pickable] = [SwitchChoice(m.name) for m in models if "vision" in m.capabilities]
    keep_text = "Keep the message, to remove the images or pick another model (ctrl+l)"
    keep = Choice(KEEP_DRAFT, Content(keep_text), "keep")
    return [*choices, keep] if len(choices) < SHOWN else [keep, *choices]
