"""The conversation library: saving (with the merge notice), the search index, the trash,
duplicates, import and export, and what a new conversation starts with."""

from __future__ import annotations

import contextlib
import threading
from dataclasses import replace
from pathlib import Path

from ollama_tui.chat.attachments import Attachment
from ollama_tui.chat.conversation import Conversation, MemoryStrategy
from ollama_tui.chat.export import ExportFormat, TransferError, import_file, write_export
from ollama_tui.chat.search import SearchError, SearchIndex
from ollama_tui.chat.store import ConversationStore, ConversationSummary, StoreError
from ollama_tui.config import Settings
from ollama_tui.session.notices import Notice, Notify

INDEX_RETRY_SECONDS = 2.0
"""How soon a search index update that failed (locked by another program) is tried again."""


def new_conversation(settings: Settings) -> Conversation:
    """An empty conversation with the configured model and [defaults]."""
    defaults = settings.defaults
    return Conversation(
        model=settings.model,
        system_prompt=defaults.system_prompt,
        memory=MemoryStrategy(defaults.memory),
        options=replace(defaults.options),
        tools=list(defaults.tools),
    )


class Library:
    """Every saved conversation; failures become notices and the conversation stays in memory."""

    def __init__(self, settings: Settings, notify: Notify) -> None:
        self.settings = settings
        self.notify = notify
        self.store = ConversationStore(settings.data_dir)
        self.search_index = SearchIndex(settings.data_dir)
        self.unsaved: dict[str, tuple[Conversation, str]] = {}
        """Conversations whose last save failed, with the reason: saved again on every switch
        and at quit, and opened from memory (not from the older file)."""
        self._indexer = _Indexer(self.search_index, notify)

    def new_conversation(self) -> Conversation:
        """An empty conversation with the configured model and defaults."""
        return new_conversation(self.settings)

    def summaries(self) -> list[ConversationSummary]:
        summaries = self.store.list()
        self.report_files()
        return summaries

    def report_files(self) -> None:
        """Tell what the store found: files set aside or left unread, trashed elsewhere."""
        for text in self.store.take_notices():
            self.notify(Notice(text, "warning"))

    def load(self, conversation_id: str, *, failure: str = "Cannot open") -> Conversation | None:
        """A saved conversation; one whose changes could not be saved comes from memory."""
        if conversation_id in self.unsaved:
            return self.unsaved[conversation_id][0]
        try:
            return self.store.load(conversation_id)
        except StoreError as error:
            self._failed(failure, error)
            return None
        finally:
            self.report_files()

    def save_unsaved(self, *, skip: set[str] | frozenset[str] = frozenset()) -> None:
        """Try again to save every conversation whose last save failed (but those in `skip`,
        whose streaming replies save themselves)."""
        for conversation, _ in list(self.unsaved.values()):
            if conversation.id not in skip:
                self.save(conversation)

    def save(self, conversation: Conversation, *, index: bool = True) -> int | None:
        """Write a conversation; returns how many messages a merge brought in, or None when it
        could not be written (it stays in memory, and the next change tries again).

        `index=False` (checkpoints of a streaming reply) leaves the search index for later.
        """
        try:
            merged = self.store.save(conversation)
        except StoreError as error:
            self.unsaved[conversation.id] = (conversation, str(error))
            self._failed("Not saved", error)
            self.report_files()
            return None
        self.unsaved.pop(conversation.id, None)
        self.report_files()
        if index:
            self.index(conversation)
        if merged:
            self.notify(
                Notice(
                    f"{merged} message(s) written or deleted by another ollama-tui were merged "
                    f"into '{conversation.title}'."
                )
            )
        return merged

    def index(self, conversation: Conversation) -> None:
        """Index a conversation off the caller's thread (see `_Indexer`)."""
        self._indexer.add(conversation)

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
        self._indexer.stop()
        self.store.flush_index()
        self.search_index.close()

    def _failed(self, title: str, error: Exception) -> None:
        self.notify(Notice(str(error), "error", title))


class _Indexer:
    """Updates the search index in a thread of its own, so that another program holding the
    index's lock never freezes the screen; an update that fails is kept and tried again every
    INDEX_RETRY_SECONDS, with one notice per failing streak."""

    def __init__(self, index: SearchIndex, notify: Notify) -> None:
        self._index = index
        self._notify = notify
        self._pending: dict[str, Conversation] = {}
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def add(self, conversation: Conversation) -> None:
        # A snapshot of the message list: the caller goes on changing the conversation.
        snapshot = replace(conversation, messages=list(conversation.messages))
        with self._wake:
            self._pending[conversation.id] = snapshot
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="search-index", daemon=True)
                self._thread.start()
            self._wake.notify()

    def stop(self) -> None:
        """Finish with what is pending if the index answers at once; never wait for a lock."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout=1.0)

    def _run(self) -> None:
        failing = False
        while True:
            with self._wake:
                while not self._pending and not self._stopping:
                    self._wake.wait()
                if not self._pending:
                    return
                conversation_id, conversation = self._pending.popitem()
            try:
                self._index.update(conversation)
            except SearchError as error:
                with self._wake:
                    self._pending.setdefault(conversation_id, conversation)
                    if self._stopping:
                        return
                    if not failing:
                        self._notify(
                            Notice(
                                f"Search index not updated: {error}; trying again every "
                                f"{INDEX_RETRY_SECONDS:g} s.",
                                "warning",
                            )
                        )
                    failing = True
                    self._wake.wait(INDEX_RETRY_SECONDS)
                continue
            failing = False
