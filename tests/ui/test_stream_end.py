"""How a streaming reply holds room to grow, and how it ends: the lines given back, the text
wholly on screen, and the footer's keys following the reply (Stop while it streams, Retry after)."""

from __future__ import annotations

import pytest
from textual.geometry import Region, Size
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Footer, Markdown
from textual.widgets._footer import FooterKey
from textual.widgets._markdown import MarkdownBlock, MarkdownParagraph

from ollama_tui.chat.conversation import Conversation, MessageState
from ollama_tui.ui.app import OllamaTUI
from ollama_tui.ui.widgets.key_footer import KeyFooter
from ollama_tui.ui.widgets.message_body import (
    STREAM_RESERVE_LINES,
    STREAM_RESERVE_MAX_LINES,
    MessageBody,
)
from ollama_tui.ui.widgets.message_view import FLOOD_CHARS, FLOOD_EVERY, MessageView
from tests.fake_ollama import FakeOllama
from tests.fake_ollama.replies import tokenize
from tests.ui.conftest import (
    MakeApp,
    connected,
    last_view,
    send,
    settle,
    wait_until,
    writing_header,
)

LONG_PARAGRAPH = " ".join(f"word{n}" for n in range(400))


def footer(app: OllamaTUI) -> dict[str, FooterKey]:
    return {key.description: key for key in app.screen.query(FooterKey)}


def last_paragraph(app: OllamaTUI) -> MarkdownParagraph:
    return app.chat.message_list.query(MarkdownParagraph).last()


def blank_lines_below(paragraph: MarkdownParagraph) -> int:
    """Empty lines under the paragraph's text, as drawn."""
    width, height = paragraph.size
    lines = [strip.text for strip in paragraph.render_lines(Region(0, 0, width, height))]
    return len(lines) - len("\n".join(lines).rstrip().splitlines())


async def test_a_streaming_paragraph_holds_a_few_lines_and_gives_them_back_at_the_end(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    fake_ollama.queue_reply(LONG_PARAGRAPH)
    fake_ollama.token_delay = 0.015  # a line of text in ~0.2 s: several samples a line
    release = fake_ollama.hold(n=200)
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "One long paragraph, please")
        await wait_until(pilot, lambda: len(app.chat.message_list.query(MarkdownParagraph)) > 1)
        # Each growth holds STREAM_RESERVE_LINES or more, which the text then fills: the empty
        # lines are sampled as the paragraph streams, not at one moment (the stream is held
        # after 200 tokens, so a sampling that missed every such moment would wait in vain).
        held: list[int] = []

        def holds_room() -> bool:
            held.append(blank_lines_below(last_paragraph(app)))
            return held[-1] >= STREAM_RESERVE_LINES

        await wait_until(pilot, holds_room)
        assert max(held) <= STREAM_RESERVE_MAX_LINES
        fake_ollama.token_delay = 0.001
        release.set()
        await settle(pilot, app)

        paragraph, messages = last_paragraph(app), app.chat.message_list
        assert blank_lines_below(paragraph) == 0
        # Nothing is cut off: the message, its text and the pane agree on where it ends.
        view = messages.view_of(app.chat.conversation.messages[-1])
        assert view is not None
        assert paragraph.region.bottom == paragraph.parent.region.bottom
        assert paragraph.region.bottom <= view.region.bottom <= messages.region.bottom
        assert "word399" in (paragraph.source or "")


async def test_a_paragraph_begun_while_a_reply_streams_holds_room_from_its_first_line(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    """A new paragraph is laid out with room below its first line, so its next lines need no
    layout of their own; the room is given back when the reply ends."""
    first = "A first paragraph, short."
    fake_ollama.queue_reply(f"{first}\n\nA second one begins")
    release = fake_ollama.hold(n=len(tokenize(f"{first}\n\nA second")))
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "Two paragraphs, please")
        await wait_until(pilot, lambda: "second" in str(last_paragraph(app).source))
        await pilot.pause()
        paragraph = last_paragraph(app)
        assert paragraph.size.height == 1 + STREAM_RESERVE_LINES
        assert blank_lines_below(paragraph) == STREAM_RESERVE_LINES
        release.set()
        await settle(pilot, app)
        assert last_paragraph(app).size.height == 1
        assert blank_lines_below(last_paragraph(app)) == 0


async def test_the_last_words_are_on_screen_before_the_reply_is_saved(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    """Saving a long conversation takes a while; the reply's end is drawn first. The last
    words ride on the stream's final line, with no pause after them for a timer to draw them."""
    fake_ollama.queue_reply(LONG_PARAGRAPH, fault="text_in_done")
    fake_ollama.token_delay = 0.0005
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        library = app.session.library
        save = library.save
        shown_when_saved: list[bool] = []

        def save_noting_the_screen(conversation: Conversation, **options: bool) -> int | None:
            reply = conversation.messages[-1]
            if reply.state is MessageState.COMPLETE and "word399" in reply.content:
                shown_when_saved.append("word399" in (last_paragraph(app).source or ""))
            return save(conversation, **options)

        library.save = save_noting_the_screen  # type: ignore[method-assign]
        await send(pilot, app, "One long paragraph, please")
        await settle(pilot, app)
        assert app.chat.conversation.messages[-1].content == LONG_PARAGRAPH
        assert shown_when_saved and all(shown_when_saved)


async def test_the_footer_offers_stop_while_a_reply_streams_and_retry_once_it_ended(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "hello")
        await settle(pilot, app)
        await wait_until(pilot, lambda: "Retry" in footer(app))
        assert "Stop" not in footer(app)
        assert footer(app)["Retry"].key == "f5"

        release = fake_ollama.hold(n=5)
        await send(pilot, app, "tell me a long story")
        await wait_until(pilot, lambda: "Stop" in footer(app))
        assert "Retry" not in footer(app)
        stop = footer(app)["Stop"]
        assert (stop.key, stop.action) == ("escape", "stop_reply")
        # Every key shown is a binding of the screen with its own key and action.
        shown = {(key.key, key.action) for key in app.screen.query(FooterKey)}
        bound = {(b.key, b.action) for _, b, _, _ in app.screen.active_bindings.values()}
        assert shown <= bound

        await pilot.click(stop)  # the footer's key does what its key does
        await settle(pilot, app)
        release.set()
        assert "stopped" in str(last_view(app).header())
        await wait_until(pilot, lambda: "Retry" in footer(app))
        assert "Stop" not in footer(app)


async def test_a_reply_arriving_faster_than_anyone_reads_is_drawn_every_few_batches(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    """At a model's pace every batch is drawn; a flood (a reply the server had ready) is drawn
    every FLOOD_EVERY batches, so its end is on screen sooner; the end of a reply never waits."""
    fake_ollama.queue_reply("Here it comes. " + LONG_PARAGRAPH)
    release = fake_ollama.hold(n=3)
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "Quickly, please")
        view = last_view(app)
        await wait_until(pilot, lambda: view.is_streaming)
        assert view._timer is not None and view._stream is not None
        view._timer.pause()  # the test ticks the batches itself
        drawn: list[int] = []
        write = view._stream.write

        async def recording_write(text: str) -> None:
            drawn.append(len(text))
            await write(text)

        view._stream.write = recording_write  # type: ignore[method-assign]

        async def batch(size: int) -> bool:
            """Whether a batch of `size` characters was drawn at the next tick."""
            before = len(drawn)
            view.append_content("x" * (size - 1) + " ")
            await view._tick()
            return len(drawn) > before

        assert [await batch(60) for _ in range(3)] == [True] * 3
        flood = FLOOD_CHARS + 1
        assert [await batch(flood) for _ in range(FLOOD_EVERY + 1)] == [True, False, False, True]
        assert drawn[-1] == flood * FLOOD_EVERY  # what the skipped ticks held, at once
        assert [await batch(60) for _ in range(FLOOD_EVERY + 1)] == [False, False, True, True]

        release.set()
        await settle(pilot, app)
        assert not view.is_streaming
        assert view.query_one(Markdown).source.endswith("word399")


def shown_blocks(body: Markdown) -> list[tuple[object, ...]]:
    """Each block: its kind, where it comes from in the text (a block of the document's own:
    Textual counts a nested one's lines from where it last parsed), its text and styles."""
    return [
        (
            type(block).__name__,
            block.source_range if block.parent is body else None,
            block._content.plain,
            [(span.start, span.end, str(span.style)) for span in block._content.spans],
        )
        for block in body.query(MarkdownBlock).results(MarkdownBlock)
    ]


async def test_a_streamed_reply_ends_drawn_as_if_it_had_come_at_once(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    """Paragraphs lengthened batch by batch (markup opened in one batch and closed in a later
    one) end up block for block as the whole text drawn at once."""
    text = (
        "\n\n".join(
            f"Part {n}: some **bold words** and `inline code` and *a slanted phrase* and a "
            f"[link](https://example.com/{n}) and ~~struck~~ text, " * 3
            for n in range(4)
        )
        + "\n\n- a list\n- of two\n\nAnd a last paragraph."
    )
    fake_ollama.queue_reply(text)
    fake_ollama.token_delay = 0.003
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "Markup, please")
        await settle(pilot, app)
        streamed = app.chat.message_list.query(MessageBody).last()
        assert streamed.source == text
        fresh = MessageBody(text)
        await app.screen.mount(fresh)
        await pilot.pause()
        assert shown_blocks(streamed) == shown_blocks(fresh)


def footer_row(app: OllamaTUI) -> str:
    """The footer's line as drawn on screen."""
    footer_line = app.screen.query_one(KeyFooter).region.y
    strips = app.screen._compositor.render_strips()
    return "".join(segment.text for segment in strips[footer_line])


async def footer_rebuilt(
    pilot: Pilot[None], app: OllamaTUI, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, list[str]]:
    """The footer's line and its keys in order, once Textual's own Footer.compose has made
    its keys afresh."""
    footer = app.screen.query_one(KeyFooter)
    old_keys = set(footer.query_children(FooterKey))
    with monkeypatch.context() as patch:
        patch.setattr(KeyFooter, "compose", Footer.compose)
        footer.call_later(footer.recompose)  # in the footer's context, as Textual's Footer does
        await wait_until(pilot, lambda: not old_keys & set(footer.query_children(FooterKey)))
        await pilot.pause()
        assert all(type(key) is FooterKey for key in footer.query_children(FooterKey))
        return footer_row(app), key_order(app)


def key_order(app: OllamaTUI) -> list[str]:
    return [key.key for key in app.screen.query_one(KeyFooter).query_children(FooterKey)]


async def test_a_key_more_or_fewer_in_the_footer_is_added_or_removed_alone(
    fake_ollama: FakeOllama, build_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A conversation's first reply brings Stop (a key more), a new conversation drops Retry
    (a key fewer): the other keys stay the same widgets, and the footer reads as a footer
    built afresh would."""
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(160, 40)) as pilot:
        await connected(pilot, app)

        def keys() -> list[FooterKey]:
            return list(app.screen.query_one(KeyFooter).query_children(FooterKey))

        before = keys()
        release = fake_ollama.hold(n=5)
        await send(pilot, app, "hello")
        await wait_until(pilot, lambda: "Stop" in footer(app))
        await pilot.pause()
        during = keys()
        assert len(during) == len(before) + 1 and set(before) < set(during)
        assert (footer_row(app), key_order(app)) == await footer_rebuilt(pilot, app, monkeypatch)
        assert "Stop" in footer_row(app)

        release.set()
        await wait_until(pilot, lambda: "Retry" in footer(app))
        before = keys()
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: "Retry" not in footer(app))
        await settle(pilot, app)
        after = keys()
        assert len(after) == len(before) - 1 and set(after) < set(before)
        assert (footer_row(app), key_order(app)) == await footer_rebuilt(pilot, app, monkeypatch)
        assert "Retry" not in footer_row(app) and "Stop" not in footer_row(app)


async def test_closing_a_reply_asks_for_no_second_layout(
    fake_ollama: FakeOllama, build_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a reply closes, its last paragraph gives back the lines it kept to grow into, its
    header says how fast it came, and the footer offers Retry for Stop. The header, one line
    before and after, asks for no layout, and no widget that does not scroll asks for another
    layout once a layout has changed its size (Textual's footer keys did, each time)."""
    fake_ollama.queue_reply(LONG_PARAGRAPH)
    release = fake_ollama.hold(n=150)
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(160, 40)) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "One long paragraph, please")
        header = await writing_header(pilot, app)
        view = last_view(app)
        await pilot.pause(0.2)
        assert header.region.height == 1
        closing: list[bool] = []  # set once the view closes the reply (its last words shown)
        resizing: list[Widget] = []  # the widget whose new size is being set, if any
        asked: list[Widget] = []
        again: list[str] = []
        refresh, end_stream = Widget.refresh, MessageView.end_stream
        size_updated = Widget._size_updated

        def noting(widget: Widget, *regions: Region, **options: bool) -> Widget:
            if options.get("layout") and closing:
                if widget is header:
                    asked.append(widget)
                if widget in resizing and not widget.is_scrollable:
                    again.append(type(widget).__name__)
            return refresh(widget, *regions, **options)

        def resized(
            widget: Widget, size: Size, virtual: Size, container: Size, layout: bool = True
        ) -> bool:
            resizing.append(widget)
            try:
                return size_updated(widget, size, virtual, container, layout)
            finally:
                resizing.pop()

        async def closing_stream(self: MessageView) -> None:
            closing.append(True)
            await end_stream(self)

        monkeypatch.setattr(Widget, "refresh", noting)
        monkeypatch.setattr(Widget, "_size_updated", resized)
        monkeypatch.setattr(MessageView, "end_stream", closing_stream)
        release.set()
        await settle(pilot, app)
        await wait_until(pilot, lambda: "Retry" in footer(app))
        await pilot.pause(0.2)
        assert closing and view._stream is None
        assert "tok/s" in str(header.content) and header.region.height == 1
        assert blank_lines_below(last_paragraph(app)) == 0
        assert asked == []
        assert again == []
