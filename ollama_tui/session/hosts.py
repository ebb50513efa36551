"""The Ollama servers: one client per host, their transport warnings, probing, and the watcher
that tracks whether the chosen host (or each host of the chosen pool) answers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from time import monotonic
from typing import TYPE_CHECKING

from ollama_tui.config import HostSettings, PoolSettings, Settings, active_host, all_hosts
from ollama_tui.ollama import OllamaError
from ollama_tui.sanitize import sanitize

if TYPE_CHECKING:
    from ollama_tui.ollama.client import OllamaClient

RECONNECT_DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0)
"""Seconds between tries while the server does not answer."""
HEALTH_CHECK_SECONDS = 20.0
"""Seconds between checks while it does."""
PROBE_SECONDS = 2.0
"""How long the host list waits for each host to say which Ollama it runs."""


def request_headers(host: HostSettings) -> dict[str, str]:
    """The configured extra headers, plus the bearer token when there is one."""
    headers = dict(host.headers)
    if host.api_key:
        headers["Authorization"] = f"Bearer {host.api_key}"
    return headers


def transport_warning(host: HostSettings) -> str:
    """A one-line warning when the connection to the server can be read or altered, else ""."""
    secure = host.url.startswith("https://")
    if secure and not host.verify_tls and host.ca_bundle is None:
        return "TLS not verified"
    loopback = host.url.startswith(("http://127.", "http://localhost", "http://[::1]"))
    if host.api_key and not secure and not loopback:
        return "API key sent unencrypted"
    return ""


ConnectionReport = Callable[[str | None], Awaitable[None]]
"""Told after each check: the server's version, or None when it did not answer (for a pool:
the version of its first host that answers)."""

Target = HostSettings | PoolSettings
"""What replies can be sent to: one host, or a pool of them."""


class Hosts:
    """The servers the app can talk to, and the one new replies go to."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.current = active_host(settings)
        """The server new replies go to (for a pool: its first host that answers, the one the
        model list and details come from); each conversation remembers the one it used."""
        self.pool: PoolSettings | None = None
        """The pool chosen instead of a single host, if any."""
        if not settings.host_from_environment:
            self.pool = settings.pools.get(settings.default_host)
        self.health: dict[str, str | None] = {}
        """Each watched host's version at its last check; None when it did not answer."""
        self._clients: dict[str, OllamaClient] = {}
        self._check_now = asyncio.Event()

    @property
    def client(self) -> OllamaClient:
        """The client of the current host."""
        return self.client_for(self.current)

    def client_for(self, host: HostSettings) -> OllamaClient:
        """One client per host, made when first needed."""
        if host.name not in self._clients:
            from ollama_tui.ollama.client import OllamaClient  # httpx: after the first frame

            self._clients[host.name] = OllamaClient(
                host.url,
                connect_timeout=self.settings.connect_timeout,
                stall_timeout=self.settings.stall_timeout,
                headers=request_headers(host),
                verify=str(host.ca_bundle) if host.ca_bundle else host.verify_tls,
            )
        return self._clients[host.name]

    def all(self) -> list[HostSettings]:
        """Every server the user can switch to, the starting one first."""
        return all_hosts(self.settings)

    def pools(self) -> list[PoolSettings]:
        """Every pool the user can switch to."""
        return list(self.settings.pools.values())

    def named(self, name: str) -> Target | None:
        """The host or pool of that name."""
        found = next((host for host in self.all() if host.name == name), None)
        return found or self.settings.pools.get(name)

    def members(self, target: Target | None = None) -> list[HostSettings]:
        """The hosts behind `target` (default: the chosen one), in priority order."""
        target = target or self.pool or self.current
        if isinstance(target, PoolSettings):
            return [self.settings.hosts[name] for name in target.hosts]
        return [target]

    @property
    def selected_name(self) -> str:
        """The name a conversation remembers: the pool's, or the host's."""
        return self.pool.name if self.pool else self.current.name

    @property
    def label(self) -> str:
        """How the status line names the chosen host or pool."""
        if self.pool is not None:
            return f"{self.pool.name} ({', '.join(self.pool.hosts)})"
        host = self.current
        return f"{host.name} {host.url}" if host.name in self.settings.hosts else host.url

    @property
    def warning(self) -> str:
        return next(filter(None, map(transport_warning, self.members())), "")

    def use(self, target: Target) -> bool:
        """Send new replies to `target`; replies already streaming finish where they started.
        Returns whether the choice changed."""
        if target.name == self.selected_name:
            return False
        if isinstance(target, PoolSettings):
            self.pool, self.current = target, self.members(target)[0]
        else:
            self.pool, self.current = None, target
        return True

    def is_down(self, host: HostSettings) -> bool:
        """Whether the host did not answer its last check."""
        return host.name in self.health and self.health[host.name] is None

    def mark_down(self, host: HostSettings) -> None:
        """A request found the host unreachable: the watcher looks at it again soon."""
        self.health[host.name] = None
        self.check_now()

    async def probe(self, host: HostSettings) -> str | None:
        """The host's Ollama version, or None when it does not answer within a moment."""
        try:
            version = await asyncio.wait_for(self.client_for(host).version(), PROBE_SECONDS)
        except (OllamaError, TimeoutError):
            return None
        return sanitize(version)

    def check_now(self) -> None:
        """After a failure, let the connection watcher look again at once."""
        self._check_now.set()

    async def _version(self, host: HostSettings) -> str | None:
        """The host's version, bounded so one silent host of a pool holds up no other's check."""
        try:
            async with asyncio.timeout(self.settings.connect_timeout + PROBE_SECONDS):
                return sanitize(await self.client_for(host).version())
        except (OllamaError, TimeoutError):
            return None

    async def watch(self, report: ConnectionReport) -> None:
        """Check the chosen host, or each host of the chosen pool, for ever: one /api/version
        each, after a failure with backoff, else now and then. A pool's first host that
        answers becomes `current`."""
        failures: dict[str, int] = {}
        due: dict[str, float] = {}
        while True:
            members = self.members()
            now = monotonic()
            checked = [host for host in members if due.get(host.name, 0.0) <= now]
            versions = await asyncio.gather(*(self._version(host) for host in checked))
            for host, version in zip(checked, versions, strict=True):
                self.health[host.name] = version
                count = failures[host.name] = 0 if version else failures.get(host.name, 0) + 1
                delay = RECONNECT_DELAYS[min(count, len(RECONNECT_DELAYS)) - 1] if count else 0
                due[host.name] = monotonic() + (delay or HEALTH_CHECK_SECONDS)
            answering = [host for host in members if self.health.get(host.name)]
            if self.pool is not None and answering:
                self.current = answering[0]
            await report(self.health.get(answering[0].name) if answering else None)
            self._check_now.clear()
            wait = min(due[host.name] for host in members) - monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._check_now.wait(), max(wait, 0.0))
                due.clear()  # asked to look again at once

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
