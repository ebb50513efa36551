"""The message pane: one view per message (message_view.py), the latest page mounted, a cursor
that the message keys act on."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import ClassVar, Concatenate, ParamSpec, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.events import MouseScrollDown, MouseScrollUp
from textual.message import Message as TextualMessage
from textual.widget import Widget
from textual.widgets import Static

from ollama_tui.chat.conversation import Conversation, Message
from ollama_tui.keymap import default_keys, key_label
from ollama_tui.ui.stream_layout import LaidOutOnce
from ollama_tui.ui.widgets.message_copy import copy_code_block, copy_message
from ollama_tui.ui.widgets.message_view import MessageView

FIRST_PAINT = 4
"""Messages mounted before the first frame of a conversation that was just opened."""

FOUND_MARK_SECONDS = 3.0
"""How long a message reached from search stays marked."""

PAGE_SIZE = 40
"""Messages mounted when a conversation opens (the memory marker needs the first message the
model still sees to be mounted); earlier ones are mounted as the user scrolls to the top."""

MOUNTED_LIMIT = 64
"""At most this many messages stay mounted (unless a reply is streaming): loading earlier ones
unmounts the latest beyond it, and scrolling back down mounts them again, so a page costs the
same at message 2,000 as at message 40, and memory stays flat."""

FILL_CHUNK = 12
"""Messages mounted at a time after the first frame, and per scroll to the top, with a frame
in between, so the prompt answers meanwhile (mounting a message costs ~10–20 ms)."""


def empty_hint() -> Content:
    """What an empty conversation shows, naming the keys in force."""
    keys = (
        f"{key_label('model.pick')} model · {key_label('sidebar.toggle')} saved conversations · "
        f"{key_label('parameters.toggle')} parameters · {key_label('app.help')} all keys"
    )
    return Content.assemble(
        ("A new conversation\n\n", "bold"),
        f"Type below and press {key_label('prompt.send')} to send.\n",
        (keys, "dim"),
    )


class EarlierMessages(Static):
    """The line at the top that says how many earlier messages are not shown yet."""


def _message_binding(command_id: str, action: str, description: str, show: bool) -> Binding:
    return Binding(default_keys(command_id), action, description, show=show, id=command_id)


_P = ParamSpec("_P")
_T = TypeVar("_T")


def _one_at_a_time(
    method: Callable[Concatenate[MessageList, _P], Awaitable[_T]],
) -> Callable[Concatenate[MessageList, _P], Awaitable[_T]]:
    """Run a change to the window of mounted messages alone.

    Each reads which messages are mounted, awaits their mounting, then records the new window;
    another change running during that await (the page filling in after a conversation opens,
    a message sent meanwhile, a key that loads earlier messages) would leave the window wrong.
    The same task may nest them (`add` falls back to `show`).
    """

    @functools.wraps(method)
    async def exclusive(self: MessageList, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        task = asyncio.current_task()
        if self._window_owner is task:
            return await method(self, *args, **kwargs)
        async with self._window_lock:
            self._window_owner = task
            try:
                return await method(self, *args, **kwargs)
            finally:
                self._window_owner = None

    return exclusive


class MessageList(VerticalScroll, LaidOutOnce):
    """The conversation's messages; only the latest page is mounted until the user scrolls up.

    Focused, it has a cursor: one highlighted message that the keys act on (copy, edit,
    regenerate, flip versions, delete). What changes the conversation is asked of the app.
    """

    BINDINGS: ClassVar = [
        _message_binding("message.previous", "move(-1)", "Previous", False),
        _message_binding("message.next", "move(1)", "Next", False),
        _message_binding("message.first", "move_to_end(-1)", "First", False),
        _message_binding("message.last", "move_to_end(1)", "Latest", False),
        _message_binding("message.older_version", "version(-1)", "Older version", False),
        _message_binding("message.newer_version", "version(1)", "Newer version", False),
        _message_binding("message.copy", "copy", "Copy", True),
        _message_binding("message.copy_code", "copy_code", "Copy code", False),
        _message_binding("message.sources", "sources", "Sources", False),
        _message_binding("message.edit", "edit", "Edit", True),
        _message_binding("message.regenerate", "regenerate(False)", "Regenerate", True),
        _message_binding("message.regenerate_with", "regenerate(True)", "With model", False),
        _message_binding("message.delete", "delete", "Delete", False),
        _message_binding("message.leave", "leave", "Back", True),
    ]

    class EarlierShown(TextualMessage):
        """Earlier messages were mounted above the ones shown."""

    class Left(TextualMessage):
        """The user is done with the messages: focus the prompt."""

    @dataclass
    class VersionRequested(TextualMessage):
        message: Message
        step: int
        """-1 for the version before, +1 for the one after."""

    @dataclass
    class EditRequested(TextualMessage):
        message: Message

    @dataclass
    class RegenerateRequested(TextualMessage):
        message: Message
        pick_model: bool

    @dataclass
    class DeleteRequested(TextualMessage):
        message: Message

    @dataclass
    class SourcesRequested(TextualMessage):
        message: Message

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="-empty")  # as shown until a conversation is
        self.conversation: Conversation | None = None
        self._first_shown = 0
        self._last_shown = 0
        """One past the last mounted message (less than the count when scrolled far up)."""
        self._view_cache: dict[int, MessageView] = {}
        self.cursor: MessageView | None = None
        """The highlighted message while the list has focus."""
        self._code_copied: int | None = None
        """Which code block of the cursor's message was copied last: the next press copies the
        next (moving the cursor starts again from the first)."""
        self._window_lock = asyncio.Lock()
        self._window_owner: asyncio.Task[object] | None = None
        self._hint = Static(empty_hint(), id="empty-hint")
        """Held rather than looked up: the hint may change while the app closes, after the
        list's children are gone."""

    def compose(self) -> ComposeResult:
        yield self._hint
        yield EarlierMessages("")

    def _view(self, message: Message) -> MessageView:
        """A view of one of the conversation's messages."""
        conversation = self.conversation
        return MessageView(message, conversation.format if conversation is not None else None)

    @_one_at_a_time
    async def show(self, conversation: Conversation) -> None:
        """Replace what is shown with the latest messages of `conversation`.

        The last FIRST_PAINT messages are mounted at once, so the first frame comes quickly;
        the rest of the latest page is mounted above them right after that frame.
        """
        self.conversation = conversation
        self._set_cursor(None)
        self._first_shown = max(0, len(conversation.messages) - FIRST_PAINT)
        self._last_shown = len(conversation.messages)
        shown = conversation.messages[self._first_shown :]
        # One layout when all is mounted, rather than one per message as each Markdown fills.
        with self.app.batch_update():
            await self.query(MessageView).remove()
            if shown:
                await self.mount_all([self._view(message) for message in shown])
        self._update_earlier_line()
        self._show_empty_hint(not shown)
        self.anchor()
        if self._first_shown > 0:
            self.call_after_refresh(self._fill_page, conversation)

    @_one_at_a_time
    async def _fill_page(self, conversation: Conversation) -> None:
        """Mount the rest of the latest page above what `show` mounted (the view stays put)."""
        if conversation is not self.conversation or self._streaming():
            return
        start = max(0, len(conversation.messages) - PAGE_SIZE)
        if start >= self._first_shown:
            return
        start = max(start, self._first_shown - FILL_CHUNK)
        views = [self._view(m) for m in conversation.messages[start : self._first_shown]]
        first = self.query(MessageView).first() if self.query(MessageView) else None
        self._first_shown = start
        with self.app.batch_update():
            await self.mount_all(views, before=first) if first else await self.mount_all(views)
        self._update_earlier_line()
        self.post_message(self.EarlierShown())
        self.call_after_refresh(self._fill_page, conversation)

    @_one_at_a_time
    async def add(self, message: Message) -> MessageView:
        """Show a message just appended to the conversation."""
        conversation = self.conversation
        if conversation is not None and self._last_shown < len(conversation.messages) - 1:
            await self.show(conversation)  # scrolled far up: back to the latest messages
            view = self.view_of(message)
            if view is not None:
                return view
        view = self._view(message)
        self._show_empty_hint(False)
        await self.mount(view)
        if conversation is not None:
            self._last_shown = len(conversation.messages)
        if not self.is_anchored:
            self.anchor()
        if message.is_reply_in_progress:
            await self._unmount_far_above()
        return view

    def set_hint(self, hint: Content) -> None:
        """What the empty conversation says: the usual keys, or what to do first."""
        self._hint.update(hint)

    def _show_empty_hint(self, show: bool) -> None:
        # The hint fills the pane (height 1fr), which only the vertical layout honours.
        self._hint.display = show
        self.set_class(show, "-empty")

    def _streaming(self) -> bool:
        return any(view.is_streaming for view in self._views())

    async def _unmount_far_above(self) -> None:
        """Before a reply streams in, unmount the messages more than two screens above it.

        Each line the reply adds makes Textual arrange every mounted widget again, 10–20 times
        a second; the fewer are mounted, the sooner a key typed meanwhile shows. Scrolling up
        mounts them again.
        """
        views = self._views()
        room = 2 * self.scrollable_content_region.height
        height = keep = 0
        for view in reversed(views):
            if height > room:
                break
            height += view.outer_size.height + 1  # its bottom margin
            keep += 1
        excess = len(views) - keep
        if excess > 0:
            await self._unmount(views[:excess])
            self._first_shown += excess
            self._update_earlier_line()

    def move_child(
        self,
        child: int | Widget,
        *,
        before: int | Widget | None = None,
        after: int | Widget | None = None,
    ) -> None:
        """Move a child; a move to where it already is costs nothing (Textual would lay out and
        repaint every mounted message, and the memory marker is "moved" on every keystroke)."""
        nodes = self._nodes
        if isinstance(child, Widget) and child in nodes:
            index = nodes.index(child)
            if isinstance(before, Widget) and index + 1 < len(nodes) and nodes[index + 1] is before:
                return
            if isinstance(after, Widget) and index > 0 and nodes[index - 1] is after:
                return
        super().move_child(child, before=before, after=after)

    def view_of(self, message: Message) -> MessageView | None:
        """The view showing `message`, if it is on screen.

        Called for every token of a streaming reply, so it must not walk the DOM: views are
        direct children, the one asked for is cached, and a miss scans children from the end.
        """
        view = self._view_cache.get(id(message))
        if view is not None and view.message is message and view.parent is self:
            return view
        for child in reversed(self._nodes):
            if isinstance(child, MessageView) and child.message is message:
                self._view_cache[id(message)] = child
                return child
        return None

    @_one_at_a_time
    async def load_earlier(self) -> None:
        """Mount the previous page of messages above the ones shown, keeping the view still."""
        if self.conversation is None or self._first_shown == 0:
            return
        start = max(0, self._first_shown - FILL_CHUNK)
        views = [self._view(m) for m in self.conversation.messages[start : self._first_shown]]
        self._first_shown = start
        first = self.query(MessageView).first() if self.query(MessageView) else None
        with self.app.batch_update():
            await self.mount_all(views, before=first) if first else await self.mount_all(views)
            await self._unmount_latest()
        self._update_earlier_line()
        self.post_message(self.EarlierShown())
        if first is not None:
            self.call_after_refresh(self.scroll_to_widget, first, top=True, animate=False)

    def _views(self) -> list[MessageView]:
        return [child for child in self._nodes if isinstance(child, MessageView)]

    async def _unmount_latest(self) -> None:
        """Keep at most MOUNTED_LIMIT views by unmounting the latest (never a streaming one)."""
        views = self._views()
        excess = len(views) - MOUNTED_LIMIT
        if excess <= 0 or any(view.is_streaming for view in views[-excess:]):
            return
        self.anchor(False)
        await self._unmount(views[-excess:])
        self._last_shown -= excess

    async def _unmount(self, views: list[MessageView]) -> None:
        for view in views:
            self._view_cache.pop(id(view.message), None)
            if view is self.cursor:
                self.cursor = None
        await self.remove_children(views)

    @_one_at_a_time
    async def replace_from(self, position: int) -> None:
        """Show anew the messages from `position` on: they changed (a version was flipped, a
        message edited, deleted or written again). Those before stay as they are."""
        conversation = self.conversation
        if conversation is None:
            return
        if not self._first_shown <= position <= self._last_shown:
            await self.show(conversation)
            return
        views = self._views()
        kept = views[: position - self._first_shown]
        end = min(len(conversation.messages), max(position + 1, self._first_shown + PAGE_SIZE))
        fresh = [self._view(message) for message in conversation.messages[position:end]]
        with self.app.batch_update():
            await self._unmount(views[len(kept) :])
            if fresh:
                if kept:
                    await self.mount_all(fresh, after=kept[-1])
                else:
                    await self.mount_all(fresh)
        self._last_shown = end
        self._show_empty_hint(not conversation.messages)
        if self.cursor is None:  # it was among the views replaced: the one in its place
            self._set_cursor(fresh[0] if fresh else kept[-1] if kept else None)
        if end == len(conversation.messages) and not fresh:
            self.anchor()

    # The cursor

    def _set_cursor(self, view: MessageView | None) -> None:
        if self.cursor is not None and self.cursor is not view:
            self.cursor.remove_class("-cursor")
        self.cursor = view
        if view is not None:
            view.set_class(self.has_focus, "-cursor")
        self._code_copied = None

    def on_focus(self) -> None:
        # Runs before Widget._on_focus sets has_focus: highlight here, not in _set_cursor.
        if self.cursor is None or self.cursor.parent is not self:
            self._set_cursor(self._view_in_sight())
        if self.cursor is not None:
            self.cursor.add_class("-cursor")

    def on_blur(self) -> None:
        if self.cursor is not None:
            self.cursor.remove_class("-cursor")

    def _view_in_sight(self) -> MessageView | None:
        """The latest message when scrolled to the bottom, else the last whose top is in view."""
        views = self._views()
        if self.scroll_y >= self.max_scroll_y and self._last_shown == len(self._messages()):
            return views[-1] if views else None
        bottom = self.scroll_y + self.scrollable_content_region.height
        in_sight = [v for v in views if self.scroll_y <= v.virtual_region.y < bottom]
        if in_sight:
            return in_sight[-1]
        return views[-1] if views else None

    def _bring_into_view(self, view: MessageView) -> None:
        tall = view.outer_size.height >= self.scrollable_content_region.height
        if view is self._views()[-1] and self._last_shown == len(self._messages()):
            self.anchor()  # at the latest: follow new text again
        else:
            self.anchor(False)
        self.call_after_refresh(self.scroll_to_widget, view, top=tall, animate=False)

    def _messages(self) -> list[Message]:
        return self.conversation.messages if self.conversation is not None else []

    async def action_move(self, step: int) -> None:
        """Move the cursor to the message before or after, mounting more at either end."""
        views = self._views()
        if self.cursor is None or self.cursor not in views:
            self._set_cursor(self._view_in_sight())
            return
        index = views.index(self.cursor) + step
        if index < 0 and self._first_shown > 0:
            await self.load_earlier()
        elif index >= len(views) and self._last_shown < len(self._messages()):
            await self.load_later()
        views = self._views()
        index = max(0, min(len(views) - 1, views.index(self.cursor) + step))
        self._set_cursor(views[index])
        self._bring_into_view(views[index])

    async def action_move_to_end(self, end: int) -> None:
        """The first message of the conversation (-1) or its latest (+1)."""
        conversation = self.conversation
        if conversation is None or not conversation.messages:
            return
        if end < 0:
            while self._first_shown > 0:
                await self.load_earlier()
        elif self._last_shown < len(conversation.messages):
            await self.show(conversation)
        views = self._views()
        if views:
            view = views[0] if end < 0 else views[-1]
            self._set_cursor(view)
            self._bring_into_view(view)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "leave":
            # While a reply streams, escape stops it (the app's binding) before it leaves.
            return not self._streaming()
        return True

    def action_leave(self) -> None:
        self.post_message(self.Left())

    def action_version(self, step: int) -> None:
        if self.cursor is not None:
            self.post_message(self.VersionRequested(self.cursor.message, step))

    def action_edit(self) -> None:
        if self.cursor is not None:
            self.post_message(self.EditRequested(self.cursor.message))

    def action_regenerate(self, pick_model: bool) -> None:
        if self.cursor is not None:
            self.post_message(self.RegenerateRequested(self.cursor.message, pick_model))

    def action_delete(self) -> None:
        if self.cursor is not None:
            self.post_message(self.DeleteRequested(self.cursor.message))

    def action_sources(self) -> None:
        if self.cursor is None:
            return
        if not self.cursor.message.sources:
            self.notify("This message was sent no passages of documents.")
            return
        self.post_message(self.SourcesRequested(self.cursor.message))

    def action_copy(self) -> None:
        if self.cursor is not None:
            copy_message(self.app, self.cursor.message)

    def action_copy_code(self) -> None:
        """Copy the message's first code block; pressed again, the next one, and round."""
        if self.cursor is None:
            return
        view = self.cursor
        blocks = view.code_blocks()
        index = copy_code_block(self.app, blocks, self._code_copied)
        if index is None:
            return
        self._code_copied = index
        fences = view.code_fences()
        if len(fences) == len(blocks):
            fence = fences[index]
            fence.add_class("-copied")
            self.set_timer(FOUND_MARK_SECONDS, lambda: fence.remove_class("-copied"))
            self.anchor(False)
            self.call_after_refresh(self.scroll_to_widget, fence, animate=False)

    @_one_at_a_time
    async def load_later(self) -> None:
        """Mount the messages after the ones shown (scrolled back down), keeping the view still,
        and unmount as many of the earliest."""
        conversation = self.conversation
        if conversation is None or self._last_shown >= len(conversation.messages):
            return
        end = min(len(conversation.messages), self._last_shown + FILL_CHUNK)
        views = self._views()
        if not views:
            return
        last = views[-1]
        offset = last.virtual_region.y - self.scroll_y
        added = [self._view(m) for m in conversation.messages[self._last_shown : end]]
        self._last_shown = end
        with self.app.batch_update():
            await self.mount_all(added, after=last)
            excess = len(views) + len(added) - MOUNTED_LIMIT
            if excess > 0:
                await self._unmount(views[:excess])
                self._first_shown += excess
        self._update_earlier_line()

        def keep_still() -> None:
            if last.parent is self:
                self.scroll_to(y=last.virtual_region.y - offset, animate=False)
            if self._last_shown >= len(conversation.messages):
                self.anchor()  # at the latest again: follow new text

        self.call_after_refresh(keep_still)

    @_one_at_a_time
    async def reveal(self, message_id: str) -> None:
        """Scroll to a message, mounting earlier pages until it is there, and mark it briefly."""
        if self.conversation is None:
            return
        ids = [message.id for message in self.conversation.messages]
        if message_id not in ids:
            return
        if ids.index(message_id) >= self._last_shown:
            await self.show(self.conversation)
        while ids.index(message_id) < self._first_shown:
            await self.load_earlier()
        view = next(v for v in self.query(MessageView) if v.message.id == message_id)
        self.anchor(False)
        view.add_class("-found")
        self.set_timer(FOUND_MARK_SECONDS, lambda: view.remove_class("-found"))
        self.call_after_refresh(self.scroll_to_widget, view, top=True, animate=False)

    def _update_earlier_line(self) -> None:
        line = self.query_one(EarlierMessages)
        line.display = self._first_shown > 0
        line.update(
            Content.styled(
                f"▲ {self._first_shown} earlier messages — scroll up or press "
                f"{key_label('messages.up')} to show them",
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
        """Scroll down a page, mounting later messages once the bottom of those shown is reached."""
        if self.scroll_y >= self.max_scroll_y:
            self.call_later(self.load_later)
        self.scroll_page_down()

    @on(MouseScrollDown)
    async def _scrolled_down(self) -> None:
        if self.scroll_y >= self.max_scroll_y:
            await self.load_later()
