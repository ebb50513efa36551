"""Everything that can go wrong talking to Ollama, as one small exception tree.

Each message is a single line saying what happened and what to do; text that came from the
server goes through `one_line` first, so it is safe to show as-is.
"""

from __future__ import annotations

from typing import Literal

from ollama_tui.sanitize import one_line


class OllamaError(Exception):
    """Base of every error the client raises; catch this at the boundary."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unreachable(OllamaError):
    """No connection could be made (refused, unknown host, connect timeout, TLS failure)."""

    def __init__(self, host: str, reason: str) -> None:
        self.host = host
        self.reason = one_line(reason)
        advice = (
            "trust its certificate authority with network.ca_bundle in the config"
            if "TLS" in self.reason
            else "start it with `ollama serve` or check --host"
        )
        super().__init__(f"cannot reach Ollama at {host} ({self.reason}); {advice}")


class ModelNotFound(OllamaError):
    """The server does not have the requested model."""

    def __init__(self, model: str, host: str) -> None:
        self.model = one_line(model, 100)
        self.host = host
        super().__init__(
            f"model '{self.model}' not found on {host}; pull it with `ollama pull {self.model}`"
        )


class NotAnEmbeddingModel(OllamaError):
    """The model cannot make embeddings (Ollama answers 501): it is a chat model."""

    def __init__(self, model: str) -> None:
        self.model = one_line(model, 100)
        super().__init__(
            f"'{self.model}' is not an embedding model; choose one whose capabilities include "
            "embedding, e.g. `ollama pull nomic-embed-text`"
        )


class RequestRejected(OllamaError):
    """The server refused the request (4xx): a bad option, an unsupported feature…"""

    def __init__(self, status: int, detail: str) -> None:
        self.status = status
        self.detail = one_line(detail)
        super().__init__(f"Ollama rejected the request ({status}): {self.detail}")


class ServerError(OllamaError):
    """The server failed (5xx), e.g. the model runner crashed or an option had the wrong type."""

    def __init__(self, status: int, detail: str) -> None:
        self.status = status
        self.detail = one_line(detail)
        super().__init__(self._describe())

    def _describe(self) -> str:
        return f"Ollama failed to answer ({self.status}): {self.detail}; check its log or try again"


class ServerBusy(ServerError):
    """The server's request queue is full (503)."""

    def __init__(self, detail: str) -> None:
        super().__init__(503, detail)

    def _describe(self) -> str:
        return f"Ollama is busy (503): {self.detail}; try again in a moment"


class StreamError(OllamaError):
    """The server reported an error inside a reply it had already started (status 200)."""

    def __init__(self, detail: str) -> None:
        self.detail = one_line(detail)
        super().__init__(
            f"Ollama stopped the reply with an error: {self.detail}; retry to ask again"
        )


class PullFailed(OllamaError):
    """The server could not pull a model, e.g. because no model has that name."""

    def __init__(self, model: str, detail: str) -> None:
        self.model = one_line(model, 100)
        self.detail = one_line(detail)
        unknown = "file does not exist" in self.detail
        hint = "check the name on ollama.com/library" if unknown else "try again"
        super().__init__(f"could not pull '{self.model}': {self.detail}; {hint}")


BrokenKind = Literal["dropped", "incomplete", "malformed"]


class StreamBroken(OllamaError):
    """The answer could not be read to its end; `kind` says how it broke."""

    def __init__(self, kind: BrokenKind, message: str) -> None:
        self.kind = kind
        super().__init__(message)

    @classmethod
    def dropped(cls) -> StreamBroken:
        """The connection closed before the answer was complete."""
        return cls("dropped", "the connection to Ollama dropped mid-reply; retry to ask again")

    @classmethod
    def incomplete(cls) -> StreamBroken:
        """The stream ended cleanly but without its final `done` line."""
        return cls(
            "incomplete",
            "Ollama ended the reply without finishing it (no done line); retry to ask again",
        )

    @classmethod
    def malformed(cls, sample: str) -> StreamBroken:
        """The server sent a line or body that is not the JSON object expected."""
        return cls(
            "malformed",
            f"Ollama sent an answer that cannot be read ({one_line(sample, 80)}); "
            "check that --host points at Ollama, then try again",
        )


class Stalled(OllamaError):
    """No data arrived for `seconds` after the answer had started."""

    def __init__(self, seconds: float, *, streaming: bool = True) -> None:
        self.seconds = seconds
        outcome = (
            "the reply was stopped — retry to ask again"
            if streaming
            else "the request was stopped — try again"
        )
        super().__init__(f"no data from Ollama for {seconds:g} s; {outcome}")
