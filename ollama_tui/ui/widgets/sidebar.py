"""The conversation sidebar: one OptionList row per saved conversation, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option, OptionDoesNotExist

from ollama_tui.chat.store import ConversationSummary
from ollama_tui.ui.inert import inert


def _when(iso: str, now: datetime | None = None) -> str:
    """A short, local, human date: the time today, the weekday this week, else the date."""
    try:
        moment = datetime.fromisoformat(iso).astimezone()
    except ValueError:
        return ""
    now = now or datetime.now().astimezone()
    days = (now.date() - moment.date()).days
    if days == 0:
        return moment.strftime("%H:%M")
    if days == 1:
        return "yesterday"
    if 1 < days < 7:
        return moment.strftime("%A")
    return moment.strftime("%Y-%m-%d")


def _prompt(summary: ConversationSummary) -> Content:
    meta = " · ".join(part for part in (_when(summary.updated_at), summary.model) if part)
    return Content.assemble(inert(summary.title), "\n", (meta, "dim"))


class ConversationSidebar(OptionList):
    """Saved conversations; Enter opens the highlighted one, Delete moves it to the trash."""

    BINDINGS = [Binding("delete", "delete", "Delete", id="sidebar.delete")]

    @dataclass
    class DeleteRequested(Message):
        conversation_id: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.border_title = "Conversations"

    def action_delete(self) -> None:
        option = self.highlighted_option
        if option is not None and option.id is not None:
            self.post_message(self.DeleteRequested(option.id))

    def on_focus(self) -> None:
        if self.highlighted is None and self.option_count:
            self.highlighted = 0

    def set_summaries(self, summaries: list[ConversationSummary]) -> None:
        self.set_options(Option(_prompt(s), id=s.id) for s in summaries)

    def upsert(self, summary: ConversationSummary) -> None:
        """Show a saved conversation at the top, replacing its old row."""
        if self.option_count and self.get_option_at_index(0).id == summary.id:
            self.replace_option_prompt(summary.id, _prompt(summary))
            return
        highlighted = self.highlighted_option.id if self.highlighted_option else None
        options = [Option(_prompt(summary), id=summary.id)]
        options += [
            Option(option.prompt, id=option.id)
            for option in self.options
            if option.id != summary.id
        ]
        self.set_options(options)
        if highlighted is not None:
            self.highlight_id(highlighted)

    def highlight_id(self, conversation_id: str | None) -> None:
        """Move the highlight to a conversation, or clear it for an unsaved one."""
        if conversation_id is None:
            self.highlighted = None
            return
        try:
            self.highlighted = self.get_option_index(conversation_id)
        except OptionDoesNotExist:
            return
