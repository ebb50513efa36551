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


def local_now() -> datetime:
    """Now, in the local zone: what "Today" and "Yesterday" are counted from."""
    return datetime.now().astimezone()


def _when(iso: str, now: datetime | None = None) -> str:
    """A short, local, human date: the time today, the weekday this week, the day and month
    this year, else the whole date."""
    try:
        moment = datetime.fromisoformat(iso).astimezone()
    except ValueError:
        return ""
    now = now or local_now()
    days = (now.date() - moment.date()).days
    if days == 0:
        return moment.strftime("%H:%M")
    if days == 1:
        return "yesterday"
    if 1 < days < 7:
        return moment.strftime("%A")
    if moment.year == now.year:
        return f"{moment:%b} {moment.day}"
    return moment.strftime("%Y-%m-%d")


def _prompt(summary: ConversationSummary, now: datetime | None = None) -> Content:
    # ":latest" is the tag a model has when none is named: it says nothing in a narrow list.
    model = summary.model.removesuffix(":latest")
    meta = " · ".join(part for part in (_when(summary.updated_at, now), model) if part)
    return Content.assemble(inert(summary.title), "\n", inert(meta, "dim"))


def group_of(summary: ConversationSummary, now: datetime) -> str:
    """The heading a conversation is listed under."""
    if summary.pinned:
        return "Pinned"
    try:
        days = (now.date() - datetime.fromisoformat(summary.updated_at).astimezone().date()).days
    except ValueError:
        return "Older"
    if days <= 0:
        return "Today"
    if days == 1:
        return "Yesterday"
    return "Previous 7 days" if days < 7 else "Older"


def ordered(summaries: list[ConversationSummary]) -> list[ConversationSummary]:
    """Pinned first, then the rest; each part newest first."""
    by_date = sorted(summaries, key=lambda summary: summary.updated_at, reverse=True)
    return [s for s in by_date if s.pinned] + [s for s in by_date if not s.pinned]


class ConversationSidebar(OptionList):
    """Saved conversations under date headings, pinned ones on top; Enter opens one."""

    BINDINGS = [
        Binding(default_keys("sidebar.delete"), "delete", "Delete", id="sidebar.delete"),
        Binding(default_keys("sidebar.pin"), "pin", "Pin", id="sidebar.pin"),
    ]

    @dataclass
    class DeleteRequested(Message):
        conversation_id: str

    @dataclass
    class PinRequested(Message):
        conversation_id: str

    PAGE = 100
    """Rows handed to the OptionList at a time. It measures every row it holds (wrapping each
    title), so a library of thousands gets its rows a page at a time as the list scrolls down."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.border_title = "Conversations"
        self._summaries: list[ConversationSummary] = []
        """Every conversation in list order; rows are made for them a page at a time."""
        self._loaded = 0
        """How many of `_summaries` have rows."""
        self._made_rows: dict[str, Option] = {}
        """Rows made so far, by conversation id, reused when the order changes."""

    def action_delete(self) -> None:
        option = self.highlighted_option
        if option is not None and option.id is not None:
            self.post_message(self.DeleteRequested(option.id))

    def action_pin(self) -> None:
        option = self.highlighted_option
        if option is not None and option.id is not None:
            self.post_message(self.PinRequested(option.id))

    def on_focus(self) -> None:
        if self.highlighted is None and self.option_count:
            self.action_first()

    def conversation_ids(self) -> list[str]:
        """Every conversation's id, in list order."""
        return [summary.id for summary in self._summaries]

    @property
    def summary_count(self) -> int:
        """How many conversations the list holds, including those without a row yet."""
        return len(self._summaries)

    def set_summaries(self, summaries: list[ConversationSummary]) -> None:
        self._summaries = ordered(summaries)
        self._made_rows = {}
        self._loaded = 0
        # The first page only fills the screen (a row is at least a line high): the list
        # measures every row it holds before its first frame; more come as it scrolls.
        self._show_rows(min(self.PAGE, self.app.size.height or self.PAGE))

    def _show_rows(self, count: int) -> None:
        """Give the OptionList rows for the first `count` conversations, under headings."""
        now = local_now()
        self._loaded = min(count, len(self._summaries))
        highlighted = self.highlighted_option.id if self.highlighted_option else None
        rows: list[Option] = []
        heading = ""
        for summary in self._summaries[: self._loaded]:
            group = group_of(summary, now)
            if group != heading:
                heading = group
                rows.append(Option(Content.styled(group, "bold $text-muted"), disabled=True))
            option = self._made_rows.get(summary.id)
            if option is None:
                option = self._made_rows[summary.id] = Option(_prompt(summary, now), id=summary.id)
            rows.append(option)
        self.set_options(rows)
        if highlighted is not None:
            self.highlight_id(highlighted)

    def _load_more(self, minimum: int = 0) -> None:
        """Rows for the next page of conversations (at least up to conversation `minimum`)."""
        if self._loaded < len(self._summaries):
            self._show_rows(max(self._loaded + self.PAGE, minimum + 1))

    def render_lines(self, crop: Region) -> list[Strip]:
        if self._loaded < len(self._summaries) and self.virtual_size.height:
            bottom = self.scroll_offset.y + crop.bottom + self.size.height
            if bottom >= self.virtual_size.height:
                self.call_later(self._load_more)
        return super().render_lines(crop)

    def upsert(self, summary: ConversationSummary) -> None:
        """Show a saved conversation where it now belongs (usually the top of Today)."""
        now = local_now()
        before = next((s for s in self._summaries if s.id == summary.id), None)
        others = [s for s in self._summaries if s.id != summary.id]
        order = ordered([summary, *others])
        self._made_rows[summary.id] = Option(_prompt(summary, now), id=summary.id)
        same_place = (
            before is not None
            and [s.id for s in order] == [s.id for s in self._summaries]
            and group_of(before, now) == group_of(summary, now)
        )
        self._summaries = order
        if same_place and summary.id in {option.id for option in self.options}:
            self.replace_option_prompt(summary.id, self._made_rows[summary.id].prompt)
            return
        self._show_rows(self._loaded + (before is None))

    def remove_option(self, option_id: str) -> Self:
        self._summaries = [s for s in self._summaries if s.id != option_id]
        self._made_rows.pop(option_id, None)
        self._show_rows(self._loaded)
        return self

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
