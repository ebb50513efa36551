"""The models screen: installed models and their details, loaded models, pull, delete, unload."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.coordinate import Coordinate
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Label, ProgressBar, Static
from textual.worker import Worker

from ollama_tui.ollama import (
    ModelDetails,
    ModelSummary,
    OllamaError,
    RunningModel,
)
from ollama_tui.ui.screens.confirm import ConfirmScreen

if TYPE_CHECKING:
    from ollama_tui.ollama.client import OllamaClient

LOADED_REFRESH_SECONDS = 10.0
"""How often the list of loaded models is asked for again while the screen is open."""

BADGES = {"vision": "vision", "thinking": "think", "tools": "tools", "embedding": "embed"}
"""Capabilities worth a badge in the list, and its label; every chat model has "completion"."""

SORT_COLUMNS: dict[str, tuple[str, bool]] = {
    "name": ("Name", False),
    "params": ("Params", True),
    "quant": ("Quant", False),
    "size": ("Size", True),
    "modified": ("Modified", True),
}
"""Sortable columns of the installed list: label, and whether they sort descending first."""

LOADED_COLUMNS = [
    ("name", "Name"),
    ("size", "Size"),
    ("processor", "Processor"),
    ("context", "Context"),
    ("until", "Until"),
]

SECTIONS = (("parameters", "Parameters"), ("template", "Template"), ("license", "License"))

_UNITS = ("B", "KB", "MB", "GB", "TB")
_SCALE = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}


def human_bytes(count: float) -> str:
    """Decimal units as Ollama's CLI prints them: "815 MB", "2.0 GB", "12 GB"."""
    unit = 0
    while count >= 1000 and unit < len(_UNITS) - 1:
        count /= 1000
        unit += 1
    if count >= 10 or unit == 0 or count == int(count):
        return f"{int(count)} {_UNITS[unit]}"
    return f"{count:.1f} {_UNITS[unit]}"


def parameter_count(size: str | None) -> float:
    """ "3.2B" → 3.2e9, "751.63M" → 7.5163e8; -1 when absent or unreadable (sorts last)."""
    if not size or size[-1].upper() not in _SCALE:
        return -1
    try:
        return float(size[:-1]) * _SCALE[size[-1].upper()]
    except ValueError:
        return -1


def timestamp(moment: str | None) -> float | None:
    """Seconds since the epoch of an RFC 3339 time from the server; None if unreadable."""
    if not moment:
        return None
    try:
        return datetime.fromisoformat(moment).timestamp()
    except ValueError:
        return None


def time_left(expires_at: str | None, now: float) -> str:
    """When a loaded model will be unloaded, as `ollama ps` says it: "in 4 min", "forever"."""
    moment = timestamp(expires_at)
    if moment is None:
        return "?"
    left = moment - now
    if left > 100 * 365 * 86400:  # a negative keep_alive: Go's largest duration
        return "forever"
    if left <= 0:
        return "now"
    for limit, unit, seconds in ((90, "s", 1), (90 * 60, "min", 60), (48 * 3600, "h", 3600)):
        if left < limit:
            return f"in {round(left / seconds)} {unit}"
    return f"in {round(left / 86400)} days"


def duration(seconds: float) -> str:
    """ "0:35", "12:03", "1:02:03"."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def badges(capabilities: tuple[str, ...]) -> Text:
    """The notable capabilities as short reversed labels, e.g. " vision  tools "."""
    labels = [label for capability, label in BADGES.items() if capability in capabilities]
    return Text(" ").join(Text(f" {label} ", style="reverse") for label in labels)


def tidy_parameters(parameters: str) -> str:
    """Ollama pads each parameter name to 30 columns; pad to the longest name instead."""
    rows = [line.split(None, 1) for line in parameters.splitlines() if line.strip()]
    width = max((len(row[0]) for row in rows), default=0)
    return "\n".join(f"{row[0].ljust(width)}  {row[-1] if len(row) > 1 else ''}" for row in rows)


def processor(model: RunningModel) -> str:
    """Where the model runs, as `ollama ps` shows it: "100% GPU", "40%/60% CPU/GPU"."""
    if not model.size or model.size_vram is None:
        return "?"
    gpu = round(100 * model.size_vram / model.size)
    if gpu >= 100:
        return "100% GPU"
    if gpu <= 0:
        return "100% CPU"
    return f"{100 - gpu}%/{gpu}% CPU/GPU"


def installed_cells(model: ModelSummary) -> list[Text]:
    """A row of the installed list: name, params, quant, size, modified date, badges."""
    modified = timestamp(model.modified_at)
    return [
        Text(model.name),
        Text(model.parameter_size or "", justify="right"),
        Text(model.quantization or ""),
        Text(human_bytes(model.size) if model.size is not None else "", justify="right"),
        Text(datetime.fromtimestamp(modified).strftime("%Y-%m-%d") if modified else ""),
        badges(model.capabilities),
    ]


def loaded_cells(model: RunningModel, now: float) -> list[Text]:
    """A row of the loaded list: name, memory, processor, context, time left at `now`."""
    return [
        Text(model.name),
        Text(human_bytes(model.size) if model.size is not None else "", justify="right"),
        Text(processor(model)),
        Text(f"{model.context_length:,}" if model.context_length else "", justify="right"),
        Text(time_left(model.expires_at, now)),
    ]


def fill_table(
    table: DataTable[Text], columns: list[tuple[str, str]], rows: list[tuple[str, list[Text]]]
) -> None:
    """Replace a table's columns (key, label) and rows (key, cells), each column as wide as
    its widest cell.

    DataTable sizes auto-width columns only once idle, and rows painted before then keep the
    header's width until something else changes; giving the widths up front avoids that.
    """
    table.clear(columns=True)
    for index, (key, label) in enumerate(columns):
        width = max([cell_len(label), *(cells[index].cell_len for _, cells in rows)])
        table.add_column(label, width=width, key=key)
    for key, cells in rows:
        table.add_row(*cells, key=key)


class TransferRate:
    """Speed of a download over its last few seconds, and the time it still needs."""

    WINDOW = 5.0

    def __init__(self) -> None:
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, now: float, completed: int) -> None:
        """Record that `completed` bytes had arrived at monotonic time `now`."""
        self._samples.append((now, completed))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self.WINDOW:
            self._samples.popleft()

    @property
    def speed(self) -> float | None:
        """Bytes per second, None until two samples are apart in time."""
        if len(self._samples) < 2:
            return None
        (start, first), (end, last) = self._samples[0], self._samples[-1]
        return (last - first) / (end - start) if end > start else None

    def seconds_left(self, total: int) -> float | None:
        """Time to get the rest of `total` bytes at the current speed; None while unknown."""
        speed = self.speed
        if not speed or not self._samples:
            return None
        return max(0.0, total - self._samples[-1][1]) / speed


class LayerProgress(Horizontal):
    """One layer of a pull: its digest, a progress bar, bytes, speed and time left."""

    DEFAULT_CSS = """
    LayerProgress {
        height: 1;
        & > .layer-name {
            width: 13;
            color: $text-muted;
        }
        & > ProgressBar {
            width: 25;
            & Bar {
                width: 18;
            }
        }
        & > .layer-stats {
            width: 1fr;
        }
    }
    """

    def __init__(self, digest: str) -> None:
        super().__init__()
        self.digest = digest
        self.rate = TransferRate()

    def compose(self) -> ComposeResult:
        short = self.digest.removeprefix("sha256:")[:12]
        yield Label(Content(short), classes="layer-name")
        yield ProgressBar(show_eta=False)
        yield Static(classes="layer-stats")

    def show(self, total: int | None, completed: int | None, now: float) -> None:
        """Move the bar to `completed` of `total` bytes, as reported at monotonic time `now`."""
        done = completed or 0
        self.query_one(ProgressBar).update(total=total, progress=done)
        if total is None:
            return
        self.rate.add(now, done)
        parts = [f"{human_bytes(done)}/{human_bytes(total)}"]
        if done < total:
            speed = self.rate.speed
            left = self.rate.seconds_left(total)
            if speed is not None:
                parts.append(f"{human_bytes(speed)}/s")
            if left is not None:
                parts.append(f"{duration(left)} left")
        self.query_one(".layer-stats", Static).update(Content(" · ".join(parts)))


class ModelsScreen(Screen[None]):
    """Installed models (sortable) with details, loaded models, and pulling and deleting."""

    DEFAULT_CSS = """
    ModelsScreen {
        & #models-main {
            height: 1fr;
        }
        & #models-left {
            width: 1fr;
            height: 1fr;
        }
        & DataTable {
            border: round $panel-lighten-2;
            border-title-color: $text-muted;
            background: $surface;
            scrollbar-size-vertical: 1;
            &:focus {
                border: round $accent;
                border-title-color: $accent;
            }
        }
        & #installed {
            height: 1fr;
        }
        & #loaded {
            height: auto;
            max-height: 10;
        }
        & #pull-panel {
            display: none;
            height: auto;
            border: round $accent;
            border-title-color: $accent;
            border-subtitle-color: $text-muted;
            background: $surface;
            padding: 0 1;
            &.-open {
                display: block;
            }
        }
        & #pull-status {
            color: $text-muted;
            margin: 0 0 0 1;
        }
        & #pull-layers {
            height: auto;
        }
        & #model-details {
            width: 38;
            height: 1fr;
            border: round $panel-lighten-2;
            border-title-color: $text-muted;
            background: $surface;
            padding: 0 1;
            scrollbar-size-vertical: 1;
        }
        & .details-heading {
            margin: 1 0 0 0;
            text-style: bold;
            color: $accent;
        }
        & .details-section {
            height: auto;
            max-height: 9;
            background: $boost;
            padding: 0 1;
            scrollbar-size-vertical: 1;
            &:focus {
                background: $boost 200%;
            }
        }
    }
    """
    AUTO_FOCUS = "#installed"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "close", "Close", id="models.close"),
        Binding("p", "pull", "Pull", id="models.pull"),
        Binding("d", "delete", "Delete", id="models.delete"),
        Binding("u", "unload", "Unload", id="models.unload"),
        Binding("s", "sort", "Sort", id="models.sort"),
        Binding("S", "reverse_sort", "Reverse sort", show=False, id="models.reverse_sort"),
        Binding("r", "refresh", "Refresh", id="models.refresh"),
    ]

    class ModelsChanged(Message):
        """Models were pulled or deleted, so lists of models (pickers) are out of date."""

    def __init__(self, client: OllamaClient, *, clock: Callable[[], float] = time.time) -> None:
        """`clock` gives the wall time that loaded models' expiry is counted from."""
        super().__init__()
        self.client = client
        self._clock = clock
        self._models: list[ModelSummary] = []
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
                yield DataTable(id="installed", cursor_type="row")
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
    def installed(self) -> DataTable[Text]:
        return self.query_one("#installed", DataTable)

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

    def _highlighted(self, table: DataTable[Text]) -> str | None:
        """The key (model name) of the row under the table's cursor."""
        if not table.row_count:
            return None
        row = min(table.cursor_row, table.row_count - 1)
        key = table.coordinate_to_cell_key(Coordinate(row, 0)).row_key.value
        return str(key) if key is not None else None

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
        """Show the models in the chosen order, keeping the cursor on `select` or where it was."""
        table = self.installed
        current = select or self._highlighted(table)
        row = table.cursor_row
        columns = [
            (key, label + ((" ▼" if self._reverse else " ▲") if key == self._sort else ""))
            for key, (label, _) in SORT_COLUMNS.items()
        ]
        models = sorted(self._models, key=self._sort_key, reverse=self._reverse)
        rows = [(model.name, installed_cells(model)) for model in models]
        fill_table(table, [*columns, ("capabilities", "Capabilities")], rows)
        names = [model.name for model in models]
        # On the same model, or, when it is gone, on the one that took its place.
        table.move_cursor(row=names.index(current) if current in names else row)
        self._show_details(self._highlighted(table))
        self.refresh_bindings()

    @on(DataTable.RowHighlighted, "#installed")
    def _installed_highlighted(self) -> None:
        self._show_details(self._highlighted(self.installed))

    @on(DataTable.HeaderSelected, "#installed")
    def _header_selected(self, event: DataTable.HeaderSelected) -> None:
        key = event.column_key.value
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
            self._models = await self.client.list_models()
        except OllamaError as error:
            self._error(error)
            return
        self._listed = True
        self._fill_installed(select)

    # Details

    def _show_details(self, name: str | None) -> None:
        """Show what is known of `name`, asking the server once for what is not."""
        self._shown = name
        details_pane = self.query_one("#model-details")
        details_pane.border_title = Content(name) if name else "Details"
        if name is None:
            empty = self._listed and not self._models
            self._render_details(None, "No models installed: press p to pull one." if empty else "")
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
        current = self._highlighted(table)
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
        name = self._highlighted(self.loaded)
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
        name = self._highlighted(self.installed)
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
        """After a pull or delete: list again here, and tell the app."""
        self._load_installed(select)
        self._load_running()
        self.app.post_message(self.ModelsChanged())

    def _error(self, error: OllamaError) -> None:
        self.notify(str(error), severity="error", markup=False)
