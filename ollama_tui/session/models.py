"""The models of the current host and their details, fetched one way for every picker."""

from __future__ import annotations

from ollama_tui.ollama import ModelDetails, ModelSummary, OllamaError
from ollama_tui.session.hosts import Hosts


class ModelCatalog:
    """The current host's model list, and /api/show answers cached per (host, model)."""

    def __init__(self, hosts: Hosts) -> None:
        self.hosts = hosts
        self.listed: list[ModelSummary] = []
        """The current host's models as last listed ([] until then, and after a switch)."""
        self.loaded = False
        """Whether `listed` is the current host's answer (so [] means it has no models)."""
        self._details: dict[tuple[str, str], ModelDetails] = {}

    async def refresh(self) -> bool:
        """List the current host's models again; True when the list is not the one held.

        Raises OllamaError when the server does not answer (the list stays as it was).
        """
        models = await self.hosts.client.list_models()
        changed = not self.loaded or _fingerprint(models) != _fingerprint(self.listed)
        if changed and self.loaded:  # a model pulled again may have other details now
            host = self.hosts.current.name
            self._details = {key: value for key, value in self._details.items() if key[0] != host}
        self.listed, self.loaded = models, True
        return changed

    def chat_models(self) -> list[str]:
        """The listed models that can chat (embedding models cannot)."""
        return [model.name for model in self.listed if "embedding" not in model.capabilities]

    def forget_list(self) -> None:
        """After a host switch: the list belongs to the previous host."""
        self.listed = []
        self.loaded = False

    async def details_of(self, model: str) -> ModelDetails | None:
        """The model's /api/show facts (context size, capabilities), fetched once per model."""
        key = (self.hosts.current.name, model)
        if key not in self._details:
            try:
                self._details[key] = await self.hosts.client.show(model)
            except OllamaError:
                return None  # a chat request will report what is wrong
        return self._details[key]

    def sees_images(self, model: str) -> bool:
        """Whether `model` takes images (the `vision` capability); True while its details are
        not known yet (the server then says so itself)."""
        details = self._details.get((self.hosts.current.name, model))
        return details is None or "vision" in details.capabilities

    def context_limit(self, model: str) -> int | None:
        """The model's context length, if its details are known yet."""
        details = self._details.get((self.hosts.current.name, model))
        return details.context_length if details else None


def _fingerprint(models: list[ModelSummary]) -> list[tuple[str, str | None, int | None]]:
    """What tells two listings apart: a model added, removed, or pulled again (a new date)."""
    return [(model.name, model.modified_at, model.size) for model in models]
