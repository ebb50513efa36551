"""The models of the current host (or the union over the chosen pool) and their details, fetched
one way for every picker."""

from __future__ import annotations

from ollama_tui.config import HostSettings
from ollama_tui.ollama import ModelDetails, ModelSummary, OllamaError
from ollama_tui.session.hosts import Hosts
from ollama_tui.session.pools import PoolRouter


class ModelCatalog:
    """The current model list, and /api/show answers cached per (host, model)."""

    def __init__(self, hosts: Hosts, router: PoolRouter) -> None:
        self.hosts = hosts
        self.router = router
        self.listed: list[ModelSummary] = []
        """The current host's models as last listed ([] until then, and after a switch); for a
        pool, every model any of its hosts has."""
        self.loaded = False
        """Whether `listed` is the current answer (so [] means there are no models)."""
        self.where: dict[str, list[str]] = {}
        """For a pool: the hosts that have each listed model, in priority order."""
        self._details: dict[tuple[str, str], ModelDetails] = {}

    async def refresh(self) -> bool:
        """List the models again; True when the list is not the one held.

        Raises OllamaError when the server (every host of the pool) does not answer; the list
        stays as it was.
        """
        where: dict[str, list[str]] = {}
        if self.hosts.pool is not None:
            models, where = await self.router.models(self.hosts.pool)
        else:
            models = await self.hosts.client.list_models()
        changed = not self.loaded or _fingerprint(models) != _fingerprint(self.listed)
        if changed and self.loaded:  # a model pulled again may have other details now
            asked = {host.name for host in self.hosts.members()}
            self._details = {
                key: value for key, value in self._details.items() if key[0] not in asked
            }
        self.listed, self.where, self.loaded = models, where, True
        return changed

    def chat_models(self) -> list[str]:
        """The listed models that can chat (embedding models cannot)."""
        return [model.name for model in self.listed if "embedding" not in model.capabilities]

    def forget_list(self) -> None:
        """After a host switch: the list belongs to the previous host."""
        self.listed, self.where = [], {}
        self.loaded = False

    def home_of(self, model: str) -> HostSettings:
        """Where details of `model` come from by default: the current host; in a pool, its
        first host that has the model and was not found down."""
        hosts = self.hosts
        having = [hosts.settings.hosts[name] for name in self.where.get(model, [])]
        return next((host for host in having if not hosts.is_down(host)), hosts.current)

    async def details_of(self, model: str, host: HostSettings | None = None) -> ModelDetails | None:
        """The model's /api/show facts (context size, capabilities) on `host` (default:
        `home_of(model)`), fetched once per host and model."""
        host = host or self.home_of(model)
        key = (host.name, model)
        if key not in self._details:
            try:
                self._details[key] = await self.hosts.client_for(host).show(model)
            except OllamaError:
                return None  # a chat request will report what is wrong
        return self._details[key]

    def sees_images(self, model: str, host: HostSettings | None = None) -> bool:
        """Whether `model` takes images (the `vision` capability) on `host` (default:
        `home_of(model)`); True while its details are not known yet (the server then says so)."""
        details = self._details.get(((host or self.home_of(model)).name, model))
        return details is None or "vision" in details.capabilities

    def context_limit(self, model: str, host: HostSettings | None = None) -> int | None:
        """The model's context length on `host` (default: `home_of(model)`), if known yet."""
        details = self._details.get(((host or self.home_of(model)).name, model))
        return details.context_length if details else None


def _fingerprint(models: list[ModelSummary]) -> list[tuple[str, str | None, int | None]]:
    """What tells two listings apart: a model added, removed, or pulled again (a new date)."""
    return [(model.name, model.modified_at, model.size) for model in models]
