"""Routing a reply within a pool: which of its hosts have the model, and in which order to try
them — using only Ollama's own API (/api/tags, /api/ps). No Textual.

Each request asks every host of the pool at once, bounded by the connect timeout, so a host
that is down (refused at once) or silent (no answer within the timeout) costs at most that
before the reply goes elsewhere. A host the watcher last found down is not asked while another
answers; the watcher checks it again with backoff, and once it answers it is used again.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

from ollama_tui.config import HostSettings, PoolSettings
from ollama_tui.ollama import ModelSummary, OllamaError, Unreachable
from ollama_tui.session.hosts import Hosts


def canonical(model: str) -> str:
    """`model` with its tag, as /api/tags lists it (`llama3.2` → `llama3.2:latest`)."""
    return model if ":" in model.rsplit("/", 1)[-1] else f"{model}:latest"


@dataclass
class HostState:
    """What one host of a pool said just now: its models and which of them are loaded."""

    host: HostSettings
    models: list[ModelSummary] = field(default_factory=list)
    loaded: set[str] = field(default_factory=set)
    answered: bool = True


@dataclass(frozen=True)
class Route:
    """The hosts to try for one reply, best first, and those skipped on the way."""

    candidates: list[HostSettings]
    skipped: list[HostSettings]
    """Hosts that did not answer the look-up (or were found down before), in the pool's order."""


class PoolRouter:
    """Picks the hosts of a pool for each reply, and counts the replies each one is writing."""

    def __init__(self, hosts: Hosts) -> None:
        self.hosts = hosts
        self.in_flight: Counter[str] = Counter()
        """Replies this app is streaming from each host, by host name."""

    async def look(self, pool: PoolSettings, *, loaded: bool) -> list[HostState]:
        """Ask the pool's hosts for their models (and, with `loaded`, what is in memory), all at
        once. Hosts last found down are left out while another host is up."""
        members = self.hosts.members(pool)
        asked = [host for host in members if not self.hosts.is_down(host)] or members
        states = await asyncio.gather(*(self._ask(host, loaded=loaded) for host in asked))
        for state in states:
            if not state.answered:
                self.hosts.mark_down(state.host)
        down = [HostState(host, answered=False) for host in members if host not in asked]
        return [*states, *down]

    async def _ask(self, host: HostSettings, *, loaded: bool) -> HostState:
        client = self.hosts.client_for(host)
        state = HostState(host)
        try:
            async with asyncio.timeout(self.hosts.settings.connect_timeout):
                state.models = await client.list_models()
                if loaded:
                    state.loaded = {canonical(model.name) for model in await client.ps()}
        except (OllamaError, TimeoutError):
            state.answered = False
        return state

    async def route(self, pool: PoolSettings, model: str) -> Route:
        """The pool's hosts that have `model`, in the order the pool's strategy tries them.

        Raises Unreachable when no host answers, OllamaError when none has the model.
        """
        wanted = canonical(model)
        states = await self.look(pool, loaded=pool.strategy != "priority")
        order = {name: index for index, name in enumerate(pool.hosts)}
        having = [
            state
            for state in states
            if state.answered and any(canonical(m.name) == wanted for m in state.models)
        ]

        def rank(state: HostState) -> tuple[int, ...]:
            cold = int(wanted not in state.loaded)
            position = order[state.host.name]
            if pool.strategy == "warm-first":
                return (cold, position)
            if pool.strategy == "least-busy":
                return (self.in_flight[state.host.name], cold, position)
            return (position,)

        having.sort(key=rank)
        skipped = sorted((s.host for s in states if not s.answered), key=lambda h: order[h.name])
        if having:
            return Route([state.host for state in having], skipped)
        if len(skipped) == len(states):
            raise Unreachable(f"pool {pool.name}", f"no host answers: {', '.join(pool.hosts)}")
        answered = ", ".join(s.host.name for s in states if s.answered)
        raise OllamaError(
            f"model '{model}' is on no host of pool {pool.name} ({answered} answered); "
            f"pull it on one with `ollama pull {model}`, or pick another model"
        )

    async def models(self, pool: PoolSettings) -> tuple[list[ModelSummary], dict[str, list[str]]]:
        """The union of the pool's model lists (in priority order, each model once) and, per
        model, the hosts that have it. Raises Unreachable when no host answers."""
        states = await self.look(pool, loaded=False)
        listed: dict[str, ModelSummary] = {}
        where: dict[str, list[str]] = {}
        for state in states:
            for summary in state.models:
                listed.setdefault(summary.name, summary)
                where.setdefault(summary.name, []).append(state.host.name)
        if not any(state.answered for state in states):
            raise Unreachable(f"pool {pool.name}", f"no host answers: {', '.join(pool.hosts)}")
        return list(listed.values()), where
