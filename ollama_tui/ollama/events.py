"""Typed values the client hands out: chat events and replies, pull progress, model descriptions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True, slots=True)
class ContentDelta:
    """A piece of the assistant's answer."""

    text: str


@dataclass(frozen=True, slots=True)
class ThinkingDelta:
    """A piece of the model's thinking trace (arrives before the answer)."""

    text: str


@dataclass(frozen=True, slots=True)
class ReplyStats:
    """Metrics from the final line of a reply; durations are nanoseconds, each may be absent."""

    total_duration: int | None = None
    load_duration: int | None = None
    prompt_eval_count: int | None = None
    prompt_eval_duration: int | None = None
    eval_count: int | None = None
    eval_duration: int | None = None

    @property
    def tokens_per_second(self) -> float | None:
        """Generation speed as Ollama defines it: eval_count / eval_duration."""
        if not self.eval_count or not self.eval_duration:
            return None
        return self.eval_count / self.eval_duration * 1e9

    def to_dict(self) -> dict[str, int]:
        """The fields that are present, for storing with a message."""
        values = ((f.name, getattr(self, f.name)) for f in fields(self))
        return {name: value for name, value in values if value is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReplyStats:
        """Read the metrics from a done line or a stored dict; other keys and types are ignored."""
        values = {f.name: data.get(f.name) for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if _is_int(v)})


@dataclass(frozen=True, slots=True)
class ChatDone:
    """The reply finished; `done_reason` is e.g. "stop", "length" or "load"."""

    done_reason: str | None
    stats: ReplyStats


ChatEvent = ContentDelta | ThinkingDelta | ChatDone


@dataclass(frozen=True, slots=True)
class ChatReply:
    """A whole reply, from a non-streamed chat request."""

    content: str
    thinking: str
    done_reason: str | None
    stats: ReplyStats


@dataclass(frozen=True, slots=True)
class PullProgress:
    """One line of a pull: a phase ("pulling manifest", "success"…) or a layer's progress.

    Layer lines have a status "pulling <12 hex digits>" and the layer's `digest`; `total` and
    `completed` are bytes, and either may be missing early on.
    """

    status: str
    digest: str | None
    total: int | None
    completed: int | None


@dataclass(frozen=True, slots=True)
class ModelSummary:
    """One installed model as listed by /api/tags; newer fields may be missing on old servers."""

    name: str
    size: int | None
    parameter_size: str | None
    quantization: str | None
    family: str | None
    modified_at: str | None
    context_length: int | None
    capabilities: tuple[str, ...]
    digest: str | None = None
    embedding_length: int | None = None


@dataclass(frozen=True, slots=True)
class ModelDetails:
    """What /api/show tells about one model."""

    name: str
    family: str | None
    parameter_size: str | None
    quantization: str | None
    context_length: int | None
    capabilities: tuple[str, ...]
    parameters: str
    template: str
    license: str
    system: str

    @property
    def can_chat(self) -> bool:
        """True unless the server says the model cannot complete text (e.g. embedding models)."""
        return not self.capabilities or "completion" in self.capabilities

    @property
    def can_think(self) -> bool:
        """True when the model accepts the `think` option."""
        return "thinking" in self.capabilities


@dataclass(frozen=True, slots=True)
class RunningModel:
    """A model loaded in memory, as /api/ps lists it; `expires_at` is RFC 3339 with an offset."""

    name: str
    size: int | None
    size_vram: int | None
    expires_at: str | None
    context_length: int | None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
