"""One layout, not two or three, and small repaints, each time a streaming reply grows
(Textual 8.2.8).

The message pane, each message and each message's Markdown use Textual's stream layout, which
measures again only the children that asked for a layout and reuses the others' places. Two
things in Textual make every growth of a reply cost extra full-screen layouts:

* `Screen._on_layout` notes which child of each container asked, walking up from the widget;
  it skips a child when the child is itself a container already noted (it looks in the dict of
  containers, not in that container's set). So when the reply's last paragraph changes height,
  the containers above it keep the Markdown's old height, and the next layouts (asked for below)
  catch up one level at a time: three layouts where one does.
  `StreamLayoutScreen` notes each child in its container's own set.
* After a layout every widget whose size changed asks for another (its `virtual_size` is a
  reactive with `layout=True`), for the sake of scrollbars. A widget that never scrolls gains
  nothing from it, nor does the message pane when it only grows past its height again:
  `LaidOutOnce` asks only when scrollbars may change.

And a third makes every small repaint cost as much as a large one: to repaint a few lines,
Textual's compositor renders every widget whose clip meets them whole — the message pane, the
sidebar, the prompt, ~16 widgets of ~40 lines each — then keeps only the lines it repaints.
`RowCroppedCompositor` renders only those lines of each widget, and of a widget behind others
(the screen, the panes, a message's Markdown behind its blocks) only the lines they leave
uncovered in the columns repainted (the rest of a line is not sent): after a layout that
scrolls the message pane, the containers behind and around the reply drew each of its lines
once more for nothing. (And the scrollbar that a layout moves is drawn in that layout's frame,
not in a frame of its own.)
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import pairwise
from typing import cast

from textual import messages
from textual._compositor import Compositor
from textual.geometry import Region, Size
from textual.message import Message
from textual.screen import Screen
from textual.scrollbar import ScrollBar
from textual.strip import Strip
from textual.widget import Widget

_SCROLLING = ("auto", "scroll")


class RowCroppedCompositor(Compositor):
    """A compositor that renders, for a repaint, only the lines repainted of each widget, and of
    those only the lines that widgets in front of it leave uncovered in the columns repainted."""

    def _render_chops(
        self, crop: Region, is_rendered_line: Callable[[int], bool]
    ) -> Sequence[Mapping[int, Strip]]:
        cuts = self.cuts
        chops: list[dict[int, Strip | None]] = [dict.fromkeys(line[:-1]) for line in cuts]
        top, bottom = crop.y, crop.bottom
        # Of each line repainted, the stretches (by the cut they begin at) that meet the
        # repainted columns and are still empty: only those are sent to the terminal.
        empty: dict[int, set[int]] = {}
        for y in range(top, bottom):
            if is_rendered_line(y):
                row = cuts[y]
                empty[y] = {cut for cut, end in pairwise(row) if cut < crop.right and end > crop.x}
        # Front to back: the first strip given for a cut of a line is the one shown there.
        for widget, region, visible in self._shown_parts():
            if not empty:
                break
            if not crop.overlaps(visible):  # a widget beside the lines has nothing in them
                continue
            left, right = visible.column_span
            # The cuts of each line across the widget (its right edge last), for the lines
            # where it would fill a stretch still empty.
            uncovered: dict[int, list[int]] = {}
            for y in range(max(visible.y, top), min(visible.bottom, bottom)):
                if open_cuts := empty.get(y):
                    row = cuts[y]  # ascending
                    line_cuts = row[bisect_left(row, left) : bisect_right(row, right)]
                    if not open_cuts.isdisjoint(line_cuts[:-1]):
                        uncovered[y] = line_cuts
            for first, last in _runs(list(uncovered)):
                lines = Region(left - region.x, first - region.y, visible.width, last - first + 1)
                strips = widget.render_lines(lines)
                for y, strip in zip(range(first, last + 1), strips, strict=False):
                    line_cuts = uncovered[y]
                    pieces = strip.divide([cut - left for cut in line_cuts[1:]])
                    chops_line = chops[y]
                    for cut, piece in zip(line_cuts, pieces, strict=False):
                        if chops_line[cut] is None:
                            chops_line[cut] = piece
                    open_cuts = empty[y]
                    open_cuts.difference_update(line_cuts[:-1])
                    if not open_cuts:
                        del empty[y]
        return cast("list[dict[int, Strip]]", chops)

    _shown: tuple[object, list[tuple[Widget, Region, Region]]] = (None, [])

    def _shown_parts(self) -> list[tuple[Widget, Region, Region]]:
        """Each visible widget, front to back, with its region and the part of it shown (worked
        out again only when the widgets on screen or their places change)."""
        visible_widgets = self.visible_widgets
        if self._shown[0] is not visible_widgets:
            parts = [
                (widget, region, region.intersection(clip))
                for widget, (region, clip) in visible_widgets.items()
            ]
            self._shown = (visible_widgets, parts)
        return self._shown[1]


def _runs(rows: list[int]) -> Iterator[tuple[int, int]]:
    """The first and last of each run of consecutive numbers in `rows` (ascending)."""
    if not rows:
        return
    first = previous = rows[0]
    for row in rows[1:]:
        if row != previous + 1:
            yield first, previous
            first = row
        previous = row
    yield first, previous


class StreamLayoutScreen(Screen[None]):
    """A screen whose stream-layout containers measure again every child that grew, and whose
    repaints render only the lines they change."""

    def __init__(
        self, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name, id, classes)
        self._compositor = RowCroppedCompositor()
        self._asking_for_layout: list[Widget] = []
        """Widgets whose Layout message was posted and not yet handled. The screen handles
        only the last of several Layout messages queued together (Layout.can_replace), and a
        stream layout keeps the place it had of every child it is not told has changed: a
        message header that went from two lines to one kept its two."""

    def post_message(self, message: Message) -> bool:
        if isinstance(message, messages.Layout) and isinstance(message.widget, Widget):
            self._asking_for_layout.append(message.widget)
        return super().post_message(message)

    def _compositor_refresh(self) -> None:
        # A layout that grows the message pane moves its scrollbar, which asks for its repaint
        # only after the frame: drawn in this frame, it costs no frame of its own.
        compositor = self._compositor
        moved = {
            widget
            for widget in compositor.visible_widgets
            if isinstance(widget, ScrollBar) and widget._repaint_required
        }
        if moved:
            compositor.update_widgets(moved)
            for scrollbar in moved:
                scrollbar._repaint_required = False
        super()._compositor_refresh()

    async def _on_layout(self, message: messages.Layout) -> None:
        message.stop()
        message.prevent_default()
        layout_required = False
        asking, self._asking_for_layout = self._asking_for_layout, []
        for widget in (*asking, message.widget):
            for ancestor in widget.ancestors:
                if not isinstance(ancestor, Widget):
                    break
                asked = self._layout_widgets.setdefault(ancestor, set())
                if widget not in asked:
                    asked.add(widget)
                    layout_required = True
                if not ancestor.styles.auto_dimensions:
                    break
                widget = ancestor
        if layout_required and not self._layout_required:
            self._layout_required = True
            self.check_idle()


class LaidOutOnce(Widget):
    """A widget that asks for a second layout after its size changed only when its scrollbars
    may have to appear or go: never for one that does not scroll, or whose scrollbars take no
    room (a code block scrolls sideways with a scrollbar 0 cells high)."""

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        if layout and not self._scrollbars_may_change(size, virtual_size, container_size):
            layout = False
        return super()._size_updated(size, virtual_size, container_size, layout)

    def _scrollbars_may_change(self, size: Size, virtual_size: Size, container_size: Size) -> bool:
        styles = self.styles
        if not (styles.overflow_x in _SCROLLING and styles.scrollbar_size_horizontal) and not (
            styles.overflow_y in _SCROLLING and styles.scrollbar_size_vertical
        ):
            return False
        before, after = self.virtual_size, virtual_size
        return (
            size != self._size
            or container_size != self._container_size
            or before.width != after.width
            or (before.height > self._container_size.height)
            != (after.height > container_size.height)
        )


class TallerSameLines(Widget):
    """A container whose lines look alike at any height (no top or bottom edge): when it only
    grows or shrinks, the lines it had stay drawn and only the new ones are.

    Textual draws every line of a widget again when its size changes; a message view is the
    height of its reply, so each growth of a streaming reply drew its border and padding
    again down the whole pane."""

    _resized_to: Size | None = None

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        if size.width == self._size.width and self._edges_fixed():
            self._resized_to = size
        try:
            return super()._size_updated(size, virtual_size, container_size, layout)
        finally:
            self._resized_to = None

    def _set_dirty(self, *regions: Region) -> None:
        resized_to = self._resized_to
        if regions or resized_to is None:
            super()._set_dirty(*regions)
            return
        low, high = sorted((self._size.height, resized_to.height))
        super()._set_dirty(Region(0, low, resized_to.width, high - low))

    def _edges_fixed(self) -> bool:
        styles = self.styles
        padding = styles.padding
        return (
            styles.border_top[0] in ("", "none")
            and styles.border_bottom[0] in ("", "none")
            and padding.top == 0
            and padding.bottom == 0
            and self._border_title is None
            and self._border_subtitle is None
        )
