"""The chat screen's compositor draws what Textual's own would, and less of it.

It renders, of each widget, only the lines a repaint asks for and, of those, only the lines
that widgets in front of it leave uncovered (a container behind its children is not drawn).
Here the screen of a conversation (sidebar, parameter panel, a reply streaming, then finished,
then scrolled) is drawn whole and in parts by both, line by line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import pytest
from rich.segment import Segment
from textual._compositor import Compositor
from textual.geometry import Region
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget

from ollama_tui.ui.app import OllamaTUI
from ollama_tui.ui.stream_layout import RowCroppedCompositor
from ollama_tui.ui.widgets.message_body import MessageBody
from tests.fake_ollama import FakeOllama
from tests.fake_ollama.replies import tokenize
from tests.ui.conftest import MakeApp, connected, send, settle, wait_until, writing_header

REPLY = "\n\n".join(
    f"## Part {n}\n\nSome prose with **bold**, `code` and *emphasis* that wraps over a few "
    "lines of the pane, " * 3 + ("\n\n```python\nprint('hi')\n```" if n % 2 else "\n\n- a\n- b")
    for n in range(8)
)


def drawn(
    chops: Sequence[Mapping[int, Strip | None]], cuts: list[list[int]], crop: Region
) -> list[list[Segment]]:
    """The segments of each line of `crop`, within its columns, joined across cuts and
    simplified ("?" where nothing was drawn)."""
    lines = []
    for y in range(crop.y, crop.bottom):
        pieces = [
            chops[y][cut] or Strip([Segment("?" * (end - cut))], end - cut)
            for cut, end in zip(cuts[y], cuts[y][1:], strict=False)
        ]
        lines.append(list(Strip.join(pieces).crop(crop.x, crop.right).simplify()))
    return lines


def assert_draws_as_textual(screen: Screen[object]) -> None:
    ours = screen._compositor
    assert isinstance(ours, RowCroppedCompositor)
    theirs = Compositor()
    theirs.reflow(screen, ours.size)
    assert theirs.cuts == ours.cuts
    size, cuts = ours.size, ours.cuts
    # The whole screen, and repaints of a few lines, some cut short at the sides as the
    # repaint of a widget is: the columns outside a repaint are not sent to the terminal.
    for crop in (
        size.region,
        Region(0, 3, size.width, 2),
        Region(30, 10, 40, 5),
        Region(0, size.height - 4, size.width, 4),
    ):
        lines = range(crop.y, crop.bottom)
        mine = ours._render_chops(crop, lines.__contains__)
        textual = theirs._render_chops(crop, lines.__contains__)
        assert drawn(mine, cuts, crop) == drawn(textual, cuts, crop)


def lines_drawn(
    screen: Screen[object], monkeypatch: pytest.MonkeyPatch, crop: Region | None = None
) -> Counter[Widget]:
    """How many lines of each widget a repaint of `screen` draws: whole, or of `crop`."""
    drawn_lines: Counter[Widget] = Counter()
    render_lines = Widget.render_lines

    def counting(widget: Widget, crop: Region) -> list[Strip]:
        drawn_lines[widget] += crop.height
        return render_lines(widget, crop)

    with monkeypatch.context() as patch:
        patch.setattr(Widget, "render_lines", counting)
        if crop is None:
            screen._compositor.render_full_update()
        else:
            screen._compositor._render_chops(crop, range(crop.y, crop.bottom).__contains__)
    return drawn_lines


async def test_the_widgets_behind_a_reply_are_not_drawn_again(
    fake_ollama: FakeOllama, build_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full repaint draws none of the screen's own lines (its panes cover it) and, of a
    message's Markdown, only the blank lines between its blocks; a repaint of the message pane
    (each layout that scrolls it) draws none of the containers around the pane either, though
    their lines reach beside it."""
    fake_ollama.queue_reply(REPLY)
    fake_ollama.token_delay = 0.001
    app: OllamaTUI = build_app(fake_ollama.url)
    async with app.run_test(size=(110, 36)) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "Some Markdown, please")
        await settle(pilot, app)
        body = app.chat.message_list.query(MessageBody).last()
        drawn_lines = lines_drawn(app.screen, monkeypatch)
        assert drawn_lines[app.screen] == 0
        shown = body.region.intersection(app.chat.message_list.region).height
        gaps = shown - sum(
            block.region.intersection(body.region).intersection(app.chat.message_list.region).height
            for block in body.children
        )
        assert 0 < drawn_lines[body] <= gaps < shown
        pane = app.chat.message_list
        around = [node for node in pane.ancestors_with_self[1:] if isinstance(node, Widget)]
        assert app.screen in around and len(around) >= 2
        drawn_lines = lines_drawn(app.screen, monkeypatch, pane.region)
        assert sum(drawn_lines[node] for node in around) == 0
        assert drawn_lines[body] <= gaps


async def test_every_line_is_drawn_as_textual_draws_it(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    fake_ollama.queue_reply(REPLY)
    fake_ollama.token_delay = 0.001
    release = fake_ollama.hold(n=len(tokenize(REPLY)) // 2)
    app: OllamaTUI = build_app(fake_ollama.url)
    async with app.run_test(size=(110, 36)) as pilot:
        await connected(pilot, app)
        assert_draws_as_textual(app.screen)
        await send(pilot, app, "Some Markdown, please")
        reply = app.chat.message_list.query(MessageBody).last
        await wait_until(pilot, lambda: "Part 3" in reply().source)
        await pilot.pause()
        assert_draws_as_textual(app.screen)  # mid-reply, room held below the paragraph
        release.set()
        await settle(pilot, app)
        assert_draws_as_textual(app.screen)
        await pilot.press("pageup", "pageup")
        await pilot.pause()
        assert_draws_as_textual(app.screen)


async def test_blocks_given_a_new_width_ask_for_no_second_layout_and_sit_where_they_belong(
    fake_ollama: FakeOllama, build_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Headings, lists, quotes, tables and code blocks (whose sideways scrollbar takes no room)
    take their new size in the layout that gave it (Textual's blocks each asked for another
    layout of the whole pane), and every block's place is the one a layout from scratch
    gives."""
    fake_ollama.queue_reply(
        REPLY + "\n\n> a quote\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n1. one\n2. two\n"
    )
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "Show me some Markdown")
        await settle(pilot, app)
        screen = app.screen
        body = app.chat.message_list.query(MessageBody).last()
        kinds = {type(block) for block in body.children}
        assert {"MarkdownH2", "MarkdownBlockQuote", "MarkdownTable", "MessageFence"} <= {
            kind.__name__ for kind in kinds
        }
        asking: list[str] = []
        refresh = Widget.refresh

        def noting(widget: Widget, *regions: Region, **options: bool) -> Widget:
            if (
                options.get("layout")
                and type(widget) in kinds
                and widget.styles.overflow_x != "auto"
            ):
                asking.append(type(widget).__name__)
            return refresh(widget, *regions, **options)

        monkeypatch.setattr(Widget, "refresh", noting)
        for width in (100, 131, 90):
            await pilot.resize_terminal(width, 40)
            await settle(pilot, app)
            assert asking == [], width
            theirs = Compositor()
            theirs.reflow(screen, screen._compositor.size)
            assert [screen._compositor.full_map[block].region for block in body.children] == [
                theirs.full_map[block].region for block in body.children
            ]


async def test_a_layout_asked_for_together_with_another_is_not_lost(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    """Textual handles only the last of several Layout messages queued at once, and a stream
    layout keeps the places of the children it is not told have changed. As a reply starts,
    its header goes from "waiting for the model (…)", two lines on this screen, to "writing…",
    one, while the error line below it is hidden: the header must shrink back to one line."""
    fake_ollama.queue_reply(REPLY)
    release = fake_ollama.hold(n=20)
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(140, 45)) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "Show me some Markdown")
        header = await writing_header(pilot, app)
        await pilot.pause(0.2)
        assert header.region.height == 1
        screen = app.screen
        theirs = Compositor()
        theirs.reflow(screen, screen._compositor.size)
        for widget in app.chat.message_list.walk_children(Widget):
            if widget in theirs.full_map:
                assert screen._compositor.full_map[widget].region == theirs.full_map[widget].region
        release.set()
        await settle(pilot, app)
