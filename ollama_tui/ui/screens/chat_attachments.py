"""The chat page's commands on attached files: the attach prompt, a pasted path, the chips, what
is checked before a message with files is sent, and emptying the trash."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from functools import partial
from pathlib import Path

from textual import on
from textual.css.query import NoMatches

from ollama_tui.chat.attachment_store import AttachmentStoreError
from ollama_tui.chat.attachments import AttachmentMissing
from ollama_tui.chat.conversation import Conversation
from ollama_tui.chat.intake import AttachmentRefused
from ollama_tui.ui.attaching import (
    KEEP_DRAFT,
    conversation_images,
    missing_files,
    read_attachment,
    vision_choices,
)
from ollama_tui.ui.screens.attach import AttachScreen
from ollama_tui.ui.screens.chat_page import ChatPage
from ollama_tui.ui.screens.confirm import ConfirmScreen
from ollama_tui.ui.screens.picker import PickerScreen
from ollama_tui.ui.widgets.attachments import AttachmentChips
from ollama_tui.ui.widgets.prompt import PromptArea


class AttachmentCommands(ChatPage):
    """Attaching files to the message being written, and checking them before it is sent."""

    def action_attach(self) -> None:
        self.app.push_screen(AttachScreen(Path.cwd()), self._attach_chosen)

    async def _attach_chosen(self, path: Path | None) -> None:
        if path is not None:
            await self.attach(path)
        self.prompt.focus()

    async def attach(self, path: Path) -> None:
        """Read, check and store the file at `path`, and show it as a chip; or say why not."""
        try:
            attachment = await read_attachment(
                path, self.session.library.store.attachments, self.settings.attach_limits
            )
        except (AttachmentRefused, AttachmentStoreError) as error:
            self.notify(str(error), title="Not attached", severity="error", markup=False)
            return
        if not await self.chips.add(attachment):
            self.notify(f"{attachment.name} is attached already.", markup=False)

    @on(PromptArea.PathPasted, "#prompt")
    def _path_pasted(self, event: PromptArea.PathPasted) -> None:
        async def answered(attach: bool | None) -> None:
            if attach:
                await self.attach(event.path)
            else:
                self.prompt.insert(event.text)

        self.app.push_screen(
            ConfirmScreen(
                "Attach the pasted file?", f"{event.path}", yes="Attach", no="Paste text"
            ),
            answered,
        )

    @on(AttachmentChips.Changed, "#attachment-chips")
    def _chips_changed(self) -> None:
        self.prompt.can_send_empty = bool(self.chips.pending)
        with contextlib.suppress(NoMatches):
            self._show_memory()

    async def attachments_can_go(
        self, conversation: Conversation, send_with: Callable[[str], None]
    ) -> bool:
        """Whether the files of this message (and the images of earlier ones) can be sent;
        if not, the app says why (the message stays in the prompt). Images for a model
        without vision: the installed vision models are offered, and `send_with(model)` sends
        with the one chosen."""
        details = await self.session.models.details_of(conversation.model)
        sees = details is None or "vision" in details.capabilities
        earlier = conversation_images(conversation) if sees else []
        store = self.session.library.store.attachments
        missing = missing_files([*earlier, *self.chips.pending], store)
        if missing:
            self.notify(str(AttachmentMissing(missing[0])), severity="error", markup=False)
            return False
        if sees or not any(a.is_image for a in self.chips.pending):
            return True
        self.app.push_screen(
            PickerScreen(
                "This model cannot see images",
                vision_choices(self.session.models.listed, conversation.model),
                hint=f"{conversation.model} has no vision; switch to a model that reads images",
            ),
            partial(self._after_vision_choice, conversation, send_with),
        )
        return False

    def _after_vision_choice(
        self, conversation: Conversation, send_with: Callable[[str], None], choice: str | None
    ) -> None:
        if choice not in (None, KEEP_DRAFT) and conversation is self.conversation:
            send_with(choice)

    def warn_images_stay_behind(self, model: str) -> None:
        """After a switch to `model`: say so if it cannot see this conversation's images."""
        listed = next((m for m in self.session.models.listed if m.name == model), None)
        images = len(conversation_images(self.conversation))
        if images and listed is not None and "vision" not in listed.capabilities:
            self.notify(
                f"{model} cannot see images: the {images} image(s) of this conversation will "
                "not be sent to it.",
                severity="warning",
                markup=False,
            )

    def action_empty_trash(self) -> None:
        count = len(self.session.library.trashed())
        if not count:
            self.notify("The trash is empty.")
            return
        self.app.push_screen(
            ConfirmScreen(
                "Empty the trash",
                f"Delete the {count} conversation(s) in the trash for good, with the attached "
                "files no other conversation uses?",
                yes="Delete",
                danger=True,
            ),
            self._empty_trash,
        )

    def _empty_trash(self, confirmed: bool | None) -> None:
        if not confirmed:
            return
        emptied = self.session.library.empty_trash()
        if emptied is not None:
            conversations, files = emptied
            self.notify(f"Deleted {conversations} conversation(s) and {files} attached file(s).")
