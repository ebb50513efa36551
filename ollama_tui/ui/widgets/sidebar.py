"""The conversation sidebar: one OptionList row per saved conversation, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Self

from textual.binding import Binding
from textual.content import Content
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widgets import OptionList
from textual.widgets.option_list import Option, OptionDoesNotExist

from ollama_tui.chat.store import ConversationSummary
from ollama_tui.keymap import default_keys
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


def _prompt(summary: ConversationSummary, now: datetime | None = None) -> Content:
    meta = " · ".join(part for part in (_when(summary.updated_at, now), summary.model) if part)
    return Content.assemble(inert(summary.title), "\n", (meta, "dim"))


class ConversationSidebar(OptionList):
    """Saved conversations; Enter opens the highlighted one, Delete moves it to the trash."""

    BINDINGS = [Binding(default_keys("sidebar.delete"), "delete", "Delete", id="sidebar.delete")]

    @dataclass
    class DeleteRequested(Message):
        conversation_id: str

    PAGE = 100
    """Rows handed to the OptionList at a time. It measures every row it holds (wrapping each
    title), so a library of thousands gets its rows a page at a time as the list scrolls down."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.border_title = "Conversations"
        self._summaries: list[ConversationSummary] = []
        """Every conversation, newest first; the first `_loaded` of them are rows."""
        self._loaded = 0

    def action_delete(self) -> None:
        option = self.highlighted_option
        if option is not None and option.id is not None:
            self.post_message(self.DeleteRequested(option.id))

    def on_focus(self) -> None:
        if self.highlighted is None and self.option_count:
            self.highlighted = 0

    @property
    def summary_count(self) -> int:
        """How many conversations the list holds, including those without a row yet."""
        return len(self._summaries)

    def set_summaries(self, summaries: list[ConversationSummary]) -> None:
        self._summaries = list(summaries)
        self._loaded = 0
        self.clear_options()
        self._load_more()

    def _load_more(self, minimum: int = 0) -> None:
        """Give the OptionList the next page of rows (at least up to row `minimum`)."""
        end = max(self._loaded + self.PAGE, minimum + 1)
        batch = self._summaries[self._loaded : end]
        if not batch:
            return
        now = datetime.now().astimezone()
        self._loaded += len(batch)
        self.add_options([Option(_prompt(summary, now), id=summary.id) for summary in batch])

    def render_lines(self, crop: Region) -> list[Strip]:
        if self._loaded < len(self._summaries) and self.virtual_size.height:
            bottom = self.scroll_offset.y + crop.bottom + self.size.height
            if bottom >= self.virtual_size.height:
                self.call_later(self._load_more)
        return super().render_lines(crop)

    def upsert(self, summary: ConversationSummary) -> None:
        """Show a saved conversation at the top, replacing its old row."""
        if self.option_count and self.get_option_at_index(0).id == summary.id:
            self._summaries[0] = summary
            self.replace_option_prompt(summary.id, _prompt(summary))
            return
        for index, known in enumerate(self._summaries):
            if known.id == summary.id:
                del self._summaries[index]
                self._loaded -= index < self._loaded
                break
        self._summaries.insert(0, summary)
        self._loaded += 1
        highlighted = self.highlighted_option.id if self.highlighted_option else None
        # The same Option objects keep their measured prompts; only the new row is measured.
        options = [Option(_prompt(summary), id=summary.id)]
        options += [option for option in self.options if option.id != summary.id]
        self.set_options(options)
        if highlighted is not None:
            self.highlight_id(highlighted)

    def remove_option(self, option_id: str) -> Self:
        for index, known in enumerate(self._summaries):
            if known.id == option_id:
                del self._summaries[index]
                self._loaded -= index < self._loaded
                break
        return super().remove_option(option_id)

    def highlight_id(self, conversation_id: str | None) -> None:
        """Move the highlight to a conversation, or clear it for an unsaved one."""
        if conversation_id is None:
            self.highlighted = None
            return
        try:
            index = self.get_option_index(conversation_id)
        except OptionDoesNotExist:
            position = next(
                (i for i, s in enumerate(self._summaries) if s.id == conversation_id), None
            )
            if position is None:
                return
            self._load_more(minimum=position)
            index = self.get_option_index(conversation_id)
        self.highlighted = index
