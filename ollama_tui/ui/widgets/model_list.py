"""The installed models as a table that builds only the rows on screen, for any number of models.

A DataTable builds every row (cells, styles, caches) up front and again on each sort: a server
with 100,000 models froze the screen for most of a minute. This table holds the models and
their display order as plain lists; a row's cells are made when the row is painted, so opening,
moving and sorting cost the same whatever the number of models (apart from one pass over plain
data to size the columns, and the sort of a list of indices).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ollama_tui.ollama import ModelSummary
from ollama_tui.ui.widgets.model_tables import SORT_COLUMNS, installed_cells, installed_widths

COLUMNS: list[tuple[str, str]] = [
    *((key, label) for key, (label, _) in SORT_COLUMNS.items()),
    ("capabilities", "Capabilities"),
]
"""The columns of the installed list: key and header label."""

PADDING = 1
"""Blank cells on each side of a column's text, as a DataTable has them."""

HEADER = -1
"""The row number of the header line."""


class ModelListMessage(Message):
    """A message from a ModelList, which `@on(..., selector)` matches through `control`."""

    def __init__(self, model_list: ModelList) -> None:
        super().__init__()
        self.model_list = model_list

    @property
    def control(self) -> ModelList:
        return self.model_list


class ModelList(ScrollView, can_focus=True):
    """Installed models, one row each, with a row cursor and a header that can be clicked."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "model-list--header",
        "model-list--header-hover",
        "model-list--cursor",
        "model-list--hover",
    }
    DEFAULT_CSS = """
    ModelList {
        background: $surface;
        color: $foreground;
        &:focus {
            background-tint: $foreground 5%;
            & > .model-list--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .model-list--header {
                background-tint: $foreground 5%;
            }
        }
        & > .model-list--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .model-list--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .model-list--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .model-list--header-hover {
            background: $accent 30%;
        }
        & > .model-list--hover {
            background: $block-hover-background;
        }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,ctrl+home", "first", "First", show=False),
        Binding("end,ctrl+end", "last", "Last", show=False),
        Binding("left", "scroll_left", "Scroll left", show=False),
        Binding("right", "scroll_right", "Scroll right", show=False),
    ]

    class Highlighted(ModelListMessage):
        """The cursor moved onto another model."""

        def __init__(self, model_list: ModelList, name: str) -> None:
            super().__init__(model_list)
            self.name = name

    class HeaderSelected(ModelListMessage):
        """A column's header was clicked."""

        def __init__(self, model_list: ModelList, column: str) -> None:
            super().__init__(model_list)
            self.column = column

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._models: Sequence[ModelSummary] = ()
        self._order: list[int] = []  # indices into _models, in display order
        self._cell_widths = [0] * len(COLUMNS)  # the widest cell of each column
        self._labels = [label for _, label in COLUMNS]
        self._widths = self._column_widths()
        self.cursor_row = 0
        self._hover_row: int | None = None  # the row under the mouse (HEADER for the header)
        self._lines: LRUCache[tuple[object, ...], Strip] = LRUCache(256)
        self._generation = 0  # bumped whenever what a row shows may have changed

    # What is shown

    def show(
        self,
        models: Sequence[ModelSummary],
        order: list[int],
        labels: list[str],
        keep: str | None,
    ) -> None:
        """Show `models` in `order` under these header labels, the cursor on the model named
        `keep` when it is there, else on the same row."""
        if models is not self._models:
            self._models, self._cell_widths = models, installed_widths(models)
        self._order, self._labels = order, labels
        self._widths = self._column_widths()
        self.virtual_size = Size(sum(self._widths), len(order) + 1)
        self._generation += 1
        self._lines.clear()
        kept = self.row_of(keep) if keep is not None else None
        self.cursor_row = kept if kept is not None else self._clamp(self.cursor_row)
        self._scroll_to_cursor()
        self.refresh()

    def _column_widths(self) -> list[int]:
        return [
            max(cell_len(label), width) + 2 * PADDING
            for label, width in zip(self._labels, self._cell_widths, strict=True)
        ]

    @property
    def row_count(self) -> int:
        return len(self._order)

    @property
    def column_labels(self) -> list[str]:
        """The header's labels, sort indicator included."""
        return list(self._labels)

    @property
    def column_widths(self) -> list[int]:
        """Each column's width on screen, padding included."""
        return list(self._widths)

    def name_at(self, row: int) -> str:
        return self._models[self._order[row]].name

    def cells(self, row: int) -> list[Text]:
        """The cells of one row, made now (they are not kept)."""
        return installed_cells(self._models[self._order[row]])

    def row_of(self, name: str) -> int | None:
        """The row showing the model named `name`; None when it is not listed."""
        index = next((i for i, model in enumerate(self._models) if model.name == name), None)
        return None if index is None else self._order.index(index)

    @property
    def highlighted_name(self) -> str | None:
        """The name of the model under the cursor (None for an empty list)."""
        return self.name_at(self.cursor_row) if self._order else None

    # The cursor

    def _clamp(self, row: int) -> int:
        return max(0, min(row, len(self._order) - 1))

    def move_cursor(self, row: int) -> None:
        """Put the cursor on `row` (kept within the list) and scroll it into view."""
        self._leave_hover()  # keys take over from the mouse, as in a DataTable
        old, new = self.cursor_row, self._clamp(row)
        self._scroll_to_cursor(new)
        if new == old or not self._order:
            return
        self.cursor_row = new
        self.refresh_line(old + 1)
        self.refresh_line(new + 1)
        self.post_message(self.Highlighted(self, self.name_at(new)))

    def _scroll_to_cursor(self, row: int | None = None) -> None:
        row = self.cursor_row if row is None else row
        visible = self.scrollable_content_region.height - 1  # under the header
        if visible < 1:  # not laid out yet: done on the resize that lays it out
            return
        top = round(self.scroll_y)
        if row < top:
            self.scroll_to(y=row, animate=False)
        elif row >= top + visible:
            self.scroll_to(y=row - visible + 1, animate=False)

    def _on_resize(self, _: events.Resize) -> None:
        self._scroll_to_cursor()

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor_row + 1)

    def action_page_up(self) -> None:
        self.scroll_to(y=self.scroll_y - self._page(), animate=False)
        self.move_cursor(self.cursor_row - self._page())

    def action_page_down(self) -> None:
        self.scroll_to(y=self.scroll_y + self._page(), animate=False)
        self.move_cursor(self.cursor_row + self._page())

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(len(self._order) - 1)

    # The mouse

    def _on_mouse_move(self, event: events.MouseMove) -> None:
        row = event.style.meta.get("row")
        if row != self._hover_row:
            self._hover_row = row
            self._generation += 1
            self.refresh()

    def _on_leave(self, _: events.Leave) -> None:
        self._leave_hover()

    def _leave_hover(self) -> None:
        if self._hover_row is not None:
            self._hover_row = None
            self._generation += 1
            self.refresh()

    def _on_click(self, event: events.Click) -> None:
        meta = event.style.meta
        if "row" not in meta:
            return
        if meta["row"] == HEADER:
            if "column" in meta:
                self.post_message(self.HeaderSelected(self, COLUMNS[meta["column"]][0]))
        else:
            self.move_cursor(meta["row"])
        event.stop()

    # Painting

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines.clear()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        row = HEADER if y == 0 else y - 1 + scroll_y
        width = self.size.width
        key = (row, row == self.cursor_row, self._generation, scroll_x, width, self.has_focus)
        strip = self._lines.get(key)
        if strip is None:
            if row >= len(self._order):
                strip = Strip.blank(width, self.rich_style)
            else:
                segments = self._row_segments(row, width)
                strip = (
                    Strip(segments)
                    .crop(scroll_x, scroll_x + width)
                    .adjust_cell_length(width, self.rich_style)
                    .simplify()
                )
            self._lines[key] = strip
        return strip

    def _row_segments(self, row: int, width: int) -> list[Segment]:
        """One row (or the header) across the table's full width, styled as a DataTable's."""
        header = row == HEADER
        if header:
            row_style = self.get_component_styles("model-list--header").rich_style
            cells = [Text(label) for label in self._labels]
        else:
            row_style = self.rich_style
            cells = self.cells(row)
        component = Style()
        if row == self._hover_row:
            component += self.get_component_rich_style("model-list--hover")
            if header:
                component += self.get_component_rich_style("model-list--header-hover")
        if row == self.cursor_row and not header:
            component += self.get_component_rich_style("model-list--cursor")
        post = Style.from_color(color=component.color)
        console = self.app.console
        segments: list[Segment] = []
        for column, (cell, cell_width) in enumerate(zip(cells, self._widths, strict=True)):
            style = row_style + component + Style.from_meta({"row": row, "column": column})
            cell.truncate(cell_width - 2 * PADDING)
            gap = cell_width - 2 * PADDING - cell.cell_len
            left, right = (gap, 0) if cell.justify == "right" else (0, gap)
            segments.append(Segment(" " * (PADDING + left), style + post))
            segments.extend(
                Segment(part.text, style + part.style + post if part.style else style + post)
                for part in cell.render(console)
            )
            segments.append(Segment(" " * (PADDING + right), style + post))
        rest = max(0, width - sum(self._widths))
        segments.append(Segment(" " * rest, row_style + component + Style.from_meta({"row": row})))
        return segments
