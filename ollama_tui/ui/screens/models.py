"""The models screen: installed models and their details, loaded models, pull, delete, unload."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Label, Static
from textual.worker import Worker

from ollama_tui.keymap import default_keys, key_label
from ollama_tui.ollama import (
    ModelDetails,
    ModelSummary,
    OllamaError,
    RunningModel,
)
from ollama_tui.ui.formatting import parameter_count, tidy_parameters, timestamp
from ollama_tui.ui.screens.confirm import ConfirmScreen
from ollama_tui.ui.widgets.model_list import COLUMNS, ModelList
from ollama_tui.ui.widgets.model_tables import (
    LOADED_COLUMNS,
    SORT_COLUMNS,
    fill_table,
    highlighted_key,
    loaded_cells,
)
from ollama_tui.ui.widgets.pull_progress import LayerProgress

if TYPE_CHECKING:
    from ollama_tui.ollama.client import OllamaClient

LOADED_REFRESH_SECONDS = 10.0
"""How often the list of loaded models is asked for again while the screen is open."""

SECTIONS = (("parameters", "Parameters"), ("template", "Template"), ("license", "License"))


class ModelsScreen(Screen[None]):
    """Installed models (sortable) with details, loaded models, and pulling and deleting."""

    AUTO_FOCUS = "#installed"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding(default_keys("models.close"), "close", "Close", id="models.close"),
        Binding(default_keys("models.pull"), "pull", "Pull", id="models.pull"),
        Binding(default_keys("models.delete"), "delete", "Delete", id="models.delete"),
        Binding(default_keys("models.unload"), "unload", "Unload", id="models.unload"),
        Binding(default_keys("models.sort"), "sort", "Sort", id="models.sort"),
        Binding(
            default_keys("models.reverse_sort"),
            "reverse_sort",
            "Reverse sort",
            show=False,
            id="models.reverse_sort",
        ),
        Binding(default_keys("models.refresh"), "refresh", "Refresh", id="models.refresh"),
    ]

    class ModelsChanged(Message):
        """Models were pulled or deleted, so lists of models (pickers) are out of date."""

    def __init__(self, client: OllamaClient, *, clock: Callable[[], float] = time.time) -> None:
        """`clock` gives the wall time that loaded models' expiry is counted from."""
        super().__init__()
        self.client = client
        self._clock = clock
        self._models: list[ModelSummary] = []
        self._sort_keys: dict[str, list[tuple[float, str]]] = {}  # per column, of _models
        self._listed = False  # whether the server has answered with its models yet
        self._loaded_models: list[RunningModel] = []
        self._details: dict[str, ModelDetails] = {}
        self._shown: str | None = None
        self._sort = "modified"
        self._reverse = True
        self._pull_worker: Worker[None] | None = None

    # Layout

    def compose(self) -> ComposeResult:
        with Horizontal(id="models-main"):
            with Vertical(id="models-left"):
                yield ModelList(id="installed")
                yield DataTable(id="loaded", cursor_type="row")
                with Vertical(id="pull-panel"):
                    yield Input(
                        placeholder="name of a model, e.g. gemma3:1b", id="pull-name", compact=True
                    )
                    yield Static(id="pull-status")
                    yield Vertical(id="pull-layers")
            with VerticalScroll(id="model-details"):
                yield Static(id="details-summary")
                for key, title in SECTIONS:
                    yield Label(title, classes="details-heading")
                    with VerticalScroll(id=f"details-{key}", classes="details-section"):
                        yield Static(id=f"details-{key}-text")
        yield Footer()

    @property
    def installed(self) -> ModelList:
        return self.query_one("#installed", ModelList)

    @property
    def loaded(self) -> DataTable[Text]:
        return self.query_one("#loaded", DataTable)

    @property
    def pulling(self) -> bool:
        """True while a pull runs."""
        return self._pull_worker is not None

    def on_mount(self) -> None:
        self.installed.border_title = "Installed"
        self.loaded.border_title = "Loaded"
        self.query_one("#model-details").border_title = "Details"
        pull_panel = self.query_one("#pull-panel")
        pull_panel.border_title = "Pull a model"
        pull_panel.border_subtitle = "enter pull · escape cancel"
        self._fill_installed()
        self._fill_running()
        self.action_refresh()
        self.set_interval(LOADED_REFRESH_SECONDS, self._refresh_running_quietly)

    # Installed models

    def _sort_key(self, model: ModelSummary) -> tuple[float, str]:
        match self._sort:
            case "params":
                return (parameter_count(model.parameter_size), model.name)
            case "quant":
                return (0, model.quantization or "")
            case "size":
                return (model.size if model.size is not None else -1, model.name)
            case "modified":
                return (timestamp(model.modified_at) or 0, model.name)
        return (0, model.name.lower())

    def _fill_installed(self, select: str | None = None) -> None:
        """Show the models in the chosen order, keeping the cursor on `select` or where it was.

        Sorting sorts a list of indices by keys worked out once per column: no row is built.
        """
        table = self.installed
        keys = self._sort_keys.get(self._sort)
        if keys is None:
            keys = self._sort_keys[self._sort] = [self._sort_key(m) for m in self._models]
        order = sorted(range(len(self._models)), key=keys.__getitem__, reverse=self._reverse)
        labels = [
            label + ((" ▼" if self._reverse else " ▲") if key == self._sort else "")
            for key, label in COLUMNS
        ]
        table.show(self._models, order, labels, keep=select or table.highlighted_name)
        self._show_details(table.highlighted_name)
        self.refresh_bindings()

    @on(ModelList.Highlighted, "#installed")
    def _installed_highlighted(self) -> None:
        self._show_details(self.installed.highlighted_name)  # where the cursor is by now

    @on(ModelList.HeaderSelected, "#installed")
    def _header_selected(self, event: ModelList.HeaderSelected) -> None:
        key = event.column
        if key not in SORT_COLUMNS:
            return
        if key == self._sort:
            self._reverse = not self._reverse
        else:
            self._sort, self._reverse = key, SORT_COLUMNS[key][1]
        self._fill_installed()

    def action_sort(self) -> None:
        """Sort by the next column, in its natural direction."""
        keys = list(SORT_COLUMNS)
        self._sort = keys[(keys.index(self._sort) + 1) % len(keys)]
        self._reverse = SORT_COLUMNS[self._sort][1]
        self._fill_installed()

    def action_reverse_sort(self) -> None:
        self._reverse = not self._reverse
        self._fill_installed()

    def action_refresh(self) -> None:
        self._load_installed()
        self._load_running()

    @work(group="installed", exclusive=True, exit_on_error=False)
    async def _load_installed(self, select: str | None = None) -> None:
        try:
            models = await self.client.list_models()
        except OllamaError as error:
            self._error(error)
            return
        changed = self._listed and _names(models) != _names(self._models)
        self._models, self._listed = models, True
        self._sort_keys.clear()
        self._fill_installed(select)
        if changed:  # pulled or deleted elsewhere: every picker lists them again
            self.app.post_message(self.ModelsChanged())

    # Details

    def _show_details(self, name: str | None) -> None:
        """Show what is known of `name`, asking the server once for what is not."""
        self._shown = name
        details_pane = self.query_one("#model-details")
        details_pane.border_title = Content(name) if name else "Details"
        if name is None:
            empty = self._listed and not self._models
            note = (
                f"No models installed on {self.client.base_url}. Press "
                f"{key_label('models.pull')} to pull one: llama3.2 (2 GB) is a good first model."
            )
            self._render_details(None, note if empty else "")
        elif name in self._details:
            self._render_details(self._details[name])
        else:
            self._render_details(None, "Loading…")
            self._load_details(name)

    @work(group="details", exclusive=True, exit_on_error=False)
    async def _load_details(self, name: str) -> None:
        try:
            self._details[name] = await self.client.show(name)
        except OllamaError as error:
            if name == self._shown:
                self._render_details(None, "No details: the server did not give them.")
            self._error(error)
            return
        if name == self._shown:
            self._render_details(self._details[name])

    def _render_details(self, details: ModelDetails | None, note: str = "") -> None:
        summary = self.query_one("#details-summary", Static)
        self.query_one("#model-details").set_class(details is None, "-no-model")
        if details is None:
            summary.update(Content.styled(note, "italic $text-muted"))
            texts = {key: "" for key, _ in SECTIONS}
        else:
            size = " · ".join(filter(None, (details.parameter_size, details.quantization)))
            context = f"{details.context_length:,} tokens" if details.context_length else None
            rows = [
                ("Family", details.family),
                ("Size", size),
                ("Context", context),
                ("Capabilities", " · ".join(details.capabilities)),
            ]
            summary.update(
                Content("\n").join(
                    Content.assemble((label.ljust(14), "bold"), value or "—")
                    for label, value in rows
                )
            )
            texts = {
                "parameters": tidy_parameters(details.parameters),
                "template": details.template,
                "license": details.license,
            }
        for key, text in texts.items():
            section = self.query_one(f"#details-{key}-text", Static)
            section.update(Content(text) if text else Content.styled("none", "italic $text-muted"))
            self.query_one(f"#details-{key}").scroll_home(animate=False)

    # Loaded models

    def _fill_running(self) -> None:
        table = self.loaded
        current = highlighted_key(table)
        now = self._clock()
        rows = [(model.name, loaded_cells(model, now)) for model in self._loaded_models]
        fill_table(table, LOADED_COLUMNS, rows)
        names = [model.name for model in self._loaded_models]
        if current in names:
            table.move_cursor(row=names.index(current))
        self.refresh_bindings()

    @work(group="loaded", exclusive=True, exit_on_error=False)
    async def _load_running(self, *, quiet: bool = False) -> None:
        try:
            self._loaded_models = await self.client.ps()
        except OllamaError as error:
            if not quiet:
                self._error(error)
            return
        self._fill_running()

    def _refresh_running_quietly(self) -> None:
        """The periodic look: expiry moves on and models unload by themselves."""
        self._load_running(quiet=True)

    def action_unload(self) -> None:
        """Unload the model highlighted in the loaded list."""
        name = highlighted_key(self.loaded)
        if name is not None:
            self._unload(name)

    @work(group="unload", exit_on_error=False)
    async def _unload(self, name: str) -> None:
        try:
            await self.client.unload(name)
        except OllamaError as error:
            self._error(error)
        else:
            self.notify(f"Unloaded {name}.", markup=False)
        self._load_running()

    # Delete

    def action_delete(self) -> None:
        """Delete the highlighted installed model, once the user confirms."""
        name = self.installed.highlighted_name
        if name is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._delete(name)

        question = (
            f"Delete {name}? Its files are removed from the server; pull it again to get it back."
        )
        self.app.push_screen(
            ConfirmScreen("Delete model", question, yes="Delete", danger=True), confirmed
        )

    @work(group="delete", exit_on_error=False)
    async def _delete(self, name: str) -> None:
        try:
            await self.client.delete(name)
        except OllamaError as error:
            self._error(error)
            return
        self._details.pop(name, None)
        self.notify(f"Deleted {name}.", markup=False)
        self._changed()

    # Pull

    def action_pull(self) -> None:
        """Open the pull prompt."""
        if self.pulling:
            return
        self.query_one("#pull-layers").remove_children()
        self.query_one("#pull-status", Static).update("")
        self.query_one("#pull-panel").add_class("-open")
        prompt = self.query_one("#pull-name", Input)
        prompt.disabled = False
        prompt.clear()
        prompt.focus()

    def _close_pull(self) -> None:
        self.query_one("#pull-panel").remove_class("-open")
        self.installed.focus()

    @on(Input.Submitted, "#pull-name")
    def _pull_submitted(self, event: Input.Submitted) -> None:
        name = event.value.strip()
        if name and not self.pulling:
            self._pull_worker = self._pull(name)
            self.refresh_bindings()

    @work(group="pull", exclusive=True, exit_on_error=False)
    async def _pull(self, name: str) -> None:
        prompt = self.query_one("#pull-name", Input)
        status = self.query_one("#pull-status", Static)
        layers_box = self.query_one("#pull-layers")
        await layers_box.remove_children()
        prompt.disabled = True
        layers: dict[str, LayerProgress] = {}
        try:
            async for progress in self.client.pull(name):
                if progress.digest is None:
                    status.update(Content(progress.status))
                    continue
                layer = layers.get(progress.digest)
                if layer is None:
                    layer = layers[progress.digest] = LayerProgress(progress.digest)
                    await layers_box.mount(layer)
                    status.update(Content(f"pulling {name}, layer {len(layers)}"))
                layer.show(progress.total, progress.completed, time.monotonic())
        except asyncio.CancelledError:
            self.notify(f"Pull of {name} cancelled.", markup=False)
            self._close_pull()
            raise
        except OllamaError as error:
            self._error(error)
            status.update("")
            prompt.disabled = False
            prompt.focus()
        else:
            self.notify(f"Pulled {name}.", markup=False)
            self._close_pull()
            self._changed(select=name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest")
        finally:
            self._pull_worker = None
            self.refresh_bindings()

    # Closing, keys, errors

    def action_close(self) -> None:
        """Escape: stop the pull if one runs, else close the pull prompt, else the screen."""
        if self._pull_worker is not None:
            self._pull_worker.cancel()
        elif self.query_one("#pull-panel").has_class("-open"):
            self._close_pull()
        else:
            self.dismiss()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pull" and self.pulling:
            return None
        if action == "delete" and not self._models:
            return None
        if action == "unload" and not self._loaded_models:
            return None
        return True

    def _changed(self, select: str | None = None) -> None:
        """After a pull or delete: list again (which tells the app the list changed)."""
        self._load_installed(select)
        self._load_running()

    def _error(self, error: OllamaError) -> None:
        self.notify(str(error), severity="error", markup=False)


def _names(models: list[ModelSummary]) -> list[tuple[str, str | None]]:
    return [(model.name, model.modified_at) for model in models]
