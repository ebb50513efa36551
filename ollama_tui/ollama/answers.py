"""The server's JSON answers read into the typed values of `events`.

Lenient by design: a field that is missing or of the wrong type reads as None (or empty), and
every string is cleaned of control characters here, where it enters the app.
"""

from __future__ import annotations

from typing import Any

from ollama_tui.ollama.errors import StreamBroken
from ollama_tui.ollama.events import (
    ChatDone,
    ChatReply,
    ModelDetails,
    ModelSummary,
    PullProgress,
    ReplyStats,
    RunningModel,
)
from ollama_tui.sanitize import sanitize


def text(value: object) -> str | None:
    """A server string made safe for the terminal; None when absent or empty."""
    if not isinstance(value, str):
        return None
    return sanitize(value) or None


def integer(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def chat_done(reply: dict[str, Any]) -> ChatDone:
    """The last line of a reply (or a whole unstreamed one): how it ended, and its metrics."""
    return ChatDone(done_reason=text(reply.get("done_reason")), stats=ReplyStats.from_dict(reply))


def chat_reply(reply: dict[str, Any]) -> ChatReply:
    """An unstreamed /api/chat answer."""
    message = mapping(reply.get("message"))
    done = chat_done(reply)
    return ChatReply(
        content=text(message.get("content")) or "",
        thinking=text(message.get("thinking")) or "",
        done_reason=done.done_reason,
        stats=done.stats,
    )


def pull_progress(line: dict[str, Any]) -> PullProgress:
    """One line of /api/pull."""
    return PullProgress(
        status=text(line.get("status")) or "",
        digest=text(line.get("digest")),
        total=integer(line.get("total")),
        completed=integer(line.get("completed")),
    )


def model_summaries(data: dict[str, Any]) -> list[ModelSummary]:
    """The models of a /api/tags answer; entries without a name are skipped."""
    return [summary for item in _models(data) if (summary := _summary(item)) is not None]


def running_models(data: dict[str, Any]) -> list[RunningModel]:
    """The models of a /api/ps answer; entries without a name are skipped."""
    return [running for item in _models(data) if (running := _running(item)) is not None]


def model_details(model: str, data: dict[str, Any]) -> ModelDetails:
    """A /api/show answer about `model`."""
    details = mapping(data.get("details"))
    return ModelDetails(
        name=sanitize(model),
        family=text(details.get("family")),
        parameter_size=text(details.get("parameter_size")),
        quantization=text(details.get("quantization_level")),
        context_length=_context_length(data.get("model_info")),
        capabilities=_capabilities(data.get("capabilities")),
        parameters=text(data.get("parameters")) or "",
        template=text(data.get("template")) or "",
        license=text(data.get("license")) or "",
        system=text(data.get("system")) or "",
    )


def _models(data: dict[str, Any]) -> list[object]:
    """The `models` list of a /api/tags or /api/ps answer (null means none)."""
    models = data.get("models") or []
    if not isinstance(models, list):
        raise StreamBroken.malformed(f"models: {models!r}")
    return models


def _summary(item: object) -> ModelSummary | None:
    entry = mapping(item)
    name = text(entry.get("name")) or text(entry.get("model"))
    if name is None:
        return None
    details = mapping(entry.get("details"))
    return ModelSummary(
        name=name,
        size=integer(entry.get("size")),
        parameter_size=text(details.get("parameter_size")),
        quantization=text(details.get("quantization_level")),
        family=text(details.get("family")),
        modified_at=text(entry.get("modified_at")),
        context_length=integer(details.get("context_length")),
        capabilities=_capabilities(entry.get("capabilities")),
        digest=text(entry.get("digest")),
        embedding_length=integer(details.get("embedding_length")),
    )


def _running(item: object) -> RunningModel | None:
    entry = mapping(item)
    name = text(entry.get("name")) or text(entry.get("model"))
    if name is None:
        return None
    return RunningModel(
        name=name,
        size=integer(entry.get("size")),
        size_vram=integer(entry.get("size_vram")),
        expires_at=text(entry.get("expires_at")),
        context_length=integer(entry.get("context_length")),
    )


def _context_length(model_info: object) -> int | None:
    """`<general.architecture>.context_length`, else any `*.context_length` key."""
    info = mapping(model_info)
    architecture = info.get("general.architecture")
    if isinstance(architecture, str):
        length = integer(info.get(f"{architecture}.context_length"))
        if length is not None:
            return length
    for key, value in info.items():
        if key.endswith(".context_length") and (length := integer(value)) is not None:
            return length
    return None


def _capabilities(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(item_text for item in value if (item_text := text(item)))
