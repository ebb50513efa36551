"""HTTP client for the Ollama API: typed events, one exception tree, no UI imports."""

from ollama_tui.ollama.client import OllamaClient
from ollama_tui.ollama.errors import (
    ModelNotFound,
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

__all__ = [
    "ChatDone",
    "ChatEvent",
    "ChatReply",
    "ContentDelta",
    "ModelDetails",
    "ModelNotFound",
    "ModelSummary",
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
