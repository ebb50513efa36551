"""The attach prompt (a path with completion of folders and file names) and the image viewer."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ollama_tui.chat.attachments import Attachment
from ollama_tui.chat.intake import complete, resolve
from ollama_tui.ui.widgets.attachments import attachment_label, image_widget


class AttachScreen(ModalScreen[Path | None]):
    """Dismisses with the path to attach (Enter on a file), or None (escape).

    Paths are relative to `cwd` and may start with `~`. The list below the input completes
    the last part as it is typed: tab (or down, then Enter) takes the highlighted entry; Enter
    on a folder opens it.
    """

    AUTO_FOCUS = "#attach-path"
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="attach.cancel"),
        Binding("tab", "take_completion", "Complete", priority=True, id="attach.complete"),
        Binding("down", "into_list", "Choices", show=False),
    ]

    def __init__(self, cwd: Path) -> None:
        super().__init__()
        self.cwd = cwd

    def compose(self) -> ComposeResult:
        with Vertical(id="attach-dialog") as dialog:
            dialog.border_title = "Attach a file"
            dialog.border_subtitle = "tab complete · Enter attach · escape cancel"
            yield Static(
                Content(f"Images (PNG, JPEG, WebP, GIF) or text files · from {self.cwd}"),
                id="attach-help",
            )
            yield Input(placeholder="path, e.g. ~/Pictures/cat.png", id="attach-path", compact=True)
            yield OptionList(id="attach-choices", compact=True)

    def on_mount(self) -> None:
        self._fill("")

    @property
    def _input(self) -> Input:
        return self.query_one("#attach-path", Input)

    @property
    def _choices(self) -> OptionList:
        return self.query_one("#attach-choices", OptionList)

    @on(Input.Changed, "#attach-path")
    def _typed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def _fill(self, typed: str) -> None:
        choices = self._choices
        choices.clear_options()
        choices.add_options(Option(Content(entry), id=entry) for entry in complete(typed, self.cwd))
        choices.display = choices.option_count > 0

    def action_take_completion(self) -> None:
        choices = self._choices
        if not choices.option_count:
            return
        index = choices.highlighted if choices.highlighted is not None else 0
        self._take(str(choices.get_option_at_index(index).id))

    def action_into_list(self) -> None:
        if self._choices.option_count:
            self._choices.focus()
            if self._choices.highlighted is None:
                self._choices.highlighted = 0

    def _take(self, entry: str) -> None:
        self._input.value = entry
        self._input.cursor_position = len(entry)
        self._input.focus()

    @on(OptionList.OptionSelected, "#attach-choices")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        entry = str(event.option.id)
        if entry.endswith("/"):
            self._take(entry)
        else:
            self.dismiss(resolve(entry, self.cwd))

    @on(Input.Submitted, "#attach-path")
    def _submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            return
        path = resolve(event.value, self.cwd)
        if path.is_dir() and not event.value.endswith("/"):
            self._take(event.value + "/")  # Enter on a folder opens it
            return
        self.dismiss(path)


class ImageScreen(ModalScreen[None]):
    """An attached image, as large as the screen allows; escape or enter closes it."""

    BINDINGS = [Binding("escape,enter,q", "dismiss(None)", "Close", id="image.close")]

    def __init__(self, attachment: Attachment, path: Path) -> None:
        super().__init__()
        self.attachment = attachment
        self.path = path

    def compose(self) -> ComposeResult:
        with Vertical(id="image-dialog") as dialog:
            dialog.border_subtitle = "escape close"
            yield Static(Content(attachment_label(self.attachment)), id="image-caption")
            bounds = (self.app.size.width - 8, self.app.size.height - 8)
            yield image_widget(self.attachment, self.path, bounds, headless=self.app.is_headless)
