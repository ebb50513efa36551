"""The chat page's commands on one message (the message list's cursor): versions, editing,
writing a reply again, deleting, and retrying."""

from __future__ import annotations

from functools import partial

from textual import on

from ollama_tui.chat.conversation import Conversation, Message, MessageState, Role
from ollama_tui.keymap import key_label
from ollama_tui.sanitize import one_line
from ollama_tui.ui.screens.chat_page import ChatPage
from ollama_tui.ui.screens.confirm import ConfirmScreen
from ollama_tui.ui.screens.edit_message import EditMessageScreen
from ollama_tui.ui.widgets.message_list import MessageList
from ollama_tui.ui.widgets.prompt import PromptArea


class MessageCommands(ChatPage):
    """What the user does with one message of the open conversation."""

    def action_focus_messages(self) -> None:
        if self.conversation.messages:
            self.message_list.focus()
        else:
            self.notify(f"No messages yet: type below and press {key_label('prompt.send')}.")

    @on(PromptArea.UpFromEmpty, "#prompt")
    def _up_from_empty_prompt(self) -> None:
        if self.conversation.messages:
            self.message_list.focus()

    @on(MessageList.Left)
    def _left_messages(self) -> None:
        self.prompt.focus()

    async def action_retry(self) -> None:
        """Send an unsent message again, or regenerate the last reply (kept as a version)."""
        conversation = self.conversation
        if conversation.id in self.replies or not conversation.messages:
            return
        last = conversation.messages[-1]
        if last.role is Role.USER:
            last.end(MessageState.COMPLETE)
            view = self.message_list.view_of(last)
            if view is not None:
                view.refresh_header()
            await self.begin_reply(conversation, conversation.start_reply())
            return
        await self._write_again(conversation, last, None)

    async def _write_again(
        self, conversation: Conversation, reply: Message, model: str | None
    ) -> None:
        """Regenerate `reply` (from `model`, default the conversation's); the old text stays as
        a version, with the messages that followed it."""
        position = self.position_on_screen(conversation, reply)
        if position is None or self.busy("writing a reply again"):
            return
        new = conversation.restart_reply(reply, model)
        await self.message_list.replace_from(position)
        await self.begin_reply(conversation, new)

    @on(MessageList.VersionRequested)
    async def _flip_version(self, event: MessageList.VersionRequested) -> None:
        conversation, message = self.conversation, event.message
        if not message.versions:
            self.notify(
                f"This message has only one version: {key_label('message.regenerate')} writes a "
                f"reply again, {key_label('message.edit')} edits yours."
            )
            return
        if self.busy("switching versions"):
            return
        position = conversation.position_of(message)
        shown = conversation.show_version(message, event.step)
        if shown is None:
            edge = "first" if event.step < 0 else "latest"
            self.notify(f"This is the {edge} of {message.version_count} versions.")
            return
        self.changed(conversation, memory=False)
        await self.message_list.replace_from(position)
        self._show_memory()

    @on(MessageList.EditRequested)
    def _edit_requested(self, event: MessageList.EditRequested) -> None:
        conversation, message = self.conversation, event.message
        if message.role is not Role.USER:
            self.notify(
                f"Only your own messages can be edited; {key_label('message.regenerate')} "
                "writes a reply again."
            )
            return
        if self.busy("editing"):
            return
        self.app.push_screen(
            EditMessageScreen(message.content, conversation.count_after(message)),
            partial(self._send_edited, conversation, message),
        )

    async def _send_edited(
        self, conversation: Conversation, message: Message, text: str | None
    ) -> None:
        position = self.position_on_screen(conversation, message)
        if text is None or not text.strip() or position is None or self.busy("editing"):
            return
        if not conversation.model:
            self.notify(
                f"Choose a model first: press {key_label('model.pick')}.", severity="warning"
            )
            return
        conversation.edit_message(message, text)
        await self.message_list.replace_from(position)
        self.prompt.focus()
        await self.begin_reply(conversation, conversation.start_reply())

    @on(MessageList.RegenerateRequested)
    async def _regenerate_requested(self, event: MessageList.RegenerateRequested) -> None:
        conversation, reply = self.conversation, event.message
        if reply.role is not Role.ASSISTANT:
            self.notify(
                f"Only replies can be written again; {key_label('message.edit')} edits your "
                "own message."
            )
            return
        if self.busy("writing a reply again"):
            return
        if event.pick_model:
            await self._pick_model_and_write_again(conversation, reply)
        else:
            await self._write_again(conversation, reply, None)

    async def action_write_again_with_model(self) -> None:
        messages = self.conversation.messages
        if not messages or messages[-1].role is not Role.ASSISTANT:
            self.notify("There is no reply to write again yet.")
        elif not self.busy("writing a reply again"):
            await self._pick_model_and_write_again(self.conversation, messages[-1])

    async def _pick_model_and_write_again(self, conversation: Conversation, reply: Message) -> None:
        await self.pick_model(
            "Write the reply again with",
            current=reply.model,
            chosen=partial(self._write_again_with, conversation, reply),
        )

    async def _write_again_with(
        self, conversation: Conversation, reply: Message, model: str | None
    ) -> None:
        if model:
            await self._write_again(conversation, reply, model)
            if model != conversation.model:
                self.notify(
                    f"This reply comes from {model}; the next ones still from "
                    f"{conversation.model} ({key_label('model.pick')} changes that).",
                    markup=False,
                )

    @on(MessageList.DeleteRequested)
    def _delete_message_requested(self, event: MessageList.DeleteRequested) -> None:
        conversation, message = self.conversation, event.message
        if self.busy("deleting"):
            return
        who = "your message" if message.role is Role.USER else "the reply"
        text = f"“{one_line(message.content, 60)}”"
        if not message.versions:
            question = f"Delete {who} {text} for good? The rest of the conversation stays."
        else:
            later = conversation.count_after(message)
            plural = "s" if later > 1 else ""
            branch = f" and the {later} message{plural} after it" if later else ""
            question = (
                f"Delete this version of {who} {text}{branch} for good? The version next to it "
                "takes its place, with what followed it."
            )
        self.app.push_screen(
            ConfirmScreen("Delete message", question, yes="Delete", danger=True),
            partial(self._delete_message, conversation, message),
        )

    async def _delete_message(
        self, conversation: Conversation, message: Message, confirmed: bool | None
    ) -> None:
        position = self.position_on_screen(conversation, message)
        if not confirmed or position is None or self.busy("deleting"):
            return
        shown = conversation.remove_message(message)
        self.changed(conversation, row=True, memory=False)
        await self.message_list.replace_from(position)
        self._show_memory()
        self.notify("Version deleted." if shown else "Message deleted.")
