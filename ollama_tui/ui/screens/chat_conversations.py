"""The chat page's commands on whole conversations: open, pin, trash and restore, rename,
duplicate, search, export and import, new."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from textual import on, work
from textual.content import Content

from ollama_tui.chat.conversation import Conversation
from ollama_tui.chat.export import FORMATS, ExportFormat, suggested_file_name
from ollama_tui.keymap import PALETTE_KEY, key_label
from ollama_tui.ui.inert import inert
from ollama_tui.ui.screens.chat_page import ChatPage
from ollama_tui.ui.screens.confirm import ConfirmScreen
from ollama_tui.ui.screens.picker import Choice, PickerScreen
from ollama_tui.ui.screens.search import SearchScreen
from ollama_tui.ui.screens.text_prompt import TextPromptScreen
from ollama_tui.ui.widgets.sidebar import ConversationSidebar

SEARCH_SYNC_DELAY = 0.5
"""Seconds after the whole page is up before the search index is checked against the files: with
thousands of conversations that check (a stat per file, in a thread) delayed the first screen
reaching the terminal. Searching earlier starts it at once."""


class ConversationCommands(ChatPage):
    """What the user does with a conversation as a whole, from the list or the palette."""

    _search_index_synced = False
    """Whether the search index has been checked against the files since the app started."""

    def _after_page_is_whole(self) -> None:
        super()._after_page_is_whole()
        self.set_timer(SEARCH_SYNC_DELAY, self.sync_search_index)

    def sync_search_index(self) -> None:
        """Bring the search index up to date with files changed while the app was closed,
        once: shortly after start-up, or as soon as the user searches, if earlier."""
        if not self._search_index_synced:
            self._search_index_synced = True
            self._sync_search_index()

    @work(thread=True, group="search-index", exclusive=True, exit_on_error=False)
    def _sync_search_index(self) -> None:
        notice = self.session.library.sync_index()
        if notice is not None:
            self.app.call_from_thread(self.session.notify, notice)

    @on(ConversationSidebar.OptionSelected, "#sidebar")
    async def _open_selected(self, event: ConversationSidebar.OptionSelected) -> None:
        if event.option.id is not None and event.option.id != self.conversation.id:
            await self.open(event.option.id)
        self.prompt.focus()

    @on(ConversationSidebar.PinRequested)
    def _pin_requested(self, event: ConversationSidebar.PinRequested) -> None:
        conversation_id = event.conversation_id
        if conversation_id == self.conversation.id:
            conversation: Conversation | None = self.conversation
        elif conversation_id in self.replies:
            conversation = self.replies[conversation_id].conversation
        else:
            conversation = self.session.library.load(conversation_id, failure="Cannot pin")
        if conversation is None:
            return
        conversation.toggle_pin()
        if self.changed(conversation, row=True, index=False, memory=False):
            self.sidebar.highlight_id(conversation_id)

    @on(ConversationSidebar.DeleteRequested)
    def _delete_requested(self, event: ConversationSidebar.DeleteRequested) -> None:
        self._ask_delete(event.conversation_id)

    def action_delete_conversation(self) -> None:
        if not self.conversation.messages:
            self.notify("This conversation is not saved yet; there is nothing to delete.")
            return
        self._ask_delete(self.conversation.id)

    def _ask_delete(self, conversation_id: str) -> None:
        if conversation_id in self.replies:
            self.notify(
                f"A reply is still arriving there: stop it ({key_label('reply.stop')}) "
                "before deleting."
            )
            return
        option = self.sidebar.get_option(conversation_id)
        title = str(option.prompt).split("\n", 1)[0]
        self.app.push_screen(
            ConfirmScreen(
                "Delete conversation",
                f"Move “{title}” to the trash? “Restore deleted conversation” in the "
                f"command palette ({PALETTE_KEY}) brings it back.",
                yes="Delete",
                danger=True,
            ),
            partial(self._delete, conversation_id),
        )

    async def _delete(self, conversation_id: str, confirmed: bool | None) -> None:
        if not confirmed or not self.session.library.delete(conversation_id):
            return
        self.sidebar.remove_option(conversation_id)
        if self.conversation.id == conversation_id:
            await self.show(self.session.library.new_conversation())
        self.notify(
            f"Moved to the trash; {PALETTE_KEY} → “Restore deleted conversation” undoes it.",
            markup=False,
        )

    def action_restore_conversation(self) -> None:
        trashed = self.session.library.trashed()
        if not trashed:
            self.notify("The trash is empty.")
            return
        choices = [
            Choice(s.id, Content.assemble(inert(s.title), inert(f"   {s.model}", "dim")), s.title)
            for s in trashed
        ]
        self.app.push_screen(
            PickerScreen("Deleted conversation", choices, hint="type part of a title"),
            self._restore,
        )

    async def _restore(self, conversation_id: str | None) -> None:
        if conversation_id is None:
            return
        conversation = self.session.library.restore(conversation_id)
        if conversation is not None:
            await self._show_added(conversation, "Restored")

    async def _show_added(self, conversation: Conversation, done: str) -> None:
        """Open a conversation the library just added, with its row, and say so."""
        self.show_row(conversation)
        await self.show(conversation)
        self.notify(f"{done} “{conversation.title}”.", markup=False)

    def action_rename_conversation(self) -> None:
        if not self.conversation.messages:
            self.notify("Send a first message; the conversation gets its title from it.")
            return
        self.app.push_screen(
            TextPromptScreen("Rename conversation", self.conversation.title),
            self._renamed,
        )

    def _renamed(self, title: str | None) -> None:
        if title is None or not title.strip():
            return
        self.conversation.rename(title)
        self.changed(self.conversation, row=True, memory=False)

    async def action_duplicate_conversation(self) -> None:
        if not self.conversation.messages:
            self.notify("Nothing to duplicate yet.")
            return
        run = self.replies.get(self.conversation.id)
        if run is not None:
            run.sync()
        copy = self.session.library.duplicate(self.conversation)
        if copy is not None:
            self.show_row(copy)
            await self.show(copy)
            self.notify(f"Duplicated as “{copy.title}”.", markup=False)

    def action_search(self) -> None:
        self.sync_search_index()
        self.app.push_screen(SearchScreen(self.session.library.search_index), self._open_hit)

    async def _open_hit(self, hit: tuple[str, str | None] | None) -> None:
        if hit is None:
            return
        conversation_id, message_id = hit
        if conversation_id != self.conversation.id:
            await self.open(conversation_id)
        if message_id is not None and self.conversation.id == conversation_id:
            await self.message_list.reveal(message_id)

    def action_export_conversation(self) -> None:
        if not self.conversation.messages:
            self.notify("Nothing to export yet.")
            return
        choices = [
            Choice("md", Content("Markdown — to read or share"), "markdown md"),
            Choice("json", Content("JSON — to import again, or for other tools"), "json"),
        ]
        self.app.push_screen(PickerScreen("Export format", choices), self._ask_export_path)

    def _ask_export_path(self, kind: str | None) -> None:
        if kind not in FORMATS:
            return
        suggested = Path.cwd() / suggested_file_name(self.conversation, kind)
        self.app.push_screen(
            TextPromptScreen("Export to file", str(suggested)),
            partial(self._export, self.conversation, kind),
        )

    def _export(self, conversation: Conversation, kind: ExportFormat, path: str | None) -> None:
        if not path or not path.strip():
            return
        target = Path(path.strip()).expanduser()
        if self.session.library.export(conversation, target, kind):
            self.notify(f"Exported to {target}", markup=False)

    def action_import_conversation(self) -> None:
        self.app.push_screen(
            TextPromptScreen(
                "Import a JSON export", "", placeholder="path of a file exported as JSON"
            ),
            self._import,
        )

    async def _import(self, path: str | None) -> None:
        if not path or not path.strip():
            return
        conversation = self.session.library.import_file(Path(path.strip()).expanduser())
        if conversation is not None:
            await self._show_added(conversation, "Imported")

    async def action_new_conversation(self) -> None:
        if self.conversation.messages:
            await self.show(self.session.library.new_conversation())
        self.prompt.focus()
