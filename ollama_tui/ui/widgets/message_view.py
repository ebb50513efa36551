"""One message on screen: who wrote it and how it ended, its thinking, and its text; a reply
still arriving is rendered in batches. The Markdown itself lives in message_body.py, imported
when the first message is composed."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Protocol, cast

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Collapsible, Static

from ollama_tui.chat.conversation import Message, MessageState, Role
from ollama_tui.chat.sources import Source
from ollama_tui.chat.structured import ReplyFormat
from ollama_tui.keymap import key_label
from ollama_tui.sanitize import one_line, sanitize
from ollama_tui.ui.inert import inert
from ollama_tui.ui.stream_layout import LaidOutOnce, TallerSameLines
from ollama_tui.ui.widgets.tool_views import StructuredReply, ToolCallsView, ToolResultView

if TYPE_CHECKING:
    from ollama_tui.ui.widgets.message_body import ReplyStream

FLUSH_INTERVAL = 0.1
"""Seconds between renders while streaming: fast enough to look live, slow enough to batch.

Each render that adds a line lays out and repaints the whole screen (~20–30 ms on a 2-core
machine), so 10 renders a second leave the prompt responsive while a reply streams."""

FLOOD_CHARS = 4_000
FLOOD_EVERY = 3
"""A reply arriving faster than anyone reads (more than `FLOOD_CHARS` in one interval: a model
at ~10,000 tokens/s, or a reply the server had ready) is rendered every `FLOOD_EVERY`
intervals instead: each render of a long reply lays out all of its blocks, so rendering less
often brings the end of the reply on screen sooner."""

_STYLED_STATES = (
    MessageState.UNSENT,
    MessageState.CANCELLED,
    MessageState.FAILED,
    MessageState.INTERRUPTED,
)
"""States that have a CSS class on the view. Changing a class restyles every widget inside the
view (all blocks of a long reply), so the common streaming → complete step changes none."""

_STATE_NOTES = {
    MessageState.CANCELLED: "stopped",
    MessageState.FAILED: "failed",
    MessageState.INTERRUPTED: "interrupted",
}


class AttachmentHost(Protocol):
    """The chat page, as far as drawing a message's attachments goes."""

    @property
    def attachment_folder(self) -> Path: ...


def _state_note(state: MessageState) -> str:
    """How the message ended, in a word or two ("" when it ended well)."""
    if state is MessageState.UNSENT:
        return f"not sent · {key_label('reply.retry')} sends it again"
    return _STATE_NOTES.get(state, "")


def _markdown() -> ModuleType:
    """message_body.py, imported when the first message is composed, not at start-up."""
    from ollama_tui.ui.widgets import message_body

    return message_body


def _local_time(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%H:%M")
    except ValueError:
        return ""


class MessageView(Vertical, LaidOutOnce, TallerSameLines):
    """One message: a header naming who wrote it, an optional thinking block, and the text."""

    def __init__(self, message: Message, reply_format: ReplyFormat = None) -> None:
        super().__init__(id=f"m-{message.id}", classes=f"message -{message.role.value}")
        self.message = message
        self.reply_format = reply_format
        """The format the conversation asks replies to follow: a finished reply is shown as
        JSON, with where it departs from the format."""
        self._stream: ReplyStream | None = None
        self._pending: list[str] = []
        self._ticks_to_skip = 0
        self._pending_thinking = False
        self._timer: Timer | None = None
        self._note = ""
        self._has_text = False

    def compose(self) -> ComposeResult:
        yield MessageLine(self.header(), classes="message-header")
        if self.message.role is Role.TOOL:
            yield ToolResultView(self.message)
            yield MessageLine("", classes="message-error")
            return
        # The thinking block is five widgets; a finished reply without thinking needs none.
        if self.message.role is Role.ASSISTANT and (
            self.message.thinking or self.message.is_reply_in_progress
        ):
            with Collapsible(title="Thinking", collapsed=True, classes="thinking") as thinking:
                thinking.display = bool(self.message.thinking)
                yield Static(inert(self.message.thinking), classes="thinking-text")
        streaming = self.message.is_reply_in_progress
        body = _markdown().MessageBody("" if streaming else sanitize(self.message.content))
        structured = self._structured()
        body.display = structured is None
        yield body
        if structured is not None:
            yield structured
        if self.message.attachments:
            from ollama_tui.ui.widgets.attachments import MessageAttachments

            folder = cast(AttachmentHost, self.screen).attachment_folder
            yield MessageAttachments(self.message.attachments, folder)
        if self.message.tool_calls:
            yield ToolCallsView(self.message)
        if self.message.role is Role.ASSISTANT and (self.message.sources or streaming):
            yield MessageLine(sources_line(self.message.sources), classes="message-sources")
        yield MessageLine("", classes="message-error")

    def _structured(self) -> StructuredReply | None:
        """The JSON view of a finished reply that had to follow a format."""
        message = self.message
        if self.reply_format is None or message.role is not Role.ASSISTANT:
            return None
        if message.state is not MessageState.COMPLETE or not message.content:
            return None
        return StructuredReply(message.content, self.reply_format)

    def header(self) -> Content:
        """Who wrote the message, when, and how it ended."""
        message = self.message
        when = _local_time(message.created_at)
        if message.role is Role.TOOL:
            return Content.assemble(
                ("⚙ ", "dim"), inert(message.tool_name, "bold"), ("  result  " + when, "dim")
            )
        if message.role is Role.USER:
            parts_user: list[str | tuple[str, str]] = [("You", "bold"), *self._version_note()]
            parts_user.append(("  " + when, "dim"))
            if message.state is MessageState.UNSENT:
                parts_user.append(("  " + _state_note(message.state), "bold $warning"))
            return Content.assemble(*parts_user)
        parts: list[str | tuple[str, str]] = [
            (sanitize(message.model or "assistant"), "bold $accent"),
            *([(f" @ {sanitize(message.host)}", "$accent")] if message.host else []),
            *self._version_note(),
        ]
        details = [when]
        speed = tokens_per_second(message.stats)
        if speed is not None:
            details.append(f"{speed:.1f} tok/s")
        if message.stats.get("eval_count"):
            details.append(f"{message.stats['eval_count']} tokens")
        if message.done_reason == "length":
            details.append("cut at the token limit")
        parts.append(("  " + " · ".join(d for d in details if d), "dim"))
        if message.is_reply_in_progress:
            if self._note:
                waiting = self._note
            elif self._has_text or message.thinking:
                waiting = "writing…"
            else:
                waiting = "waiting for the model (loading it can take a minute)…"
            parts.append(("  " + waiting, "italic $text-muted"))
        note = _state_note(message.state)
        if note:
            parts.append(("  " + note, "bold $warning"))
        return Content.assemble(*parts)

    def _version_note(self) -> list[tuple[str, str]]:
        """‹2/3› when the message has other versions (← → flip through them); with no spaces
        inside, a narrow pane never wraps it apart."""
        message = self.message
        if not message.versions:
            return []
        return [(f"  ‹{message.version_position + 1}/{message.version_count}›", "$text-accent")]

    def code_blocks(self) -> list[tuple[str, str]]:
        """(language, code) of each code block in the message, in order."""
        return _markdown().code_blocks(sanitize(self.message.content))

    def code_fences(self) -> list[Widget]:
        """The rendered code blocks, in order (as many as `code_blocks` once fully rendered)."""
        return list(self.query(_markdown().MessageFence))

    def set_note(self, note: str) -> None:
        """A passing remark in the header while the reply streams (e.g. a retry countdown)."""
        self._note = note
        self.refresh_header()

    def refresh_header(self) -> None:
        if self._pruning or self._closing:  # removed while it was being mounted: parts gone
            return
        show_line(self.query_one(".message-header", Static), self.header())
        for sources in self.query(".message-sources").results(Static):
            sources.display = bool(self.message.sources)
            show_line(sources, sources_line(self.message.sources))
        error = self.query_one(".message-error", Static)
        error.display = bool(self.message.error)
        show_line(error, inert(f"⚠ {self.message.error}", "$warning"))
        for state in _STYLED_STATES:
            self.set_class(self.message.state is state, f"-{state.value}")
        for calls in self.query(ToolCallsView).results(ToolCallsView):
            calls.refresh_calls()

    def on_mount(self) -> None:
        self.refresh_header()

    @property
    def is_streaming(self) -> bool:
        """Whether a reply is being rendered into this view as it arrives."""
        return self._stream is not None

    def on_unmount(self) -> None:
        if self._stream is not None:
            self._stream.abandon()
            self._stream = None

    # Streaming: the app appends text as it arrives; a timer renders it in batches.

    async def start_stream(self, content_so_far: str) -> None:
        """Begin rendering a reply that is still arriving, starting from what has arrived."""
        markdown = _markdown()
        self._stream = markdown.ReplyStream(self, self.query_one(markdown.MessageBody))
        self._stream.start()
        if content_so_far:
            self._has_text = True
            await self._stream.write(sanitize(content_so_far))
        self._timer = self.set_interval(FLUSH_INTERVAL, self._tick)

    def append_content(self, text: str) -> None:
        self._pending.append(text)

    async def _tick(self) -> None:
        if self._ticks_to_skip:
            self._ticks_to_skip -= 1
            return
        if sum(map(len, self._pending)) > FLOOD_CHARS:
            self._ticks_to_skip = FLOOD_EVERY - 1
        await self._flush()

    def thinking_changed(self) -> None:
        self._pending_thinking = True

    async def _flush(self) -> None:
        if self._pending_thinking:
            self._pending_thinking = False
            thinking = self.query_one(Collapsible)
            if not thinking.display:
                thinking.display = True
                thinking.collapsed = False
            self.query_one(".thinking-text", Static).update(inert(self.message.thinking))
            self.refresh_header()
        if self._pending and self._stream is not None:
            text = "".join(self._pending)
            self._pending.clear()
            if self.message.thinking:
                self.query_one(Collapsible).collapsed = True
            first_text = not self._has_text
            self._has_text = True
            await self._stream.write(text)
            if first_text:
                self.refresh_header()

    async def show_arrived(self) -> None:
        """Render what has arrived at once, and return when it is on screen: the reply has
        ended, and its last words should not wait for the next batch (nor for saving)."""
        await self._flush()
        if self._stream is not None:
            await self._stream.flush()
        drawn = asyncio.get_running_loop().create_future()
        self.call_after_refresh(lambda: drawn.done() or drawn.set_result(None))
        with contextlib.suppress(TimeoutError):  # the app is closing: no more frames
            await asyncio.wait_for(drawn, 1.0)

    async def end_stream(self) -> None:
        """Render what is left, stop the stream and show how the reply ended."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        await self._flush()
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
        error = self.query_one(".message-error", Static)
        structured = self._structured()
        if structured is not None and not self.query(StructuredReply):
            self.query_one(_markdown().MessageBody).display = False
            await self.mount(structured, before=error)
        if self.message.tool_calls and not self.query(ToolCallsView):
            await self.mount(ToolCallsView(self.message), before=error)
        self.refresh_header()


class MessageLine(Static, LaidOutOnce):
    """A message's header, sources or error line: a change of its height is laid out in the
    layout that makes it (a Static asks for another layout of the pane)."""


def show_line(static: Static, content: Content) -> None:
    """Show `content` in `static`: nothing is done when it shows it already, and the pane is
    not laid out again when the old and the new each fit on its one line (a header changes
    as a reply starts and ends; a layout of a pane holding a long reply takes 10–30 ms)."""
    old = static.content
    if isinstance(old, Content) and old.plain == content.plain and old.spans == content.spans:
        return
    width = static.content_region.width
    one_line = (
        isinstance(old, Content)
        and "\n" not in old.plain
        and "\n" not in content.plain
        and old.cell_length <= width
        and content.cell_length <= width
    )
    static.update(content, layout=not one_line)


def sources_line(sources: list[Source]) -> Content:
    """`Sources: notes/setup.md:12–40 0.83 · …` under a reply (s on the reply opens one)."""
    if not sources:
        return Content("")
    parts: list[str | tuple[str, str]] = [("Sources ", "bold $text-muted")]
    for number, source in enumerate(sources, start=1):
        separator = " · " if number > 1 else ""
        parts.append((f"{separator}[{number}] ", "$text-muted"))
        parts.append((one_line(source.location, 120), "$text-accent"))
        parts.append((f" {source.score:.2f}", "$text-muted"))
    return Content.assemble(*parts)


def tokens_per_second(stats: dict[str, int]) -> float | None:
    """Generation speed from Ollama's own counters, or None when they are missing."""
    count, duration = stats.get("eval_count"), stats.get("eval_duration")
    if not count or not duration:
        return None
    return count / duration * 1e9
