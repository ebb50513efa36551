"""A fuzzy picker: type part of a name, move with up/down, Enter to choose."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate, islice
from typing import NamedTuple, Protocol

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.fuzzy import FuzzySearch
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, OptionList
from textual.widgets.option_list import Option

from ollama_tui.ollama import ModelSummary
from ollama_tui.sanitize import sanitize
from ollama_tui.ui.inert import inert

SHOWN = 200
"""The most rows the picker lists at once; beyond them a last line says how many more match."""


class Pickable(Protocol):
    """One pickable item: the value returned, what is shown, and the text searched."""

    @property
    def value(self) -> str: ...

    @property
    def label(self) -> Content: ...

    @property
    def search(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Choice:
    """A pickable item whose label is made up front (lists of a normal size)."""

    value: str
    label: Content
    search: str


class ModelChoice(NamedTuple):
    """A model to pick; its label is made only when it is shown, as a server may have very
    many models (a tuple: made in bulk quicker than a dataclass)."""

    model: ModelSummary
    hosts: Sequence[str] = ()
    """For a pool, the hosts that have the model."""

    @property
    def value(self) -> str:
        return self.model.name

    @property
    def search(self) -> str:
        return self.model.name

    @property
    def label(self) -> Content:
        """Its size, quantisation, context and capability badges, and the pool's hosts."""
        model = self.model
        details = [
            model.parameter_size,
            model.quantization,
            f"{model.context_length // 1024}k context" if model.context_length else None,
            *(c for c in model.capabilities if c in ("thinking", "vision", "tools")),
            f"on {', '.join(self.hosts)}" if self.hosts else None,
        ]
        return Content.assemble(
            inert(model.name), ("   " + " · ".join(d for d in details if d), "dim")
        )


def model_choices(
    models: list[ModelSummary], where: dict[str, list[str]] | None = None
) -> list[ModelChoice]:
    """Models that can chat, and for a pool (`where`) the hosts that have each."""
    where = where or {}
    return [
        ModelChoice(model, where.get(model.name, ()))
        for model in models
        if "embedding" not in model.capabilities
    ]


class SearchIndex:
    """The search texts of many items, lowercased into one string, one per line, so that the
    items matching a query are found by a regular expression scanning in C, before any Python
    runs per item."""

    def __init__(self, texts: Iterable[str]) -> None:
        lines = [text.lower().replace("\n", " ") for text in texts]
        self._text = "\n".join(lines)
        self._starts = list(accumulate((len(line) + 1 for line in lines), initial=0))

    def _index_of(self, match: re.Match[str]) -> int:
        return bisect_right(self._starts, match.start()) - 1

    def count(self, pattern: re.Pattern[str]) -> int:
        """How many items `pattern` (which runs to the end of a line) matches."""
        return len(pattern.findall(self._text))

    def matching(self, pattern: re.Pattern[str], limit: int | None = None) -> Iterable[int]:
        """The indices of the items `pattern` matches, in order, at most `limit` of them."""
        return (self._index_of(m) for m in islice(pattern.finditer(self._text), limit))


def subsequence_pattern(query: str) -> re.Pattern[str]:
    """Lines holding the letters of `query` in order, with anything between them, as
    FuzzySearch matches (case aside). A match starts at the query's first letter (found by a
    fast literal scan), takes each next letter at its first place after the one before (so it
    never backtracks far), and runs to the end of the line (so a line is matched once)."""
    letters = [re.escape(letter) for letter in query.lower()]
    gaps = [f"[^{letter}\n]*{letter}" for letter in letters[1:]]
    return re.compile("".join([letters[0], *gaps, "[^\n]*"]))


def substring_pattern(query: str) -> re.Pattern[str]:
    """Lines holding `query` as it was typed (case aside), matched once each."""
    return re.compile(re.escape(query.lower()) + "[^\n]*")


class PickerScreen(ModalScreen[str | None]):
    """Choose one item by fuzzy search; dismisses with its value, or None on escape."""

    AUTO_FOCUS = "#picker-query"
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="picker.cancel"),
        Binding("down", "move(1)", show=False, priority=True),
        Binding("up", "move(-1)", show=False, priority=True),
    ]

    def __init__(
        self,
        title: str,
        choices: Sequence[Pickable],
        *,
        current: str | None = None,
        hint: str = "",
    ) -> None:
        super().__init__()
        self._title = title
        self._current = current
        self._hint = sanitize(hint) or f"type part of a {title.lower()} name"  # may name a model
        self._search = FuzzySearch()
        self._row_count = 0
        self._take(choices)

    def _take(self, choices: Sequence[Pickable]) -> None:
        self._choices = choices
        self._index = SearchIndex(choice.search for choice in choices)
        self._pinned = next(  # the current item, listed first when it is not among the first
            (c for c in islice(choices, SHOWN, None) if c.value == self._current), None
        )

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-dialog") as dialog:
            dialog.border_title = self._title
            dialog.border_subtitle = "Enter choose · escape cancel"
            yield Input(placeholder=self._hint, id="picker-query", compact=True)
            yield OptionList(id="picker-options", markup=False)
        yield Footer()  # this dialog's keys, not those of the page beneath

    def on_mount(self) -> None:
        self._show("")

    @on(Input.Changed, "#picker-query")
    def _query_changed(self, event: Input.Changed) -> None:
        self._show(event.value)

    def _matches(self, query: str) -> tuple[list[Pickable], int]:
        """At most SHOWN items for `query`, best first, and how many more match.

        Up to SHOWN matches are ranked by FuzzySearch (all of a list of a normal size); beyond
        that, those holding the query as typed come first, each group in the list's order."""
        choices = self._choices
        if not query:
            rows = list(choices[:SHOWN])
            if self._pinned is not None:
                rows = [self._pinned, *rows[: SHOWN - 1]]
            return rows, len(choices) - len(rows)
        pattern = subsequence_pattern(query)
        total = self._index.count(pattern)
        if total <= SHOWN:
            ranked = [
                (score, index, choices[index])
                for index in self._index.matching(pattern)
                if (score := self._search.match(query, choices[index].search)[0]) > 0
            ]
            ranked.sort(key=lambda item: (-item[0], item[1]))
            return [choice for _, _, choice in ranked], 0
        first = list(self._index.matching(substring_pattern(query), SHOWN))
        if len(first) < SHOWN:
            taken = set(first)
            rest = (i for i in self._index.matching(pattern) if i not in taken)
            first.extend(islice(rest, SHOWN - len(first)))
        return [choices[index] for index in first], total - len(first)

    def _show(self, query: str) -> None:
        rows, more = self._matches(query)
        options = self.query_one("#picker-options", OptionList)
        shown = [Option(choice.label, id=choice.value) for choice in rows]
        if more:
            note = f"{more:,} more match — type more of the name to narrow the list"
            shown.append(Option(Content.styled(note, "dim italic"), disabled=True))
        options.set_options(shown)
        self._row_count = len(rows)
        values = [choice.value for choice in rows]
        if values:
            keep = not query and self._current in values
            options.highlighted = values.index(self._current) if keep else 0

    def set_choices(self, choices: Sequence[Pickable]) -> None:
        """Replace the list (the server's changed), keeping what the user typed."""
        highlighted = self.query_one("#picker-options", OptionList).highlighted_option
        if highlighted is not None:
            self._current = highlighted.id
        self._take(choices)
        self._show(self.query_one("#picker-query", Input).value)

    def action_move(self, step: int) -> None:
        options = self.query_one("#picker-options", OptionList)
        if self._row_count:  # the note of how many more match is not a row to land on
            index = (options.highlighted or 0) + step
            options.highlighted = max(0, min(self._row_count - 1, index))

    @on(Input.Submitted, "#picker-query")
    def _submitted(self) -> None:
        option = self.query_one("#picker-options", OptionList).highlighted_option
        if option is not None:
            self.dismiss(option.id)

    @on(OptionList.OptionSelected, "#picker-options")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
