"""The lines of a paragraph a reply streams into, wrapped and drawn again only from its last
line (Textual 8.2.8).

Textual wraps and draws all of a widget's text each time it changes, and wraps it once more to
measure its height: for the paragraph a reply grows ten times a second, each render costs as
much as every line already there (~0.4 ms for a paragraph of ten lines, most of a streaming
frame's drawing). Words are wrapped greedily, each line from where the one above it ended, so
text added at the end moves only the words of the last line: the lines above it wrap, and are
drawn, exactly as before.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from textual.content import Content, _FormattedLine
from textual.geometry import Size
from textual.strip import Strip
from textual.style import Style
from textual.visual import RulesMap
from textual.widget import Widget, _RenderCache


def extends(before: Content, after: Content) -> bool:
    """Whether `after` is `before` with text added at its end, styled alike."""
    end = len(before.plain)
    return after.plain.startswith(before.plain) and [
        span for span in after.spans if span.start < end
    ] == list(before.spans)


class _Wrap(NamedTuple):
    """What lines are wrapped for: the width and the rules that change wrapping."""

    width: int
    align: Any
    overflow: Any
    no_wrap: bool
    line_pad: int
    get_style: Any


class GrowingText:
    """The wrapped lines of a Content, and those of them drawn, kept from one render to the
    next: a Content that extends the last one is wrapped and drawn from the last line on."""

    def __init__(self) -> None:
        self._content: Content | None = None
        self._wrap: _Wrap | None = None
        self._lines: list[_FormattedLine] = []
        self._starts: list[int] = []
        """Where each line begins in the Content's text."""
        self._look: tuple[object, ...] = ()
        """What the strips were drawn for: base style and link style."""
        self._strips: list[Strip] = []
        """The first lines, drawn."""

    def height(self, content: Content, width: int, rules: RulesMap, get_style: Any) -> int:
        return len(self._wrapped(content, width, rules, get_style))

    def strips(
        self,
        content: Content,
        width: int,
        rules: RulesMap,
        get_style: Any,
        style: Style,
        link_style: Any,
    ) -> list[Strip]:
        """All lines drawn, as `Visual.to_strips` draws them (with no selection, content
        aligned top left)."""
        lines = self._wrapped(content, width, rules, get_style)
        look = (style, link_style)
        if look != self._look:
            self._look = look
            self._strips = []
        drawn = self._strips
        for line in lines[len(drawn) :]:
            strip = Strip(*line.to_strip(style))
            drawn.append(strip if link_style is None else strip._apply_link_style(link_style))
        return list(drawn)

    def _wrapped(
        self, content: Content, width: int, rules: RulesMap, get_style: Any
    ) -> list[_FormattedLine]:
        get_rule = rules.get
        wrap = _Wrap(
            width,
            get_rule("text_align", "left"),
            get_rule("text_overflow", "fold"),
            get_rule("text_wrap", "wrap") == "nowrap",
            get_rule("line_pad", 0),
            get_style,
        )
        if content is self._content and wrap == self._wrap:
            return self._lines
        previous, self._content = self._content, content
        if (
            previous is not None
            and wrap == self._wrap
            and self._lines
            and wrap.overflow == "fold"  # words wrapped, not cut
            and not wrap.no_wrap
            and "\t" not in content.plain  # tabs expand by their place in the whole line
            and extends(previous, content)
        ):
            kept = len(self._lines) - 1
            while kept and not self._begins_at_a_word(kept, content.plain):
                kept -= 1
            last = self._lines[kept]
            start = self._starts[kept]
            del self._lines[kept:], self._starts[kept:], self._strips[kept:]
            self._add(content[start:], wrap, start, last.x, last.y)
        else:
            self._wrap = wrap
            self._lines, self._starts, self._strips = [], [], []
            self._add(content, wrap, 0, 0, 0)
        return self._lines

    def _begins_at_a_word(self, index: int, plain: str) -> bool:
        """Whether line `index` begins a line of the text or a word in it: wrapping from there
        places what follows as wrapping the whole did. (A line that begins inside a word too
        long for any line may not: the word was cut into widths, whitespace included, and the
        first word of a line includes the whitespace before it.)"""
        if self._lines[index].x == 0:
            return True
        start = self._starts[index]
        if plain[start].isspace() or not plain[start - 1].isspace():
            return False
        line_start = plain.rfind("\n", 0, start) + 1
        return not plain[line_start:start].isspace()

    def _add(self, text: Content, wrap: _Wrap, start: int, x: int, y: int) -> None:
        """Wrap `text`, which begins `x` characters into line `y` of the whole Content (and at
        `start` in its text), and add its lines."""
        line_starts = [0]
        line_starts.extend(found.end() for found in re.finditer("\n", text.plain))
        lines = text._wrap_and_format(
            wrap.width,
            align=wrap.align,
            overflow=wrap.overflow,
            no_wrap=wrap.no_wrap,
            line_pad=wrap.line_pad,
            tab_size=8,
            get_style=wrap.get_style,
        )
        for line in lines:
            self._starts.append(start + line_starts[line.y] + line.x)
            if line.y == 0:
                line.x += x
            line.y += y
        self._lines.extend(lines)


class KeptLines(Widget):
    """A widget showing a Content that, while `_growing` is set, wraps and draws only the
    lines its text added since the last render (a Markdown block a reply streams into)."""

    _growing: GrowingText | None = None

    def _content_lines(self, content: Content, width: int) -> int:
        """How many lines `content` wraps to, `width` cells wide."""
        if self._growing is None:
            return content.get_height(self.styles, width)
        return self._growing.height(content, width, self.styles, self._get_style)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        visual = self._render()
        if self._growing is None or width <= 0 or not isinstance(visual, Content):
            return super().get_content_height(container, viewport, width)
        return self._growing.height(visual, width, self.styles, self._get_style)

    def _render_content(self) -> None:
        visual = self._render()
        width, height = self.size
        if (
            self._growing is None
            or not isinstance(visual, Content)
            or width <= 0
            or self.text_selection is not None
            or self.styles.content_align != ("left", "top")
        ):
            super()._render_content()
            return
        links = self.auto_links and not self.screen._selecting
        strips = self._growing.strips(
            visual,
            width,
            self.styles,
            self._get_style,
            self.visual_style,
            self.link_style if links else None,
        )
        self._render_cache = _RenderCache(self.size, strips[:height])
        self._dirty_regions.clear()
