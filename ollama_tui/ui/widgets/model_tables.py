"""The rows and columns of the models screen's two tables: installed and loaded models."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.cells import cell_len
from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from ollama_tui.ollama import ModelSummary, RunningModel
from ollama_tui.ui.formatting import human_bytes, processor, time_left, timestamp

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


def badges(capabilities: tuple[str, ...]) -> Text:
    """The notable capabilities as short reversed labels, e.g. " vision  tools "."""
    labels = [label for capability, label in BADGES.items() if capability in capabilities]
    return Text(" ").join(Text(f" {label} ", style="reverse") for label in labels)


def _day(modified_at: str | None) -> str:
    """The day a model was modified, "2025-06-12"; empty when the server gave no readable time."""
    moment = timestamp(modified_at)
    return datetime.fromtimestamp(moment).strftime("%Y-%m-%d") if moment else ""


def installed_texts(model: ModelSummary) -> tuple[str, str, str, str, str]:
    """The plain texts of a row of the installed list: name, params, quant, size, modified."""
    return (
        model.name,
        model.parameter_size or "",
        model.quantization or "",
        human_bytes(model.size) if model.size is not None else "",
        _day(model.modified_at),
    )


def installed_widths(models: Sequence[ModelSummary]) -> list[int]:
    """The widest cell of each column of the installed list, without building any cell.

    One pass per column over plain strings; every day is as wide as the first readable one,
    and badges depend only on the set of capabilities, of which there are few distinct ones.
    """
    day = next((day for model in models if (day := _day(model.modified_at))), "")
    capability_sets = {model.capabilities for model in models}
    return [
        max(map(cell_len, (model.name for model in models)), default=0),
        max(map(cell_len, (model.parameter_size or "" for model in models)), default=0),
        max(map(cell_len, (model.quantization or "" for model in models)), default=0),
        max((len(human_bytes(m.size)) for m in models if m.size is not None), default=0),
        len(day),
        max((badges(capabilities).cell_len for capabilities in capability_sets), default=0),
    ]


def installed_cells(model: ModelSummary) -> list[Text]:
    """A row of the installed list: name, params, quant, size, modified date, badges."""
    name, params, quant, size, modified = installed_texts(model)
    return [
        Text(name),
        Text(params, justify="right"),
        Text(quant),
        Text(size, justify="right"),
        Text(modified),
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


def highlighted_key(table: DataTable[Text]) -> str | None:
    """The key of the row under the table's cursor (None for an empty table)."""
    if not table.row_count:
        return None
    row = min(table.cursor_row, table.row_count - 1)
    key = table.coordinate_to_cell_key(Coordinate(row, 0)).row_key.value
    return str(key) if key is not None else None
