"""A fuzzy picker: type part of a name, move with up/down, Enter to choose."""

from __future__ import annotations

from dataclasses import dataclass

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
from ollama_tui.ui.inert import inert


@dataclass(frozen=True, slots=True)
class Choice:
    """One pickable item: the value returned, what is shown, and the text searched."""

    value: str
    label: Content
    search: str


def model_choices(models: list[ModelSummary]) -> list[Choice]:
    """Models that can chat, each with its size, quantisation, context and capability badges."""
    choices = []
    for model in models:
        if "embedding" in model.capabilities:
            continue
        details = [
            model.parameter_size,
            model.quantization,
            f"{model.context_length // 1024}k context" if model.context_length else None,
            *(c for c in model.capabilities if c in ("thinking", "vision", "tools")),
        ]
        label = Content.assemble(
            inert(model.name), ("   " + " · ".join(d for d in details if d), "dim")
        )
        choices.append(Choice(model.name, label, model.name))
    return choices


class PickerScreen(ModalScreen[str | None]):
    """Choose one item by fuzzy search; dismisses with its value, or None on escape."""

    AUTO_FOCUS = "#picker-query"
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="picker.cancel"),
        Binding("down", "move(1)", show=False, priority=True),
        Binding("up", "move(-1)", show=False, priority=True),
    ]

    def __init__(
        self, title: str, choices: list[Choice], *, current: str | None = None, hint: str = ""
    ) -> None:
        super().__init__()
        self._title = title
        self._choices = choices
        self._current = current
        self._hint = hint or f"type part of a {title.lower()} name"
        self._search = FuzzySearch()

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

    def _show(self, query: str) -> None:
        ranked = [
            (score, index, choice)
            for index, choice in enumerate(self._choices)
            if (score := self._search.match(query, choice.search)[0] if query else 1.0) > 0
        ]
        ranked.sort(key=lambda item: (-item[0], item[1]))
        options = self.query_one("#picker-options", OptionList)
        options.set_options(Option(choice.label, id=choice.value) for _, _, choice in ranked)
        values = [choice.value for _, _, choice in ranked]
        if values:
            keep = not query and self._current in values
            options.highlighted = values.index(self._current) if keep else 0

    def set_choices(self, choices: list[Choice]) -> None:
        """Replace the list (the server's changed), keeping what the user typed."""
        highlighted = self.query_one("#picker-options", OptionList).highlighted_option
        if highlighted is not None:
            self._current = highlighted.id
        self._choices = choices
        self._show(self.query_one("#picker-query", Input).value)

    def action_move(self, step: int) -> None:
        options = self.query_one("#picker-options", OptionList)
        if options.option_count:
            index = (options.highlighted or 0) + step
            options.highlighted = max(0, min(options.option_count - 1, index))

    @on(Input.Submitted, "#picker-query")
    def _submitted(self) -> None:
        option = self.query_one("#picker-options", OptionList).highlighted_option
        if option is not None:
            self.dismiss(option.id)

    @on(OptionList.OptionSelected, "#picker-options")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
