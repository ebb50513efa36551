"""The conversation library: saving (with the merge notice), the search index, the trash,
duplicates, import and export, and what a new conversation starts with."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path

from ollama_tui.chat.attachments import Attachment
from ollama_tui.chat.conversation import Conversation, MemoryStrategy
from ollama_tui.chat.export import ExportFormat, TransferError, import_file, write_export
from ollama_tui.chat.search import SearchError, SearchIndex
from ollama_tui.chat.store import ConversationStore, ConversationSummary, StoreError
from ollama_tui.config import Settings
from ollama_tui.session.notices import Notice, Notify


class Library:
    """Every saved conversation; failures become notices and the conversation stays in memory."""

    def __init__(self, settings: Settings, notify: Notify) -> None:
        self.settings = settings
        self.notify = notify
        self.store = ConversationStore(settings.data_dir)
        self.search_index = SearchIndex(settings.data_dir)

    def new_conversation(self) -> Conversation:
        """An empty conversation with the configured model and defaults."""
        defaults = self.settings.defaults
        return Conversation(
            model=self.settings.model,
            system_prompt=defaults.system_prompt,
            memory=MemoryStrategy(defaults.memory),
            options=replace(defaults.options),
        )

    def summaries(self) -> list[ConversationSummary]:
        return self.store.list()

    @property
    def set_aside(self) -> list[Path]:
        """Damaged files moved out of the way while the library was read."""
        return self.store.set_aside

    def load(self, conversation_id: str, *, failure: str = "Cannot open") -> Conversation | None:
        try:
            return self.store.load(conversation_id)
        except StoreError as error:
            self._failed(failure, error)
            return None

    def save(self, conversation: Conversation, *, index: bool = True) -> int | None:
        """Write a conversation; returns how many messages a merge brought in, or None when it
        could not be written (it stays in memory, and the next change tries again).

        `index=False` (checkpoints of a streaming reply) leaves the search index for later.
        """
        try:
            merged = self.store.save(conversation)
        except StoreError as error:
            self._failed("Not saved", error)
            return None
        if index:
            self.index(conversation)
        if merged:
            self.notify(
                Notice(
                    f"{merged} message(s) written by another ollama-tui were merged into "
                    f"'{conversation.title}'."
                )
            )
        return merged

    def index(self, conversation: Conversation) -> None:
        try:
            self.search_index.update(conversation)
        except SearchError as error:
            self.notify(Notice(f"Search index not updated: {error}", "warning"))

    def sync_index(self) -> Notice | None:
        """Bring the search index up to date with files changed while the app was closed.

        Runs in a thread, so the problem is returned rather than reported."""
        try:
            self.search_index.sync(ConversationStore(self.settings.data_dir))
        except SearchError as error:
            return Notice(f"Search index: {error}", "warning")
        return None

    def delete(self, conversation_id: str) -> bool:
        """Move a conversation to the trash; False (and a notice) when it could not."""
        try:
            self.store.delete(conversation_id)
        except StoreError as error:
            self._failed("Not deleted", error)
            return False
        with contextlib.suppress(SearchError):
            self.search_index.remove(conversation_id)
        return True

    def trashed(self) -> list[ConversationSummary]:
        return self.store.trashed()

    def restore(self, conversation_id: str) -> Conversation | None:
        """Bring a conversation back from the trash, into the index too."""
        try:
            conversation = self.store.restore(conversation_id)
        except StoreError as error:
            self._failed("Not restored", error)
            return None
        self.index(conversation)
        return conversation

    def duplicate(self, conversation: Conversation) -> Conversation | None:
        """A saved copy of `conversation` under a new id, or None when it could not be written."""
        copy = conversation.duplicate()
        return copy if self.save(copy) is not None else None

    def export(self, conversation: Conversation, target: Path, kind: ExportFormat) -> bool:
        try:
            write_export(conversation, target, kind, self.store.attachments)
        except TransferError as error:
            self._failed("Not exported", error)
            return False
        return True

    def import_file(self, path: Path) -> Conversation | None:
        """Add a conversation from a JSON export (never over an existing one)."""
        try:
            conversation = import_file(path, self.store)
        except TransferError as error:
            self._failed("Not imported", error)
            return None
        self.index(conversation)
        return conversation

    def missing_attachments(self, conversation: Conversation) -> list[Attachment]:
        """Read the text of the conversation's attached text files (the requests and the
        memory planner use it); returns the attached files gone from the data folder."""
        return self.store.attachments.load_texts(conversation)

    def empty_trash(self) -> tuple[int, int] | None:
        """Delete the trashed conversations for good, and the attached files only they used;
        returns how many of each went, or None when it failed (a notice says why)."""
        try:
            return self.store.empty_trash()
        except StoreError as error:
            self._failed("Trash not emptied", error)
            return None

    def close(self) -> None:
        self.store.flush_index()
        self.search_index.close()

    def _failed(self, title: str, error: Exception) -> None:
        self.notify(Notice(str(error), "error", title))
