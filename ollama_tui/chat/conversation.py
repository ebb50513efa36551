"""What a conversation holds, and how it is written to and read from JSON.

This module is the single source of truth for a conversation's shape. It knows nothing of
Textual or HTTP: the app fills it from stream events, the store persists it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from ollama_tui.chat.attachments import Attachment
from ollama_tui.chat.message import (
    Message,
    MessageState,
    Role,
    compact_json,
    detached,
    new_id,
)
from ollama_tui.chat.migrations import SCHEMA_VERSION, FormatError, migrate
from ollama_tui.chat.options import Options, think_from
from ollama_tui.chat.sources import collections_from
from ollama_tui.chat.structured import saved_format
from ollama_tui.chat.summary import Summary, now_iso, read_summary
from ollama_tui.chat.tools import ToolCall
from ollama_tui.sanitize import sanitize

__all__ = [
    "Conversation",
    "FormatError",
    "MemoryStrategy",
    "Message",
    "MessageState",
    "Role",
    "Summary",
    "is_valid_id",
    "new_id",
    "now_iso",
    "title_from",
]

TITLE_LIMIT = 60
UNTITLED = "New conversation"

_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")


class MemoryStrategy(StrEnum):
    """What of a long conversation is sent when it no longer fits the context window."""

    FULL = "full"
    WINDOW = "window"
    SUMMARY = "summary"


def is_valid_id(value: str) -> bool:
    """True for identifiers that are safe to use as a file name inside the data dir."""
    return _ID_PATTERN.fullmatch(value) is not None


def title_from(text: str) -> str:
    """A one-line title from a message: its first non-blank line, trimmed and shortened."""
    for line in sanitize(text).splitlines():
        line = " ".join(line.split()).lstrip("#>*- ").strip()
        if line:
            return line if len(line) <= TITLE_LIMIT else line[: TITLE_LIMIT - 1] + "…"
    return UNTITLED


def _better_copy(theirs: Message, ours: Message) -> bool:
    """Whether another writer's copy of a message should replace ours."""
    if ours.is_reply_in_progress or theirs.is_reply_in_progress:
        return False
    if (theirs.state is MessageState.COMPLETE) != (ours.state is MessageState.COMPLETE):
        return theirs.state is MessageState.COMPLETE
    return len(theirs.content) > len(ours.content)


def _names_from(value: Any) -> list[str]:
    items = value if isinstance(value, list) else []
    return [sanitize(item) for item in items if isinstance(item, str)]


def _memory_from(value: Any) -> MemoryStrategy:
    """A saved memory strategy; anything unknown falls back to the default."""
    try:
        return MemoryStrategy(value)
    except (ValueError, TypeError):
        return MemoryStrategy.SUMMARY


@dataclass
class Conversation:
    """A chat with its settings and every message, in order."""

    model: str = ""
    system_prompt: str = ""
    options: Options = field(default_factory=Options)
    messages: list[Message] = field(default_factory=list)
    title: str = UNTITLED
    id: str = field(default_factory=new_id)
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    memory: MemoryStrategy = MemoryStrategy.SUMMARY
    summary: Summary | None = None
    think: bool | str | None = None
    """For thinking models: False, True or a level ("low", "medium", "high"); None = default."""
    host: str = ""
    """Name of the server the conversation last talked to ("" before the first reply)."""
    pinned: bool = False
    keep_alive: str = ""
    collections: list[str] = field(default_factory=list)
    """Names of the document collections searched for each message (none: no retrieval)."""
    """How long Ollama keeps the model loaded after a reply: seconds ("300", "-1" = forever) or
    a Go duration ("10m", "1h30m"); "" = the server's default."""
    deleted: set[str] = field(default_factory=set)
    """Ids of messages deleted here, so a merge with another writer's copy that still holds
    them deletes them there too instead of bringing them back."""
    format: str | dict[str, Any] | None = None
    """What replies must be: None = free text, "json", or a JSON Schema (a checked object)."""
    tools: list[str] = field(default_factory=list)
    """Names of the MCP servers whose tools the model is offered."""
    always_allowed: list[str] = field(default_factory=list)
    """Tools the user allowed to run without asking, for this conversation."""

    @property
    def has_title(self) -> bool:
        return self.title != UNTITLED

    def add_user_message(self, text: str, attachments: Iterable[Attachment] = ()) -> Message:
        """Append what the user typed (and attached); the first message also names the
        conversation, after its first attachment when nothing was typed."""
        message = Message(role=Role.USER, content=text, attachments=list(attachments))
        self.messages.append(message)
        if not self.has_title:
            first_file = message.attachments[0].name if message.attachments else ""
            self.title = title_from(text if text.strip() else first_file)
        self.touch()
        return message

    def start_reply(self, model: str | None = None) -> Message:
        """Append an empty reply from `model` (default: the conversation's), to be filled as
        the stream arrives."""
        reply = Message(
            role=Role.ASSISTANT,
            content="",
            model=model or self.model,
            state=MessageState.STREAMING,
        )
        self.messages.append(reply)
        self.touch()
        return reply

    def restart_reply(self, reply: Message, model: str | None = None) -> Message:
        """Write a reply again: a new, empty version takes its place, from `model` (default:
        the conversation's), and the messages after it are kept with the old version.

        A last reply that brought no text at all (it failed before the first token) is not
        worth keeping as a version and is dropped.
        """
        if reply.role is not Role.ASSISTANT:
            raise ValueError("only replies can be written again")
        position = self._set_aside(reply)
        worthless = not (reply.content or reply.thinking or reply.following)
        kept = [version for version in reply.all_versions() if not (version is reply and worthless)]
        new = self.start_reply(model)
        self._show_in_place(position, new, [*kept, new])
        return new

    def position_of(self, message: Message) -> int:
        """The index of `message` (this very object) in the shown messages."""
        for index, candidate in enumerate(self.messages):
            if candidate is message:
                return index
        raise ValueError("the message is not in this conversation")

    def count_after(self, message: Message) -> int:
        """How many shown messages come after `message`."""
        return len(self.messages) - self.position_of(message) - 1

    def show_version(self, message: Message, step: int) -> Message | None:
        """Put the previous (`step` -1) or next (+1) version of `message` in its place.

        The rest of the conversation follows the chosen version: the messages after `message`
        are kept with it, and those of the chosen version's branch come back. Returns the
        version now shown, or None when there is none in that direction.
        """
        versions = message.all_versions()
        target = message.version_position + step
        if not 0 <= target < len(versions):
            return None
        self._show_in_place(self._set_aside(message), versions[target], versions)
        return versions[target]

    def edit_message(self, message: Message, text: str) -> Message:
        """Branch: a new version of one of the user's messages replaces it, and the messages
        after it are kept with the old version (`show_version` brings them back)."""
        if message.role is not Role.USER:
            raise ValueError("only the user's own messages can be edited")
        position = self._set_aside(message)
        edited = Message(role=Role.USER, content=text, attachments=list(message.attachments))
        self._show_in_place(position, edited, [*message.all_versions(), edited])
        self.touch()
        return edited

    def remove_message(self, message: Message) -> Message | None:
        """Delete one message; the rest of the conversation stays.

        A message with other versions is a branch point: the messages after it answered this
        version, so they go with it, and the version before it (else after) is shown in its
        place, with its own branch. Returns that version, if any. A summary that covered
        anything removed goes too.
        """
        position = self.position_of(message)
        self.deleted.add(message.id)
        if self.summary is not None:
            removed = [m.id for m in self.messages[position:]]
            if self.summary.covers_until in removed:
                self.summary = None
        self.touch()
        if not message.versions:
            del self.messages[position]
            return None
        remaining = [version for version in message.all_versions() if version is not message]
        index = message.version_position
        shown = remaining[index - 1] if index > 0 else remaining[0]
        self._show_in_place(position, shown, remaining)
        return shown

    def _set_aside(self, message: Message) -> int:
        """Take `message` and the messages after it off the shown ones; those after it stay
        with it as the rest of its branch. Returns where it was."""
        position = self.position_of(message)
        message.following = self.messages[position + 1 :]
        del self.messages[position:]
        return position

    def _show_in_place(self, position: int, shown: Message, versions: list[Message]) -> None:
        """Show `shown`, one of `versions` (all of them, in order), at `position`, followed by
        the rest of its branch; it holds the others as its versions."""
        others = [detached(version) for version in versions if version is not shown]
        index = next(i for i, version in enumerate(versions) if version is shown)
        shown.versions = others
        shown.version_index = index if index < len(others) else None
        self.messages[position:] = [shown, *shown.following]
        shown.following = []

    def merge_from(self, other: Conversation) -> int:
        """Fold in the messages another writer saved to the same conversation.

        Every message of either side is kept, except those either side deleted. For a message
        both sides hold, the finished or longer version wins, and a reply this side is still
        streaming always stays as is. Returns how many messages came from `other` alone or
        were deleted there.
        """
        removed = 0
        for message in [m for m in self.messages if m.id in other.deleted - self.deleted]:
            if not message.is_reply_in_progress:
                self.remove_message(message)
                removed += 1
        self.deleted |= other.deleted
        ours = {message.id: index for index, message in enumerate(self.messages)}
        elsewhere = set().union(*(message.ids() for message in self.messages)) - ours.keys()
        added: set[str] = set()
        for theirs in other.messages:
            if theirs.id in elsewhere or theirs.id in self.deleted:
                continue  # on a branch this side has set aside, or deleted here
            index = ours.get(theirs.id)
            if index is None:
                self.messages.append(theirs)
                added.add(theirs.id)
            elif _better_copy(theirs, self.messages[index]):
                self.messages[index] = theirs
        if added:
            # In time order; on a tie (the same instant) the message already saved elsewhere
            # came first.
            self.messages.sort(key=lambda message: (message.created_at, message.id not in added))
            self.updated_at = max(self.updated_at, other.updated_at)
        return len(added) + removed

    def drop_unsent_reply(self, reply: Message, error: str) -> Message:
        """The server was never reached: remove the empty `reply` and mark the user's message
        before it unsent; returns that message."""
        self.messages.remove(reply)
        user_message = self.messages[-1]
        user_message.end(MessageState.UNSENT, error)
        return user_message

    def set_model(self, model: str) -> None:
        self.model = model

    def set_options(self, options: Options) -> None:
        self.options = replace(options)

    def set_keep_alive(self, keep_alive: str) -> None:
        self.keep_alive = keep_alive

    def set_think(self, think: bool | str | None) -> None:
        self.think = think

    def set_collections(self, collections: list[str]) -> None:
        """Choose the document collections searched for each message."""
        self.collections = list(collections)

    def set_memory(self, memory: MemoryStrategy) -> None:
        """Change what requests carry; the messages stay exactly as they are."""
        self.memory = memory

    def set_system_prompt(self, system_prompt: str) -> None:
        self.system_prompt = system_prompt

    def set_format(self, reply_format: str | dict[str, Any] | None) -> None:
        self.format = reply_format

    def set_tools(self, servers: list[str]) -> None:
        self.tools = list(servers)

    def set_host(self, host: str) -> None:
        self.host = host

    def toggle_pin(self) -> None:
        self.pinned = not self.pinned

    def edit_summary(self, text: str) -> None:
        """Replace the summary's text; empty text drops it (rebuilt when needed again)."""
        if self.summary is not None:
            self.summary = replace(self.summary, text=text.strip()) if text.strip() else None

    def add_tool_result(self, call: ToolCall, text: str, *, error: str | None = None) -> Message:
        """Append what a call of the latest reply gave back (or why it did not run), the
        text the model gets; `error` when the tool failed."""
        result = Message(
            role=Role.TOOL,
            content=text,
            tool_name=call.name,
            tool_call_id=call.id,
            error=error,
            state=MessageState.FAILED if error else MessageState.COMPLETE,
        )
        self.messages.append(result)
        self.touch()
        return result

    def allow_always(self, tool: str) -> None:
        """Let `tool` run without asking for the rest of this conversation."""
        if tool not in self.always_allowed:
            self.always_allowed.append(tool)
            self.touch()

    def rename(self, title: str) -> None:
        self.title = title_from(title)
        self.touch()

    def touch(self) -> None:
        self.updated_at = now_iso()

    def history_messages(self) -> list[Message]:
        """The messages that make up the history of the next request, in order.

        Replies that were cut short count as far as they got (that is what the user saw);
        a reply still streaming and replies with no text are left out.
        """
        return [
            message
            for message in self.messages
            if message.role is not Role.ASSISTANT
            or ((message.content or message.tool_calls) and not message.is_reply_in_progress)
        ]

    def request_messages(self) -> list[dict[str, Any]]:
        """The history to send with the next request: the system prompt, then every turn."""
        history: list[dict[str, Any]] = []
        if self.system_prompt.strip():
            history.append({"role": "system", "content": self.system_prompt})
        history.extend(message.to_request() for message in self.history_messages())
        return history

    def to_dict(self) -> dict[str, Any]:
        return {**self._settings_dict(), "messages": [m.to_dict() for m in self.messages]}

    def _settings_dict(self) -> dict[str, Any]:
        """Everything saved but the messages."""
        data: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "id": self.id,
            "title": self.title,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "model": self.model,
            "system_prompt": self.system_prompt,
            "options": self.options.to_request(),
            "memory": self.memory.value,
        }
        if self.summary is not None:
            data["summary"] = self.summary.to_dict()
        if self.think is not None:
            data["think"] = self.think
        if self.host:
            data["host"] = self.host
        if self.pinned:
            data["pinned"] = True
        if self.keep_alive:
            data["keep_alive"] = self.keep_alive
        if self.collections:
            data["collections"] = list(self.collections)
        if self.deleted:
            data["deleted"] = sorted(self.deleted)
        if self.format is not None:
            data["format"] = self.format
        if self.tools:
            data["tools"] = list(self.tools)
        if self.always_allowed:
            data["always_allowed"] = list(self.always_allowed)
        return data

    def to_json(self) -> str:
        """`to_dict()` as compact JSON (the C encoder serves only dumps without indent), with
        each message's JSON cached between saves."""
        head = compact_json(self._settings_dict())[:-1]
        body = ",".join(message.to_json() for message in self.messages)
        return f'{head},"messages":[{body}]}}'

    def duplicate(self) -> Conversation:
        """A copy under a new id, for trying another direction without touching this one."""
        copy = Conversation.from_dict(self.to_dict())
        copy.id, copy.created_at = new_id(), now_iso()
        copy.title = f"{self.title[: TITLE_LIMIT - 7]} (copy)"
        copy.touch()
        return copy

    @classmethod
    def from_dict(cls, data: Any) -> Conversation:
        """Read a saved conversation; raise FormatError for anything that is not this schema."""
        if not isinstance(data, dict):
            raise FormatError("not a JSON object")
        data = migrate(data)
        try:
            conversation_id = str(data["id"])
            if not is_valid_id(conversation_id):
                raise FormatError(f"invalid id {conversation_id!r}")
            messages = data.get("messages", [])
            if not isinstance(messages, list):
                raise FormatError("messages is not a list")
            return cls(
                id=conversation_id,
                title=sanitize(str(data.get("title") or UNTITLED)),
                created_at=str(data["created_at"]),
                updated_at=str(data.get("updated_at") or data["created_at"]),
                model=str(data.get("model") or ""),
                system_prompt=str(data.get("system_prompt") or ""),
                options=Options.from_dict(data.get("options") or {}),
                messages=[Message.from_dict(item) for item in messages],
                memory=_memory_from(data.get("memory")),
                think=think_from(data.get("think")),
                host=str(data.get("host") or ""),
                pinned=data.get("pinned") is True,
                keep_alive=str(data.get("keep_alive") or ""),
                summary=read_summary(data.get("summary")),
                collections=collections_from(data.get("collections")),
                deleted={item for item in data.get("deleted") or [] if isinstance(item, str)},
                format=saved_format(data.get("format")),
                tools=_names_from(data.get("tools")),
                always_allowed=_names_from(data.get("always_allowed")),
            )
        except (KeyError, TypeError, AttributeError) as error:
            raise FormatError(f"bad conversation: {error}") from error
