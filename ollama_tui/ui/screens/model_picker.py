"""The model picker: type part of a name, move with up/down, Enter to choose."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.fuzzy import FuzzySearch
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from ollama_tui.ollama import ModelSummary


def _describe(model: ModelSummary) -> Content:
    details = [
        part
        for part in (
            model.parameter_size,
            model.quantization,
            f"{model.context_length // 1024}k context" if model.context_length else None,
            *(c for c in model.capabilities if c in ("thinking", "vision", "tools")),
        )
        if part
    ]
    return Content.assemble(Content(model.name), ("   " + " · ".join(details), "dim"))


class ModelPicker(ModalScreen[str | None]):
    """Choose a model by fuzzy search; dismisses with its name, or None on escape."""

    AUTO_FOCUS = "#picker-query"
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="picker.cancel"),
        Binding("down", "move(1)", show=False, priority=True),
        Binding("up", "move(-1)", show=False, priority=True),
    ]

    def __init__(self, models: list[ModelSummary], current: str) -> None:
        super().__init__()
        self._models = [m for m in models if "embedding" not in m.capabilities]
        self._current = current
        self._search = FuzzySearch()

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-dialog") as dialog:
            dialog.border_title = "Model"
            dialog.border_subtitle = "Enter choose · escape cancel"
            yield Input(placeholder="type part of a model name", id="picker-query", compact=True)
            yield OptionList(id="picker-options", markup=False)

    def on_mount(self) -> None:
        self._show("")

    @on(Input.Changed, "#picker-query")
    def _query_changed(self, event: Input.Changed) -> None:
        self._show(event.value)

    def _show(self, query: str) -> None:
        ranked = [
            (score, index, model)
            for index, model in enumerate(self._models)
            if (score := self._search.match(query, model.name)[0] if query else 1.0) > 0
        ]
        ranked.sort(key=lambda item: (-item[0], item[1]))
        options = self.query_one("#picker-options", OptionList)
        options.set_options(Option(_describe(m), id=m.name) for _, _, m in ranked)
        if not ranked:
            return
        names = [m.name for _, _, m in ranked]
        current = names.index(self._current) if not query and self._current in names else 0
        options.highlighted = current

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
