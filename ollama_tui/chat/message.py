"""One message of a conversation: who wrote it, what it says, how it ended, its other
versions, and the tool calls or tool result it carries; written to and read from JSON."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ollama_tui.chat.attachments import Attachment, attachments_from, content_with_files
from ollama_tui.chat.migrations import FormatError
from ollama_tui.chat.sources import Source, sources_from
from ollama_tui.chat.summary import now_iso
from ollama_tui.chat.tools import ToolCall
from ollama_tui.sanitize import sanitize


class Role(StrEnum):
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"
    """A tool's result, sent back to the model after the reply that called it."""


class MessageState(StrEnum):
    """Where a message stands: UNSENT is a user message the server never got; only COMPLETE
    replies are the model's whole answer."""

    COMPLETE = "complete"
    UNSENT = "unsent"
    STREAMING = "streaming"
    CANCELLED = "cancelled"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


def new_id() -> str:
    """A fresh random identifier, safe as a file name."""
    return uuid.uuid4().hex[:16]


@dataclass
class Message:
    """One turn: what the user typed, or what a model answered (with how it ended)."""

    role: Role
    content: str
    model: str | None = None
    host: str = ""
    """The named host that wrote a reply ("" for the unnamed server, and for the user's turns)."""
    thinking: str = ""
    state: MessageState = MessageState.COMPLETE
    error: str | None = None
    done_reason: str | None = None
    stats: dict[str, int] = field(default_factory=dict)
    versions: list[Message] = field(default_factory=list)
    """The other versions of this message (regenerated replies, edited prompts) in the order
    they were written; this one stands among them at `version_position`. Never sent."""
    version_index: int | None = None
    """Where this message stands among its versions; None = after all of them (the newest)."""
    following: list[Message] = field(default_factory=list)
    """On a version not shown: the messages that came after it, i.e. the rest of its branch."""
    attachments: list[Attachment] = field(default_factory=list)
    """Files attached to a user's message, in the order they were attached."""
    sources: list[Source] = field(default_factory=list)
    """On a reply: the document passages sent with the request that produced it."""
    tool_calls: list[ToolCall] = field(default_factory=list)
    """On a reply: the tools the model asked to run, in its order."""
    tool_name: str = ""
    """On a tool message: the tool whose result `content` is (`tool_call_id` names the call)."""
    tool_call_id: str = ""
    id: str = field(default_factory=new_id)
    created_at: str = field(default_factory=now_iso)

    def to_dict(self) -> dict[str, Any]:
        data = self._own_dict()
        if self.versions:
            data["versions"] = [version.to_dict() for version in self.versions]
        if self.following:
            data["following"] = [message.to_dict() for message in self.following]
        return data

    def _own_dict(self) -> dict[str, Any]:
        """Every saved field but the other versions and the rest of the branch."""
        data: dict[str, Any] = {
            "id": self.id,
            "role": self.role.value,
            "content": self.content,
            "created_at": self.created_at,
            "state": self.state.value,
        }
        if self.model:
            data["model"] = self.model
        if self.host:
            data["host"] = self.host
        if self.thinking:
            data["thinking"] = self.thinking
        if self.error:
            data["error"] = self.error
        if self.done_reason:
            data["done_reason"] = self.done_reason
        if self.stats:
            data["stats"] = dict(self.stats)
        if self.version_index is not None:
            data["version_index"] = self.version_index
        if self.attachments:
            data["attachments"] = [attachment.to_dict() for attachment in self.attachments]
        if self.sources:
            data["sources"] = [source.to_dict() for source in self.sources]
        if self.tool_calls:
            data["tool_calls"] = [call.to_dict() for call in self.tool_calls]
        if self.tool_name:
            data["tool_name"] = self.tool_name
        if self.tool_call_id:
            data["tool_call_id"] = self.tool_call_id
        return data

    def to_request(self) -> dict[str, Any]:
        """The message as a request's history carries it: role and text, the calls of a
        reply, the tool a result comes from."""
        sent: dict[str, Any] = {"role": self.role.value, "content": self.request_content()}
        if self.tool_calls:
            sent["tool_calls"] = [call.to_request() for call in self.tool_calls]
        if self.tool_name:
            sent["tool_name"] = self.tool_name
        if self.tool_call_id:
            sent["tool_call_id"] = self.tool_call_id
        return sent

    def to_json(self) -> str:
        """The message as compact JSON, encoded again only when something in it changed.

        Saving a long conversation re-encodes only the messages that changed (usually the
        last), not all of them. The cache is checked by equality of every saved field, so a
        change is never missed.
        """
        key = self._json_key()
        cached: tuple[tuple[object, ...], str] | None = self.__dict__.get("_json_cache")
        if cached is not None and cached[0] == key:
            return cached[1]
        text = compact_json(self._own_dict())[:-1]
        if self.versions:
            text += ',"versions":[' + ",".join(v.to_json() for v in self.versions) + "]"
        if self.following:
            text += ',"following":[' + ",".join(m.to_json() for m in self.following) + "]"
        text += "}"
        self.__dict__["_json_cache"] = (key, text)
        return text

    def _json_key(self) -> tuple[object, ...]:
        return (
            self.id,
            self.role,
            self.content,
            self.created_at,
            self.state,
            self.model,
            self.host,
            self.thinking,
            self.error,
            self.done_reason,
            tuple(self.stats.items()) if self.stats else (),
            self.version_index,
            tuple(self.sources),
            tuple([call.key() for call in self.tool_calls]),
            self.tool_name,
            self.tool_call_id,
            tuple([version._json_key() for version in self.versions]) if self.versions else (),
            tuple([message._json_key() for message in self.following]) if self.following else (),
            tuple([attachment.key() for attachment in self.attachments]),
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        try:
            state = MessageState(data.get("state", MessageState.COMPLETE))
            if state is MessageState.STREAMING:
                # Saved while a reply was arriving and never finished: the app stopped mid-reply.
                state = MessageState.INTERRUPTED
            stats = data.get("stats") or {}
            return cls(
                id=str(data["id"]),
                role=Role(data["role"]),
                content=str(data["content"]),
                created_at=str(data["created_at"]),
                model=data.get("model"),
                host=str(data.get("host") or ""),
                thinking=str(data.get("thinking", "")),
                state=state,
                error=data.get("error"),
                done_reason=data.get("done_reason"),
                stats={k: v for k, v in stats.items() if isinstance(v, int)},
                versions=[cls.from_dict(item) for item in data.get("versions", [])],
                version_index=_version_index_from(data.get("version_index")),
                following=[cls.from_dict(item) for item in data.get("following", [])],
                attachments=attachments_from(data.get("attachments")),
                sources=sources_from(data.get("sources")),
                tool_calls=[ToolCall.from_dict(item) for item in data.get("tool_calls", [])],
                tool_name=sanitize(str(data.get("tool_name") or "")),
                tool_call_id=str(data.get("tool_call_id") or ""),
            )
        except (KeyError, ValueError, TypeError, AttributeError) as error:
            raise FormatError(f"bad message: {error}") from error

    def request_content(self) -> str:
        """The text the model reads: the content, then each attached text file as a block."""
        return content_with_files(self.content, self.attachments)

    @property
    def is_reply_in_progress(self) -> bool:
        return self.state is MessageState.STREAMING

    def fill(self, content: str, thinking: str) -> None:
        """Take the text of a reply as received so far."""
        self.content, self.thinking = content, thinking

    def written_by(self, host: str) -> None:
        """Name the host writing a reply (in a pool it may change before the first token)."""
        self.host = host

    def end(self, state: MessageState, error: str | None = None) -> None:
        """Settle how the message stands (and why, for a failure or an unsent message)."""
        self.state, self.error = state, error

    def record_done(self, done_reason: str | None, stats: dict[str, int]) -> None:
        """Keep why the model stopped and the server's counts and timings."""
        self.done_reason, self.stats = done_reason, stats

    @property
    def version_position(self) -> int:
        """Where this message stands among its versions, from 0 (the first written)."""
        if self.version_index is None:
            return len(self.versions)
        return min(self.version_index, len(self.versions))

    @property
    def version_count(self) -> int:
        return len(self.versions) + 1

    def all_versions(self) -> list[Message]:
        """Every version of this message, this one included, in the order they were written."""
        position = self.version_position
        return [*self.versions[:position], self, *self.versions[position:]]

    def ids(self) -> set[str]:
        """The ids of this message, of its other versions and of their branches."""
        found = {self.id}
        for message in [*self.versions, *self.following]:
            found |= message.ids()
        return found


def compact_json(value: dict[str, Any]) -> str:
    """Compact JSON, as conversation files are written."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _version_index_from(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def detached(message: Message) -> Message:
    """`message` as one version among others: it no longer holds the list of versions."""
    message.versions = []
    message.version_index = None
    return message
