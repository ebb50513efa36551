"""The chat page's footer: Textual's, but a change of which keys it shows updates its keys in
place instead of rebuilding it.

Textual's Footer removes and mounts all of its keys whenever the bindings change. On the chat
page that happens as every reply starts and ends (Stop shows, Retry hides, and back): ~15–35 ms
of styling new widgets and a layout of their own, in the frame after the reply's last words.
The keys shown are the same number then, so each key takes its new binding and only the footer
is laid out again, in the frame that closes the reply.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.cells import cell_len
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

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
    """A Footer whose keys take new bindings in place when as many keys are shown."""

    def compose(self) -> ComposeResult:
        # Textual's Footer shows no key until the screen first reports its bindings, a frame
        # or more after the screen is up; the keys known as the page is composed come with it.
        self._bindings_ready = True
        return super().compose()

    def bindings_changed(self, screen: Screen) -> None:  # type: ignore[type-arg]
        self._bindings_ready = True
        if not screen.app.app_focus or not self.is_attached or screen is not self.screen:
            return
        specs = self._key_specs()
        keys = list(self.query_children(FooterKey))
        if specs is None or len(keys) != len(specs) or len(keys) != len(self.children):
            self.call_after_refresh(self.recompose)
            return
        for footer_key, spec in zip(keys, specs, strict=True):
            if footer_key.has_class("-command-palette") != spec.palette:
                self.call_after_refresh(self.recompose)
                return
        for footer_key, spec in zip(keys, specs, strict=True):
            _show(footer_key, spec)

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
