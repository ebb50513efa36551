"""The chat page's footer: Textual's, but a change of which keys it shows updates its keys in
place instead of rebuilding it.

Textual's Footer removes and mounts all of its keys whenever the bindings change. On the chat
page that happens as every reply starts and ends (Stop shows, Retry hides, and back): ~15–35 ms
of styling new widgets and a layout of their own, in the frame after the reply's last words.
Here each key shown takes its new binding in place, and a key more or fewer (a conversation's
first reply brings Stop, then Retry) is mounted or removed alone; the keys take their new
widths in the one layout that follows, without asking for another.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.cells import cell_len
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from ollama_tui.ui.stream_layout import LaidOutOnce

if TYPE_CHECKING:
    from textual.app import ComposeResult
    from textual.screen import Screen


@dataclass(frozen=True, slots=True)
class KeySpec:
    """What one footer key shows, as Footer.compose would make it."""

    key: str
    key_display: str
    description: str
    action: str
    disabled: bool
    tooltip: str
    palette: bool = False


class KeyFooter(Footer):
    """A Footer whose keys take new bindings in place, adding or removing only the difference."""

    def compose(self) -> ComposeResult:
        # Textual's Footer shows no key until the screen first reports its bindings, a frame
        # or more after the screen is up; the keys known as the page is composed come with it.
        self._bindings_ready = True
        specs = self._key_specs()
        if specs is None:
            yield from super().compose()
            return
        for spec in specs:  # the keys Footer.compose makes, laid out once per change of size
            key = _new_key(spec)
            yield key if spec.palette else key.data_bind(compact=Footer.compact)

    def bindings_changed(self, screen: Screen) -> None:  # type: ignore[type-arg]
        self._bindings_ready = True
        if not screen.app.app_focus or not self.is_attached or screen is not self.screen:
            return
        specs = self._key_specs()
        keys = list(self.query_children(FooterKey))
        if specs is None or len(keys) != len(self.children):
            self.call_after_refresh(self.recompose)
            return
        palette = [key for key in keys if key.has_class("-command-palette")]
        palette_specs = [spec for spec in specs if spec.palette]
        if len(palette) != len(palette_specs) or keys[len(keys) - len(palette) :] != palette:
            self.call_after_refresh(self.recompose)
            return
        shown = keys[: len(keys) - len(palette)]
        wanted = specs[: len(specs) - len(palette_specs)]
        for footer_key, spec in zip(shown, wanted, strict=False):
            _show(footer_key, spec)
        for footer_key, spec in zip(palette, palette_specs, strict=True):
            _show(footer_key, spec)
        if len(shown) == len(wanted):
            return
        for footer_key in shown[len(wanted) :]:
            footer_key.remove()
        if len(wanted) > len(shown):
            with self._context():  # data_bind binds to the widget whose context it runs in
                added = [
                    _new_key(spec).data_bind(compact=Footer.compact)
                    for spec in wanted[len(shown) :]
                ]
            self.mount_all(added, before=palette[0] if palette else None)

    def _key_specs(self) -> list[KeySpec] | None:
        """The keys Footer.compose would show, in order; None when it would group some (then
        the footer is rebuilt as Textual does)."""
        active = self.screen.active_bindings
        by_action: defaultdict[str, list[tuple[Binding, bool, str]]] = defaultdict(list)
        for _node, binding, enabled, tooltip in active.values():
            if binding.show:
                if binding.group is not None:
                    return None
                by_action[binding.action].append((binding, enabled, tooltip))
        display = self.app.get_key_display
        specs = [
            KeySpec(b.key, display(b), b.description, b.action, not enabled, tooltip)
            for (b, enabled, tooltip), *_ in by_action.values()
        ]
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            palette = active.get(self.app.COMMAND_PALETTE_BINDING)
            if palette is not None:
                _node, b, enabled, _tooltip = palette
                tooltip = b.tooltip or b.description
                specs.append(
                    KeySpec(b.key, display(b), b.description, b.action, not enabled, tooltip, True)
                )
        return specs


def _show(footer_key: FooterKey, spec: KeySpec) -> None:
    """Make `footer_key` show `spec`, redrawing it only if something changed."""
    old = (footer_key.key, footer_key.key_display, footer_key.description, footer_key.action)
    if old != (spec.key, spec.key_display, spec.description, spec.action) or (
        footer_key._disabled != spec.disabled
    ):
        resized = (cell_len(old[1]), cell_len(old[2])) != (
            cell_len(spec.key_display),
            cell_len(spec.description),
        )
        footer_key.key = spec.key
        footer_key.key_display = spec.key_display
        footer_key.description = spec.description
        footer_key.action = spec.action
        footer_key._disabled = spec.disabled
        footer_key.set_class(spec.disabled, "-disabled")
        footer_key.refresh(layout=resized)
    if (footer_key.tooltip or "") != spec.tooltip:
        footer_key.tooltip = spec.tooltip or None


class _Key(FooterKey, LaidOutOnce):
    """A footer key that takes a new width in the layout that gives it (Textual's asks for a
    second layout of the screen: a frame more each time a reply starts or ends).

    Its width depends on its compact class, which the footer's `compact` sets once the key is
    mounted, possibly after its first layout, and which restyles it with a repaint alone: a
    change of the class asks for the layout that measures it again."""

    def _watch_compact(self, compact: bool) -> None:
        if self.has_class("-compact") != compact:
            super()._watch_compact(compact)
            self.refresh(layout=True)


def _new_key(spec: KeySpec) -> FooterKey:
    """A key showing `spec`, as Footer.compose makes one."""
    return _Key(
        spec.key,
        spec.key_display,
        spec.description,
        spec.action,
        disabled=spec.disabled,
        tooltip=spec.tooltip,
        classes="-command-palette" if spec.palette else "",
    )
