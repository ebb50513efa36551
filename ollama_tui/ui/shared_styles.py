"""Inline styles (em, strong, code…) worked out once for Markdown blocks alike (Textual 8.2.8).

Every Markdown block has four component classes. Textual styles each one for each block it
mounts, through a throwaway node matched against the whole stylesheet: two thirds of the cost of
styling a block (a 16k-token reply spent ~50 ms of its ~460 on it). What they come to depends
only on the stylesheet and on the type, classes, pseudo-classes (and ids that rules name) of the
block and of each of its ancestors up to the app's own pseudo-classes (dark, light, ansi…), so
blocks alike in all of those share what the first of them got: the same styles objects, which
Textual only reads (each block getting its own would cost a throwaway node per class and block).

Pseudo-classes that depend on a block's place among its siblings (first-child, odd…) are not in
that context: blocks whose own rules use them work theirs out alone.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.css.model import RuleSet
from textual.css.styles import RenderStyles
from textual.css.stylesheet import Stylesheet
from textual.dom import DOMNode
from textual.widget import Widget

_MOST_KEPT = 64
"""Contexts remembered at once; past this they are forgotten and worked out afresh."""

StyleContext = tuple[Any, ...]
StylesOf = dict[str, RenderStyles]
"""The styles of each component class of a block, by its name."""


class SharedComponentStyles(Widget):
    """A block whose component classes take the rules that blocks alike matched before it."""

    _shared: ClassVar[dict[StyleContext, tuple[list[RuleSet], StylesOf | Widget]]] = {}
    """Per context: the stylesheet's rules they were matched against (a new list each time it
    is parsed), and the styles they came to, or the block they were matched for."""
    _matched_for: StyleContext | None = None
    """The context this block's component classes were last matched in, until they are kept."""

    def _get_component_classes(self) -> frozenset[str]:  # type: ignore[override]
        """The component classes for the stylesheet to match, or none when they are styled
        from those of blocks alike (the stylesheet asks this just before matching them)."""
        self._keep_matched()
        names: frozenset[str] = super()._get_component_classes()
        if not names or self._has_order_style or self._has_odd_or_even:
            return names
        stylesheet = self.app.stylesheet
        context = self._style_context(stylesheet.rules_map)
        if context is None:
            return names
        matched = self._matched_in(context, stylesheet.rules)
        if matched is not None and matched.keys() >= names:
            self._take_component_styles(matched)
            return frozenset()
        if len(self._shared) >= _MOST_KEPT:
            self._shared.clear()
        self._shared[context] = (stylesheet.rules, self)
        self._matched_for = context
        return names

    def _matched_in(self, context: StyleContext, rules: list[RuleSet]) -> StylesOf | None:
        """The styles the component classes of blocks in `context` came to, if known."""
        shared = self._shared.get(context)
        if shared is None or shared[0] is not rules:
            return None
        if isinstance(shared[1], SharedComponentStyles):
            shared[1]._keep_matched()
            shared = self._shared.get(context)
        return None if shared is None or isinstance(shared[1], Widget) else shared[1]

    def _keep_matched(self) -> None:
        """Keep the rules the stylesheet matched for this block, for the blocks alike, before
        it is styled again (a block removed meanwhile has forgotten them: they are matched
        afresh)."""
        context, self._matched_for = self._matched_for, None
        if context is None:
            return
        shared = self._shared.get(context)
        if shared is None or shared[1] is not self:
            return
        if self._component_styles:
            matched = {
                name: _unattached_copy(name, styles)
                for name, styles in self._component_styles.items()
            }
            self._shared[context] = (shared[0], matched)
        else:
            del self._shared[context]

    def _take_component_styles(self, styles_of: StylesOf) -> None:
        own = self._component_styles
        if own.keys() == styles_of.keys() and all(own[name] is styles_of[name] for name in own):
            return
        own.clear()
        own.update(styles_of)
        self.notify_style_update()
        self.refresh()

    def _style_context(self, rules_map: dict[str, list[RuleSet]]) -> StyleContext | None:
        """What the stylesheet matches the block's component classes against; None while the
        block is not linked to the app."""
        context: list[Any] = []
        for node in self.ancestors_with_self:
            if not isinstance(node, Widget):  # the app
                context.append(frozenset(node.get_pseudo_classes()))
                return tuple(context)
            named = node.id if node.id is not None and f"#{node.id}" in rules_map else None
            # What _pseudo_classes_cache_key holds, but `disabled` rather than `is_disabled`
            # (which walks up the ancestors): with every ancestor's in the context, it is the
            # same, without a walk per ancestor.
            state = (node.mouse_hover, node.has_focus, node.disabled)
            context.append((type(node), named, node.classes, state))
        return None


def _unattached_copy(name: str, styles: RenderStyles) -> RenderStyles:
    """Styles with the rules of a component class's `styles`, on a node of their own: the
    block's would hold on to the block after it is removed."""
    component = DOMNode(classes=name)
    Stylesheet.replace_rules(component, dict(styles.base._rules))
    return component.styles
