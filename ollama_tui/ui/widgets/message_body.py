"""The Markdown side of a message: its rendered text, and the renderer of a reply still streaming.

Kept apart from message_view.py so that Textual's Markdown, markdown-it and Pygments (~55 ms of
imports) load with the first message shown rather than before the first frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
from typing import ClassVar

from textual.app import ComposeResult
from textual.await_complete import AwaitComplete
from textual.containers import Vertical
from textual.content import Content
from textual.events import Mount
from textual.geometry import Region, Size
from textual.widget import AwaitMount, Widget
from textual.widgets import Markdown, Static
from textual.widgets._markdown import MarkdownBlock, MarkdownFence, MarkdownParagraph

from ollama_tui.ui.growing_text import GrowingText, KeptLines, extends
from ollama_tui.ui.markdown_parser import markdown_parser
from ollama_tui.ui.shared_styles import SharedComponentStyles
from ollama_tui.ui.stream_layout import LaidOutOnce, TallerSameLines

FENCE_PREVIEW_CHARS = 2_000
"""An open code block longer than this streams as plain text, highlighted once when it closes.

Textual re-highlights the whole block on every append, so without this a long code block costs
time proportional to its length on every render (quadratic over the reply)."""

PARAGRAPH_PREVIEW_CHARS = 4_000
"""A single-line paragraph longer than this streams as plain text, parsed once when it ends."""

PREVIEW_PAGE_LINES = 40
PREVIEW_PAGE_CHARS = 2_000
"""Size of one plain-text page of a preview; only the last page is redrawn as text arrives."""

STREAM_RESERVE_LINES = 2
STREAM_RESERVE_MAX_LINES = 6
"""Empty lines a streaming reply's last paragraph keeps below its text to grow into: as many as
its last growth added (a fast model adds several lines a batch), within these bounds."""

SYNC_PARSE_CHARS = 20_000
"""Messages up to this long are parsed as they are mounted; longer ones in a thread."""

HIGHLIGHT_IN_THREAD_CHARS = 2_000
"""Code blocks longer than this are highlighted in a worker thread, off the event loop."""

_FENCE_OPEN = re.compile(r" {0,3}(`{3,}(?=[^`\n]*\n)|~{3,})[^\n]*\n")
_LINE_BREAKS = re.compile("\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
"""Every boundary str.splitlines() uses, which is how Textual numbers the lines of a document."""


class MessageFence(MarkdownFence):
    """A code block whose highlighting may have been prepared in a thread beforehand."""

    _prepared: ClassVar[dict[tuple[str, str, bool, bool], Content]] = {}

    @classmethod
    def prepare(cls, code: str, language: str, ansi: bool, dark: bool) -> None:
        """Highlight now (in any thread) what the next fence with this code will show."""
        if len(cls._prepared) > 8:  # never used (the theme changed meanwhile): forget them
            cls._prepared.clear()
        cls._prepared[(code, language, ansi, dark)] = MarkdownFence.highlight(
            code, language, ansi=ansi, dark=dark
        )

    @classmethod
    def highlight(cls, code: str, language: str, ansi: bool = False, dark: bool = False) -> Content:
        prepared = cls._prepared.pop((code, language, ansi, dark), None)
        if prepared is not None:
            return prepared
        return super().highlight(code, language, ansi=ansi, dark=dark)


class MessageParagraph(MarkdownParagraph, LaidOutOnce, KeptLines):
    """A paragraph that asks for a layout only when its new text changes its height.

    While a reply streams, its last paragraph is updated many times a second; most updates add
    words to the last line. A layout re-arranges the whole screen and, as the anchored list
    scrolls, repaints the whole message pane; a repaint redraws only the paragraph. So this keeps
    most frames small, and the last paragraph of a streaming reply keeps a few empty lines below
    its text to grow into (as many as its last growth added, from `STREAM_RESERVE_LINES` to
    `STREAM_RESERVE_MAX_LINES`, and `STREAM_RESERVE_LINES` from the layout that mounts it): a
    layout every few lines rather than every line.
    """

    _reserved = 0
    """Content height held while a reply streams into this paragraph (0: none)."""
    _text_height = 0
    """Height of the text alone when it was last set (0: not yet measured)."""

    _redraw_from = 0
    """The first line a repaint has to draw (the lines above it are as they were)."""
    _hold_room = False
    """Set for a paragraph mounted at the end of a streaming reply: its first layout keeps
    `STREAM_RESERVE_LINES` below its text, as a paragraph that grew does."""

    def set_content(self, content: Content) -> None:
        previous, self._content = self._content, content
        region = self.content_region
        if not self.is_mounted:  # mounting it lays it out: no layout of its own afterwards
            self.update(content, layout=False)
            return
        if region.width <= 0:
            self.update(content)
            return
        if self._growing is None and self._streaming_into:
            self._growing = GrowingText()
        height = self._content_lines(content, region.width)
        last_line = self._text_height - 1
        grown, self._text_height = height - self._text_height, height
        if height == region.height or height <= self._reserved:
            # Text added at the end of a paragraph wraps the same above its last line.
            self._redraw_from = max(last_line, 0) if extends(previous, content) else 0
            try:
                self.update(content, layout=False)
            finally:
                self._redraw_from = 0
            return
        held = min(max(STREAM_RESERVE_LINES, grown), STREAM_RESERVE_MAX_LINES)
        self._reserved = height + held if self._streaming_into else 0
        self.update(content)

    def _set_dirty(self, *regions: Region) -> None:
        if not regions and self._redraw_from:
            width, height = self.size
            regions = (Region(0, self._redraw_from, width, height - self._redraw_from),)
        super()._set_dirty(*regions)

    def release(self) -> None:
        """Give back the lines held for text to come (the reply ended, or a block followed)."""
        self._hold_room = False
        self._growing = None
        if self._reserved:
            self._reserved = 0
            self.refresh(layout=True)

    @property
    def _streaming_into(self) -> bool:
        """Whether a reply is streaming into the Markdown this paragraph is in."""
        body = self.parent
        return isinstance(body, MessageBody) and body.streaming

    def hold_room(self) -> None:
        """Keep room below the text from the first layout on: more is coming."""
        self._hold_room = True

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        height = super().get_content_height(container, viewport, width)
        if self._hold_room:
            self._hold_room = False
            if self._streaming_into:  # (the reply may have ended before this first layout)
                self._text_height = height
                self._reserved = height + STREAM_RESERVE_LINES
        return height if height >= self._reserved else self._reserved


@functools.cache
def _message_block(block: type[MarkdownBlock]) -> type[MarkdownBlock]:
    """The block type, laid out once per change of size (a heading or a list asked for a
    second layout of the whole pane each time the pane's width or its scrollbar changed) and
    styling its inline text like the blocks alike before it (one type for each, whatever
    names it in the Markdown's table)."""
    mixins = (
        (SharedComponentStyles,)
        if issubclass(block, LaidOutOnce)
        else (LaidOutOnce, SharedComponentStyles)
    )
    return type(block.__name__, (block, *mixins), {"__module__": __name__})


class MessageBody(Markdown, LaidOutOnce, TallerSameLines):
    """Markdown for untrusted text: links never open by themselves."""

    BLOCKS: ClassVar[dict[str, type[MarkdownBlock]]] = {
        name: _message_block(block)
        for name, block in {
            **Markdown.BLOCKS,
            "paragraph_open": MessageParagraph,
            "fence": MessageFence,
            "code_block": MessageFence,
        }.items()
    }

    def __init__(self, markdown: str) -> None:
        super().__init__(
            markdown, open_links=False, classes="message-body", parser_factory=markdown_parser
        )
        self.streaming = False
        """Set while a reply streams in: its last paragraph keeps room to grow."""

    def end_streaming(self) -> None:
        self.streaming = False
        if self._nodes and isinstance(last := self._nodes[-1], MessageParagraph):
            last.release()

    async def _on_mount(self, event: Mount) -> None:
        # Markdown parses its first text in a worker thread and mounts the blocks later, so a
        # just-opened conversation would show empty messages for a frame or more. A message
        # parses in well under a millisecond per kilobyte: do it now, as update() would.
        markdown = self._initial_markdown or ""
        if len(markdown) > SYNC_PARSE_CHARS:
            return  # Markdown._on_mount updates it in a thread
        event.prevent_default()
        self._initial_markdown = None
        self._theme = self.app.theme
        self._markdown = markdown
        self._table_of_contents = None
        blocks = self._build_from_source(markdown)
        if blocks:
            await self.mount_all(blocks)
        lines = markdown.splitlines()
        self._last_parsed_line = len(lines) - (1 if lines and lines[-1] else 0)

    def append(self, markdown: str) -> AwaitComplete:
        # Most appends only lengthen the last paragraph. Textual builds a whole new paragraph
        # widget from the parsed text each time, and copies its content into the last one; this
        # sets the content from the parsed text. Anything else goes the usual way.
        last = self._nodes[-1] if self._nodes else None
        if not isinstance(last, MessageParagraph) or self.lock.is_locked:
            return super().append(markdown)
        source = self.source + markdown
        start = self._last_parsed_line
        tokens = markdown_parser().parse("".join(source.splitlines(keepends=True)[start:]))
        if [token.type for token in tokens] != ["paragraph_open", "inline", "paragraph_close"]:
            return super().append(markdown)
        opening, inline = tokens[0], tokens[1]
        self._markdown = source

        async def lengthen() -> None:
            async with self.lock:
                begin, end = opening.map or (0, 0)
                last.source_range = (start + begin, start + end)
                last._token = opening
                last.build_from_token(inline)

        return AwaitComplete(lengthen())

    def mount(
        self,
        *widgets: Widget,
        before: int | str | Widget | None = None,
        after: int | str | Widget | None = None,
    ) -> AwaitMount:
        # The last block loses its bottom margin through the `-end` class, kept here, rather
        # than a `:last-child` rule: Textual re-styles every new block with an order-dependent
        # rule once more after mounting it, and never caches its styles, which made mounting
        # blocks while a reply streams cost about twice as much. Markdown only mounts at the end.
        if widgets and before is None and after is None:
            if self._nodes:
                previous = self._nodes[-1]
                previous.remove_class("-end")
                if isinstance(previous, MessageParagraph):
                    previous.release()
            last = widgets[-1]
            last.add_class("-end", update=False)  # styled once, as it is mounted
            if self.streaming and isinstance(last, MessageParagraph):
                last.hold_room()
        return super().mount(*widgets, before=before, after=after)

    @property
    def blocks(self) -> list[MarkdownBlock]:
        return [child for child in self._nodes if isinstance(child, MarkdownBlock)]

    @property
    def last_block_start(self) -> int:
        """The line (as str.splitlines counts) where the block that may still grow begins."""
        return self._last_parsed_line


class StreamPreview(Vertical):
    """A long block still arriving, shown as plain text in pages; only the last page redraws."""

    DEFAULT_CSS = """
    StreamPreview {
        height: auto;
        padding: 0;
        & > Static { height: auto; }
    }
    StreamPreview.-code {
        margin: 1 0;
        padding: 1 2;
        background: black 10%;
        color: rgb(210,210,210);
        &:light { background: white 30%; }
        & > Static { text-wrap: nowrap; text-overflow: clip; }
    }
    """

    def __init__(self, text: str, *, code: bool) -> None:
        super().__init__(classes="-code" if code else "")
        self._code = code
        self._live = ""
        self._initial = text

    def compose(self) -> ComposeResult:
        yield Static("", markup=False)

    def on_mount(self) -> None:
        self.extend(self._initial)

    def extend(self, text: str) -> None:
        """Add text at the end, freezing full pages so the next redraw stays small."""
        live = self._live + text
        pages: list[str] = []
        while (cut := self._page_break(live)) is not None:
            end, resume = cut
            pages.append(live[:end])
            live = live[resume:]
        current = self._nodes[-1]
        assert isinstance(current, Static)
        if pages:
            current.update(Content(pages[0]))
            frozen = [Static(Content(page), markup=False) for page in pages[1:]]
            current = Static("", markup=False)
            self.mount_all([*frozen, current])
        self._live = live
        current.update(Content(live))

    def _page_break(self, text: str) -> tuple[int, int] | None:
        """(end of a full first page, start of the next) or None while the page is not full."""
        if self._code:
            position = -1
            for _ in range(PREVIEW_PAGE_LINES):
                position = text.find("\n", position + 1)
                if position < 0:
                    return None
            return position, position + 1
        if len(text) < PREVIEW_PAGE_CHARS:
            return None
        cut = text.rfind(" ", 0, PREVIEW_PAGE_CHARS)
        return (cut, cut + 1) if cut > 0 else (PREVIEW_PAGE_CHARS, PREVIEW_PAGE_CHARS)


class ReplyStream:
    """Renders a reply as it arrives, with work per render bounded however long it grows.

    Like Textual's MarkdownStream, text written while a render runs is batched into the next.
    Each batch is appended to the Markdown, which re-parses only its last block. When that block
    is an open code block or a single-line paragraph and has grown long, re-parsing (and
    re-highlighting) it on every batch would cost its whole length each time, so from then on it
    is shown as a plain-text StreamPreview, and handed to the Markdown once, when it is complete:
    the code highlighted in a thread first. When the stream stops, the Markdown holds exactly the
    whole reply, rendered as if it had been given all at once.
    """

    def __init__(self, view: Widget, body: MessageBody) -> None:
        """`view` holds `body`; a preview is mounted in it, after the body."""
        self._view = view
        self._body = body
        self._pending: list[str] = []
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._rendering: asyncio.Future[None] | None = None
        """The batch being rendered by the task, which goes on if the task is cancelled."""
        self._text = ""
        """Everything written so far."""
        self._sent = 0
        """How much of `_text` the Markdown has been given."""
        self._line_starts = [0]
        self._preview: StreamPreview | None = None
        self._hidden: MarkdownBlock | None = None
        self._block_start = 0
        """Where the previewed block begins in `_text`."""
        self._fence: tuple[str, int] | None = None
        """(fence character, length) of a previewed code block."""
        self._scanned = 0
        """Where to look next for the end of the previewed block."""
        self.stopped = False

    @property
    def shown(self) -> str:
        """The text on screen: what the Markdown holds, or the preview stands in for."""
        if self._preview is None:
            return self._body.source
        return self._text

    def start(self) -> None:
        self._body.streaming = True
        self._task = asyncio.create_task(self._run())

    def abandon(self) -> None:
        """Stop rendering at once: the view is gone (another conversation was opened)."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._body.end_streaming()
        self.stopped = True

    async def write(self, text: str) -> None:
        if self.stopped:
            raise RuntimeError("the stream has stopped")
        if text:
            self._pending.append(text)
            self._wake.set()
            await asyncio.sleep(0)

    async def stop(self) -> None:
        """Render everything written, and leave the Markdown holding the whole reply."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        async with self._lock:
            batch = "".join(self._pending)
            self._pending.clear()
            if batch:
                await self._apply(batch)
            if self._preview is not None:
                await self._end_preview(len(self._text))
        self._body.end_streaming()
        self.stopped = True

    async def flush(self) -> None:
        """Render everything written so far now, and return once the Markdown holds it."""
        if self._rendering is not None:
            await asyncio.shield(self._rendering)
        async with self._lock:
            batch = "".join(self._pending)
            self._pending.clear()
            if batch:
                await self._apply(batch)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch = "".join(self._pending)
            self._pending.clear()
            if batch:
                self._rendering = asyncio.ensure_future(self._locked_apply(batch))
                await asyncio.shield(self._rendering)
                self._rendering = None

    async def _locked_apply(self, batch: str) -> None:
        async with self._lock:
            await self._apply(batch)

    async def _apply(self, batch: str) -> None:
        start = len(self._text)
        self._text += batch
        self._line_starts.extend(m.end() + start for m in _LINE_BREAKS.finditer(batch))
        if self._preview is None:
            await self._append(len(self._text))
            await self._maybe_preview()
            return
        end = self._preview_end()
        if end is None:
            self._preview.extend(batch)
            return
        await self._end_preview(end)
        if end < len(self._text):
            await self._append(len(self._text))
            await self._maybe_preview()

    async def _append(self, end: int) -> None:
        if end > self._sent:
            await self._body.append(self._text[self._sent : end])
            self._sent = end

    async def _maybe_preview(self) -> None:
        """Switch to a preview if the Markdown's last block is a long open code block or a long
        single-line paragraph."""
        line = self._body.last_block_start
        if line >= len(self._line_starts):
            return
        start = self._line_starts[line]
        size = len(self._text) - start
        if size < FENCE_PREVIEW_CHARS:
            return
        blocks = self._body.blocks
        if not blocks:
            return
        last = blocks[-1]
        opener = _FENCE_OPEN.match(self._text, start)
        if opener is not None and isinstance(last, MarkdownFence):
            marker = opener.group(1)
            self._fence = (marker[0], len(marker))
            self._block_start = start
            self._scanned = opener.end()
            if self._preview_end() is not None:  # already closed: the Markdown has it all
                self._fence = None
                return
            body = self._text[opener.end() :]
        elif (
            size >= PARAGRAPH_PREVIEW_CHARS
            and isinstance(last, MarkdownParagraph)
            and _LINE_BREAKS.search(self._text, start) is None
        ):
            self._fence = None
            self._block_start = start
            self._scanned = start
            body = self._text[start:]
        else:
            return
        self._preview = StreamPreview(body, code=self._fence is not None)
        self._hidden = last
        with self._view.app.batch_update():
            last.display = False
            await self._view.mount(self._preview, after=self._body)

    def _preview_end(self) -> int | None:
        """Where the previewed block ends (past its closing line), if it has ended."""
        text = self._text
        if self._fence is None:
            found = _LINE_BREAKS.search(text, self._scanned)
            if found is None:
                self._scanned = len(text)
                return None
            return found.start()
        char, length = self._fence
        closing = re.compile(rf" {{0,3}}{re.escape(char)}{{{length},}}[ \t]*(?:\n|$)")
        position = self._scanned
        while True:
            newline = text.find("\n", position)
            if newline < 0:
                # the last line is incomplete: look at it again when more arrives
                self._scanned = position
                return None
            if closing.match(text, position, newline + 1):
                return newline + 1
            position = newline + 1

    async def _end_preview(self, end: int) -> None:
        """Give the whole previewed block to the Markdown, which renders it once, exactly."""
        assert self._preview is not None
        if self._fence is not None:
            await self._prepare_highlight(self._text[self._block_start : end])
        preview, hidden = self._preview, self._hidden
        self._preview = self._hidden = None
        self._fence = None
        with self._view.app.batch_update():
            await self._append(end)
            if hidden is not None and hidden.parent is not None:
                hidden.display = True
            await preview.remove()

    async def _prepare_highlight(self, source: str) -> None:
        """Highlight a long code block in a thread, so the Markdown finds it ready."""
        if len(source) < HIGHLIGHT_IN_THREAD_CHARS:
            return
        app = self._view.app
        ansi, dark = app.native_ansi_color, app.current_theme.dark

        def work() -> None:
            for token in markdown_parser().parse(source):
                if token.type in ("fence", "code_block") and token.level == 0:
                    MessageFence.prepare(token.content.rstrip(), token.info, ansi, dark)
                    return

        await asyncio.to_thread(work)


def code_blocks(markdown: str) -> list[tuple[str, str]]:
    """(language, code) of each code block in a message's text, in order."""
    return [
        (token.info.strip(), token.content)
        for token in markdown_parser().parse(markdown)
        if token.type in ("fence", "code_block")
    ]
