"""HTTP client for the Ollama API: typed events, one exception tree, no UI imports."""

from ollama_tui.ollama.client import OllamaClient
from ollama_tui.ollama.errors import (
    ModelNotFound,
    OllamaError,
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
    ContentDelta,
    ModelDetails,
    ModelSummary,
    ReplyStats,
    ThinkingDelta,
)

__all__ = [
    "ChatDone",
    "ChatEvent",
    "ContentDelta",
    "ModelDetails",
    "ModelNotFound",
    "ModelSummary",
    "OllamaClient",
    "OllamaError",
    "ReplyStats",
    "RequestRejected",
    "ServerBusy",
    "ServerError",
    "Stalled",
    "StreamBroken",
    "StreamError",
    "ThinkingDelta",
    "Unreachable",
]
