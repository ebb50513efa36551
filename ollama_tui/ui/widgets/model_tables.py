"""The rows and columns of the models screen's two tables: installed and loaded models."""

from __future__ import annotations

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


def badge_labels(capabilities: tuple[str, ...]) -> list[str]:
    """The labels of the notable capabilities, in the order of BADGES."""
    return [label for capability, label in BADGES.items() if capability in capabilities]


def badges(capabilities: tuple[str, ...]) -> Text:
    """The notable capabilities as short reversed labels, e.g. " vision  tools "."""
    labels = badge_labels(capabilities)
    return Text(" ").join(Text(f" {label} ", style="reverse") for label in labels)


def installed_texts(model: ModelSummary) -> tuple[str, str, str, str, str]:
    """The plain texts of a row of the installed list: name, params, quant, size, modified."""
    modified = timestamp(model.modified_at)
    return (
        model.name,
        model.parameter_size or "",
        model.quantization or "",
        human_bytes(model.size) if model.size is not None else "",
        datetime.fromtimestamp(modified).strftime("%Y-%m-%d") if modified else "",
    )


def installed_widths(model: ModelSummary) -> list[int]:
    """The cell widths of a row of the installed list, without building its cells."""
    labels = badge_labels(model.capabilities)
    badge_width = sum(len(label) + 2 for label in labels) + max(len(labels) - 1, 0)
    return [*(cell_len(text) for text in installed_texts(model)), badge_width]


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
