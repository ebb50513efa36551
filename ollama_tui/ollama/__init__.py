"""HTTP client for the Ollama API: typed events, one exception tree, no UI imports.

`OllamaClient` is imported when first asked for: it brings in httpx (~0.1 s), which the app
needs only after its first frame.
"""

from typing import TYPE_CHECKING, Any

from ollama_tui.ollama.errors import (
    ModelNotFound,
    NotAnEmbeddingModel,
    OllamaError,
    PullFailed,
    RequestRejected,
    ServerBusy,
    ServerError,
    Stalled,
    StreamBroken,
    StreamError,
    Unreachable,
)
from ollama_tui.ollama.events import (
    ChatDone,
    ChatEvent,
    ChatReply,
    ContentDelta,
    ModelDetails,
    ModelSummary,
    PullProgress,
    ReplyStats,
    RunningModel,
    ThinkingDelta,
)

if TYPE_CHECKING:
    from ollama_tui.ollama.client import OllamaClient


def __getattr__(name: str) -> Any:
    if name == "OllamaClient":
        from ollama_tui.ollama.client import OllamaClient

        return OllamaClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ChatDone",
    "ChatEvent",
    "ChatReply",
    "ContentDelta",
    "ModelDetails",
    "ModelNotFound",
    "ModelSummary",
    "NotAnEmbeddingModel",
    "OllamaClient",
    "OllamaError",
    "PullFailed",
    "PullProgress",
    "ReplyStats",
    "RequestRejected",
    "RunningModel",
    "ServerBusy",
    "ServerError",
    "Stalled",
    "StreamBroken",
    "StreamError",
    "ThinkingDelta",
    "Unreachable",
]
