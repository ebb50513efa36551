"""Search every conversation as you type; Enter opens the one highlighted at the hit."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from ollama_tui.chat.search import SearchError, SearchHit, SearchIndex
from ollama_tui.ui.inert import inert


def _hit_label(hit: SearchHit) -> Content:
    snippet = inert(hit.snippet)
    for start, end in hit.highlights:
        snippet = snippet.stylize("bold reverse", start, end)
    where = "title" if hit.message_id is None else "you" if hit.role == "user" else "reply"
    return Content.assemble(
        inert(hit.title, "bold"), (f"   {where}", "dim"), "\n", ("  ", ""), snippet
    )


class SearchScreen(ModalScreen[tuple[str, str | None] | None]):
    """Dismisses with (conversation id, message id or None for a title hit), or None."""

    AUTO_FOCUS = "#search-query"
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="search.cancel"),
        Binding("down", "move(1)", show=False, priority=True),
        Binding("up", "move(-1)", show=False, priority=True),
    ]

    def __init__(self, index: SearchIndex) -> None:
        super().__init__()
        self._index = index
        self._hits: list[SearchHit] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="search-dialog") as dialog:
            dialog.border_title = "Search conversations"
            dialog.border_subtitle = "Enter open · escape cancel"
            yield Input(placeholder="words from a title or a message", id="search-query")
            yield Static("", id="search-status")
            yield OptionList(id="search-results", markup=False)
        yield Footer()  # this dialog's keys, not those of the page beneath

    @on(Input.Changed, "#search-query")
    def _query_changed(self, event: Input.Changed) -> None:
        self._search(event.value)

    @work(exclusive=True, thread=True, exit_on_error=False)
    def _search(self, query: str) -> None:
        """Runs in a thread: the index answers in milliseconds, but typing must never wait."""
        try:
            hits = self._index.search(query) if query.strip() else []
        except SearchError as error:
            self.app.call_from_thread(self._show_error, str(error))
            return
        self.app.call_from_thread(self._show, query, hits)

    def _show(self, query: str, hits: list[SearchHit]) -> None:
        if query != self.query_one("#search-query", Input).value:
            return  # a later keystroke's search will show its own results
        self._hits = hits
        results = self.query_one("#search-results", OptionList)
        results.set_options(Option(_hit_label(hit)) for hit in hits)
        if hits:
            results.highlighted = 0
        status = _count(hits) if hits else ("no matches" if query.strip() else "")
        self.query_one("#search-status", Static).update(Content.styled(status, "dim"))

    def _show_error(self, message: str) -> None:
        self.query_one("#search-status", Static).update(inert(message, "$error"))

    def action_move(self, step: int) -> None:
        results = self.query_one("#search-results", OptionList)
        if results.option_count:
            index = (results.highlighted or 0) + step
            results.highlighted = max(0, min(results.option_count - 1, index))

    @on(Input.Submitted, "#search-query")
    def _submitted(self) -> None:
        self._open(self.query_one("#search-results", OptionList).highlighted)

    @on(OptionList.OptionSelected, "#search-results")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self._open(event.option_index)

    def _open(self, index: int | None) -> None:
        if index is not None and 0 <= index < len(self._hits):
            hit = self._hits[index]
            self.dismiss((hit.conversation_id, hit.message_id))


def _count(hits: list[SearchHit]) -> str:
    """ "1 match", "3 matches in 2 conversations"."""
    matches = f"{len(hits)} {'match' if len(hits) == 1 else 'matches'}"
    conversations = len({hit.conversation_id for hit in hits})
    return matches if conversations == 1 else f"{matches} in {conversations} conversations"
