"""Attachments on screen: removable chips above the prompt, and the files of a sent message.

Images are drawn with textual-image (Kitty or Sixel graphics where the terminal has them,
half-blocks where it does not, in headless runs, and until the terminal could be asked) at a
bounded size; `enter` on one opens it larger. Text files show as a folded block with
their name and size.
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Collapsible, Static

from ollama_tui.chat.attachments import Attachment, AttachmentKind
from ollama_tui.sanitize import sanitize
from ollama_tui.ui.inert import inert

PREVIEW_LINES = 300
"""Lines of a text attachment shown when its block is unfolded (the model gets all of it)."""
INLINE_SIZE = (48, 10)
"""Columns and rows an image in a message takes at most."""


def fit_cells(attachment: Attachment, max_columns: int, max_rows: int) -> tuple[int, int]:
    """The columns and rows that show the image whole within the bounds (a cell is about twice
    as tall as it is wide)."""
    width, height = attachment.width or 1, attachment.height or 1
    rows = max_rows
    columns = round(rows * 2 * width / height)
    if columns > max_columns:
        columns = max_columns
        rows = max(1, round(columns * height / (2 * width)))
    return max(1, columns), rows


def image_widget(
    attachment: Attachment, path: Path, size: tuple[int, int], *, headless: bool
) -> Widget:
    """A widget drawing the image at `path` in `size` (columns, rows), or a note when
    textual-image is not installed."""
    try:
        widgets, asked_terminal = _textual_image()
    except ImportError:
        return Static(
            inert(f"(install ollama-tui[images] to see {attachment.name} here)"),
            classes="attachment-note",
        )
    drawn_as = widgets.Image if asked_terminal and not headless else widgets.HalfcellImage
    picture = drawn_as(path)
    picture.styles.width, picture.styles.height = fit_cells(attachment, *size)
    return picture


def _textual_image() -> tuple[ModuleType, bool]:
    """textual-image's widgets, and whether it asked the terminal for its graphics.

    Imported before the app started (cli.detect_terminal_graphics) it has asked. Imported now, it
    must not: the app would read the terminal's answer as keys. So it is imported as if there
    were no terminal, and images are drawn in half-blocks, which every terminal shows.
    """
    module = sys.modules.get("textual_image.widget")
    if module is not None:
        return module, module.__dict__.get(_IMPORTED_LATE) is None
    real = sys.__stdout__
    sys.__stdout__ = io.StringIO()  # not a terminal: nothing is asked
    try:
        import textual_image.widget as module
    finally:
        sys.__stdout__ = real
    module.__dict__[_IMPORTED_LATE] = True
    return module, False


_IMPORTED_LATE = "_ollama_tui_imported_late"


def attachment_label(attachment: Attachment) -> str:
    icon = "▣" if attachment.is_image else "≡"
    return f"{icon} {sanitize(attachment.describe())}"


class AttachmentChip(Static, can_focus=True):
    """One file waiting to be sent; delete, backspace or a click takes it off."""

    BINDINGS = [
        Binding("delete,backspace,x", "remove", "Remove", show=True),
    ]

    def __init__(self, attachment: Attachment) -> None:
        super().__init__(
            Content.assemble(attachment_label(attachment), ("  ✕", "$text-muted")),
            classes="attachment-chip",
            markup=False,
        )
        self.attachment = attachment

    def action_remove(self) -> None:
        self.post_message(AttachmentChips.RemoveRequested(self.attachment))

    def on_click(self) -> None:
        self.action_remove()


class AttachmentChips(Horizontal):
    """The files attached to the message being written, shown above the prompt."""

    @dataclass
    class RemoveRequested(Message):
        attachment: Attachment

    @dataclass
    class Changed(Message):
        """The pending files changed (the context meter counts them)."""

        chips: AttachmentChips

        @property
        def control(self) -> AttachmentChips:
            return self.chips

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.pending: list[Attachment] = []
        self.display = False

    async def add(self, attachment: Attachment) -> bool:
        """Add a file; False when the same file (same bytes and name) is already there."""
        if any(a == attachment for a in self.pending):
            return False
        self.pending.append(attachment)
        await self.mount(AttachmentChip(attachment))
        self._changed()
        return True

    async def take(self) -> list[Attachment]:
        """The pending files, removed from the chips (as the message is sent)."""
        taken, self.pending = self.pending, []
        await self.remove_children()
        self._changed()
        return taken

    async def restore(self, attachments: list[Attachment]) -> None:
        """Put files back (a message that could not be sent keeps them)."""
        for attachment in attachments:
            await self.add(attachment)

    async def on_attachment_chips_remove_requested(self, event: RemoveRequested) -> None:
        event.stop()
        for chip in self.query(AttachmentChip):
            if chip.attachment is event.attachment:
                await chip.remove()
        self.pending = [a for a in self.pending if a is not event.attachment]
        self._changed()

    def _changed(self) -> None:
        self.display = bool(self.pending)
        self.post_message(self.Changed(self))


class AttachedImage(Vertical, can_focus=True):
    """An image in a message, drawn small; `enter` opens it larger."""

    BINDINGS = [Binding("enter", "open", "Open image", show=True)]

    def __init__(self, attachment: Attachment, path: Path) -> None:
        super().__init__(classes="attached-image")
        self.attachment = attachment
        self.path = path

    def compose(self) -> ComposeResult:
        yield image_widget(self.attachment, self.path, INLINE_SIZE, headless=self.app.is_headless)
        yield Static(
            Content.assemble((attachment_label(self.attachment), "$text-muted"), "  enter: larger"),
            classes="attachment-caption",
            markup=False,
        )

    def action_open(self) -> None:
        from ollama_tui.ui.screens.attach import ImageScreen

        self.app.push_screen(ImageScreen(self.attachment, self.path))

    def on_click(self) -> None:
        self.action_open()


class MessageAttachments(Vertical):
    """The files a sent message carries: images drawn, text files folded, missing ones named."""

    def __init__(self, attachments: list[Attachment], folder: Path) -> None:
        super().__init__(classes="message-attachments")
        self.attachments = attachments
        self.folder = folder

    def compose(self) -> ComposeResult:
        for attachment in self.attachments:
            path = self.folder / attachment.file_name
            if attachment.kind is AttachmentKind.TEXT:
                if attachment.text is None:
                    yield self._missing(attachment)
                    continue
                title = inert(attachment.describe())  # a str title would be read as markup
                with Collapsible(title=title, collapsed=True, classes="attached-text"):  # type: ignore[arg-type]
                    yield Static(inert(_preview(attachment.text)), classes="attached-text-body")
            elif path.is_file():
                yield AttachedImage(attachment, path)
            else:
                yield self._missing(attachment)

    @staticmethod
    def _missing(attachment: Attachment) -> Static:
        return Static(
            inert(f"⚠ {attachment.name}: the attached file is missing from the data folder"),
            classes="attachment-missing",
        )


def _preview(text: str) -> str:
    lines = text.splitlines()
    if len(lines) <= PREVIEW_LINES:
        return text
    shown = "\n".join(lines[:PREVIEW_LINES])
    return f"{shown}\n… {len(lines) - PREVIEW_LINES:,} more lines (all of them go to the model)"
