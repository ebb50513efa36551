"""The Ollama servers: one client per host, their transport warnings, probing, and the watcher
that tracks whether the current one answers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ollama_tui.config import HostSettings, Settings, active_host, all_hosts
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
"""Told after each check: the server's version, or None when it did not answer."""


class Hosts:
    """The servers the app can talk to, and the one new replies go to."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.current = active_host(settings)
        """The server new replies go to; each conversation remembers the one it used."""
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

    def named(self, name: str) -> HostSettings | None:
        return next((host for host in self.all() if host.name == name), None)

    @property
    def label(self) -> str:
        """How the status line names the current host."""
        host = self.current
        return f"{host.name} {host.url}" if host.name in self.settings.hosts else host.url

    @property
    def warning(self) -> str:
        return transport_warning(self.current)

    def use(self, host: HostSettings) -> bool:
        """Send new replies to `host`; replies already streaming finish where they started.
        Returns whether the host changed."""
        if host.name == self.current.name:
            return False
        self.current = host
        return True

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

    async def watch(self, report: ConnectionReport) -> None:
        """Check the current host for ever: after a failure with backoff, else now and then."""
        failures = 0
        while True:
            try:
                version: str | None = sanitize(await self.client.version())
            except OllamaError:
                version = None
            await report(version)
            if version is None:
                delay = RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)]
                failures += 1
            else:
                failures = 0
                delay = HEALTH_CHECK_SECONDS
            self._check_now.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._check_now.wait(), delay)

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
