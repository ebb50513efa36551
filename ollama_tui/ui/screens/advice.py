"""What the app says when there is nothing to talk to yet: the server is not answering, it has
no models, or no model is chosen. One wording for the notices and the empty conversation."""

from __future__ import annotations

from enum import Enum

from textual.content import Content

from ollama_tui.keymap import PALETTE_KEY, key_label


class Standing(Enum):
    """Where a new user stands with the server."""

    UNREACHABLE = "unreachable"
    NO_MODELS = "no models"
    READY = "ready"


def model_advice(standing: Standing, url: str) -> str:
    """One line: what to do, as fits the server's state."""
    if standing is Standing.UNREACHABLE:
        return (
            f"Ollama is not answering at {url}: start it with `ollama serve`, or check the "
            f"address ({PALETTE_KEY} → Switch host, --host or OLLAMA_HOST)."
        )
    if standing is Standing.NO_MODELS:
        return (
            f"No models on {url} yet: press {key_label('models.open')}, then "
            f"{key_label('models.pull')}, to pull one (llama3.2 is a good first model)."
        )
    return f"Choose a model first: press {key_label('model.pick')}."


def first_steps(standing: Standing, url: str) -> Content | None:
    """The empty conversation's words while there is nothing to talk to; None when ready."""
    if standing is Standing.UNREACHABLE:
        title, text = "Ollama is not answering", model_advice(standing, url)
    elif standing is Standing.NO_MODELS:
        title = "No models yet"
        text = (
            f"{url} answers, but has no model to chat with. Press "
            f"{key_label('models.open')}, then {key_label('models.pull')}, and pull one: "
            "llama3.2 (2 GB) is a good first model. Or, in a terminal: ollama pull llama3.2"
        )
    else:
        return None
    return Content.assemble((f"{title}\n\n", "bold"), text)
