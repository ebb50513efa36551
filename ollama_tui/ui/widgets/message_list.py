"""The message pane: one Markdown per message, replies streamed in behind a short buffer."""

from __future__ import annotations

from datetime import datetime

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.events import MouseScrollUp
from textual.timer import Timer
from textual.widgets import Collapsible, Markdown, Static
from textual.widgets._markdown import MarkdownStream

from ollama_tui.chat.conversation import Conversation, Message, MessageState, Role
from ollama_tui.sanitize import sanitize
from ollama_tui.ui.inert import inert

FLUSH_INTERVAL = 0.05
"""Seconds between renders while streaming: fast enough to look live, slow enough to batch."""

PAGE_SIZE = 40
"""Messages mounted at a time; earlier ones are mounted when the user scrolls to the top."""

EMPTY_HINT = Content.assemble(
    ("A new conversation\n\n", "bold"),
    "Type below and press Enter to send.\n",
    ("ctrl+l model · ctrl+b saved conversations · ctrl+r parameters · F1 all keys", "dim"),
)

_STATE_NOTES = {
    MessageState.UNSENT: "not sent · F5 sends it again",
    MessageState.CANCELLED: "stopped",
    MessageState.FAILED: "failed",
    MessageState.INTERRUPTED: "interrupted",
}


def _local_time(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%H:%M")
    except ValueError:
        return ""


class MessageBody(Markdown):
    """Markdown for untrusted text: links never open by themselves."""

    def __init__(self, markdown: str) -> None:
        super().__init__(markdown, open_links=False, classes="message-body")


class MessageView(Vertical):
    """One message: a header naming who wrote it, an optional thinking block, and the text."""

    def __init__(self, message: Message) -> None:
        super().__init__(id=f"m-{message.id}", classes=f"message -{message.role.value}")
        self.message = message
        self._stream: MarkdownStream | None = None
        self._pending: list[str] = []
        self._pending_thinking = False
        self._timer: Timer | None = None
        self._note = ""
        self._has_text = False

    def compose(self) -> ComposeResult:
        yield Static(self.header(), classes="message-header")
        if self.message.role is Role.ASSISTANT:
            with Collapsible(title="Thinking", collapsed=True, classes="thinking") as thinking:
                thinking.display = bool(self.message.thinking)
                yield Static(inert(self.message.thinking), classes="thinking-text")
        streaming = self.message.is_reply_in_progress
        yield MessageBody("" if streaming else sanitize(self.message.content))
        yield Static("", classes="message-error")

    def header(self) -> Content:
        """Who wrote the message, when, and how it ended."""
        message = self.message
        when = _local_time(message.created_at)
        if message.role is Role.USER:
            parts_user: list[str | tuple[str, str]] = [("You", "bold"), ("  " + when, "dim")]
            if message.state is MessageState.UNSENT:
                parts_user.append(("  " + _STATE_NOTES[message.state], "bold $warning"))
            return Content.assemble(*parts_user)
        parts: list[str | tuple[str, str]] = [
            (sanitize(message.model or "assistant"), "bold $accent")
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
        note = _STATE_NOTES.get(message.state)
        if note:
            parts.append(("  " + note, "bold $warning"))
        return Content.assemble(*parts)

    def set_note(self, note: str) -> None:
        """A passing remark in the header while the reply streams (e.g. a retry countdown)."""
        self._note = note
        self.refresh_header()

    def refresh_header(self) -> None:
        self.query_one(".message-header", Static).update(self.header())
        error = self.query_one(".message-error", Static)
        error.display = bool(self.message.error)
        error.update(inert(f"⚠ {self.message.error}", "$warning"))
        for state in MessageState:
            self.set_class(self.message.state is state, f"-{state.value}")

    def on_mount(self) -> None:
        self.refresh_header()

    # Streaming: the app appends text as it arrives; a timer renders it in batches.

    async def start_stream(self, content_so_far: str) -> None:
        """Begin rendering a reply that is still arriving, starting from what has arrived."""
        self._stream = Markdown.get_stream(self.query_one(MessageBody))
        if content_so_far:
            self._has_text = True
            await self._stream.write(sanitize(content_so_far))
        self._timer = self.set_interval(FLUSH_INTERVAL, self._flush)

    def append_content(self, text: str) -> None:
        self._pending.append(text)

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

    async def end_stream(self) -> None:
        """Render what is left, stop the stream and show how the reply ended."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        await self._flush()
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
        self.refresh_header()


def tokens_per_second(stats: dict[str, int]) -> float | None:
    """Generation speed from Ollama's own counters, or None when they are missing."""
    count, duration = stats.get("eval_count"), stats.get("eval_duration")
    if not count or not duration:
        return None
    return count / duration * 1e9


class EarlierMessages(Static):
    """The line at the top that says how many earlier messages are not shown yet."""


class MessageList(VerticalScroll, can_focus=False):
    """The conversation's messages; only the latest page is mounted until the user scrolls up."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.conversation: Conversation | None = None
        self._first_shown = 0

    def compose(self) -> ComposeResult:
        yield Static(EMPTY_HINT, id="empty-hint")
        yield EarlierMessages("")

    async def show(self, conversation: Conversation) -> None:
        """Replace what is shown with the latest page of `conversation`."""
        self.conversation = conversation
        self._first_shown = max(0, len(conversation.messages) - PAGE_SIZE)
        await self.query(MessageView).remove()
        shown = conversation.messages[self._first_shown :]
        if shown:
            await self.mount_all([MessageView(message) for message in shown])
        self._update_earlier_line()
        self.query_one("#empty-hint").display = not shown
        self.anchor()

    async def add(self, message: Message) -> MessageView:
        """Show a message just appended to the conversation."""
        view = MessageView(message)
        self.query_one("#empty-hint").display = False
        await self.mount(view)
        if not self.is_anchored:
            self.anchor()
        return view

    def view_of(self, message: Message) -> MessageView | None:
        """The view showing `message`, if it is on screen."""
        for view in self.query(MessageView):
            if view.message is message:
                return view
        return None

    async def load_earlier(self) -> None:
        """Mount the previous page of messages above the ones shown, keeping the view still."""
        if self.conversation is None or self._first_shown == 0:
            return
        start = max(0, self._first_shown - PAGE_SIZE)
        views = [MessageView(m) for m in self.conversation.messages[start : self._first_shown]]
        self._first_shown = start
        first = self.query(MessageView).first() if self.query(MessageView) else None
        await self.mount_all(views, before=first) if first else await self.mount_all(views)
        self._update_earlier_line()
        if first is not None:
            self.call_after_refresh(self.scroll_to_widget, first, top=True, animate=False)

    def _update_earlier_line(self) -> None:
        line = self.query_one(EarlierMessages)
        line.display = self._first_shown > 0
        line.update(
            Content.styled(
                f"▲ {self._first_shown} earlier messages — scroll up or press PageUp to show them",
                "dim italic",
            )
        )

    @on(MouseScrollUp)
    async def _scrolled_up(self) -> None:
        if self.scroll_y <= 0:
            await self.load_earlier()

    async def page_up(self) -> None:
        """Scroll up a page, loading earlier messages once the top is reached."""
        if self.scroll_y <= 0:
            await self.load_earlier()
        self.scroll_page_up()

    def page_down(self) -> None:
        self.scroll_page_down()
