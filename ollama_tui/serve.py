"""`ollama-tui serve`: the app in a browser, one app process per tab, through textual-serve.

Safe by default: the server listens on loopback. Any other address needs a token, which every
request must carry (in the link the server prints, then in a cookie), so nobody else on the
network reaches the conversations or the Ollama server behind them. Without a token, requests
must name a loopback host (a page that rebinds its own DNS name to 127.0.0.1 is refused), and a
websocket may be opened only from the server's own pages.

textual-serve is an optional extra (`pip install 'ollama-tui[web]'`); the command line imports
this module only once it knows the extra is installed.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import secrets
import shlex
import socket
import sys
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp_jinja2
from aiohttp import web
from textual_serve.server import Server

_QUIT_TIMEOUT = 15.0
"""Seconds the tabs' apps get to quit when the server stops."""
_REFUSED = "ollama-tui: open the link that ollama-tui serve printed (it carries the token)\n"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_loopback(host: str) -> bool:
    """Whether `host` is an address (or the name localhost) only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def demanded_token(host: str, given: str | None, public_url: str | None = None) -> str | None:
    """The token requests must carry: the one given, else a random one when the server listens
    beyond loopback or is reached through a public URL (a proxy), else none."""
    public_host = urlsplit(public_url).hostname if public_url else None
    reachable = not is_loopback(host) or (public_host is not None and not is_loopback(public_host))
    if given is None and reachable:
        return secrets.token_urlsafe(24)
    return given


def app_command(argv: list[str]) -> str:
    """The shell command every tab runs: this Python and this package, with `argv` (the global
    flags the serve command was given, so every tab has the same data dir, config and server)."""
    return shlex.join([sys.executable, "-m", "ollama_tui", *argv])


def browser_url(*, host: str, port: int, public_url: str | None, token: str | None) -> str:
    """The link to open: the public URL, else the address listened on (this machine's name
    when that is every address), with the token when there is one."""
    if public_url:
        base = public_url.rstrip("/")
    else:
        if host in ("0.0.0.0", "::", ""):
            host = socket.gethostname()
        elif ":" in host:
            host = f"[{host}]"
        base = f"http://{host}:{port}"
    return f"{base}/?token={quote(token)}" if token else f"{base}/"


class BrowserServer(Server):
    """textual-serve's server with a gate in front of every route (page, websocket, static
    files, downloads) and page links that follow the address the browser used."""

    def __init__(
        self, command: str, *, host: str, port: int, public_url: str | None, token: str | None
    ) -> None:
        super().__init__(command, host=host, port=port, title="ollama-tui", public_url=public_url)
        self.token = token
        self.link = browser_url(host=host, port=port, public_url=public_url, token=token)
        self._public_url = public_url.rstrip("/") if public_url else None
        self._cookie = f"ollama-tui-token-{port}"
        self._own_hosts = {urlsplit(public_url).netloc} if public_url else set()
        self._tabs: set[asyncio.Task[object]] = set()
        """The tasks serving a tab's websocket, which runs the tab's app."""

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self._gate)
        return app

    @web.middleware
    async def _gate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Refuse (403) a request without the token, or, with no token set, one whose Host is
        not loopback; refuse a websocket opened from another site's page."""
        offered = request.query.get("token") or request.cookies.get(self._cookie, "")
        if self.token is not None:
            if not hmac.compare_digest(offered.encode(), self.token.encode()):
                raise web.HTTPForbidden(text=_REFUSED)
        elif not self._names_loopback(request.host):
            raise web.HTTPForbidden(text="ollama-tui: unknown Host; open the printed link\n")
        origin = request.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc not in {request.host, *self._own_hosts}:
            raise web.HTTPForbidden(text="ollama-tui: refused a request from another site\n")
        if request.path == "/ws":
            return await self._serve_tab(request, handler)
        response = await handler(request)
        if self.token is not None and "token" in request.query and not response.prepared:
            response.set_cookie(
                self._cookie,
                self.token,
                httponly=True,
                samesite="Strict",
                secure=(self._public_url or "").startswith("https:"),
            )
        return response

    def _names_loopback(self, host_header: str) -> bool:
        """Whether a Host header names this machine (or the public URL's host), so that a page
        of another site whose name now points at 127.0.0.1 is not served."""
        if host_header in self._own_hosts:
            return True
        try:
            name = urlsplit(f"//{host_header}").hostname
        except ValueError:
            return False
        return name is not None and is_loopback(name)

    async def _serve_tab(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        tab = asyncio.current_task()
        assert tab is not None
        self._tabs.add(tab)
        try:
            return await handler(request)
        finally:
            self._tabs.discard(tab)

    async def on_shutdown(self, app: web.Application) -> None:
        """Ctrl+C: every tab's app is told to quit (what a reply still arriving has sent is
        kept) and waited for; textual-serve alone would leave them running for a minute."""
        tabs = set(self._tabs)
        for tab in tabs:
            tab.cancel()  # textual-serve's handler then sends the app its "quit"
        if tabs:
            await asyncio.wait(tabs, timeout=_QUIT_TIMEOUT)

    @aiohttp_jinja2.template("app_index.html")
    async def handle_index(self, request: web.Request) -> dict[str, Any]:
        """The page, whose websocket and static links use the public URL, else the address the
        browser used (textual-serve would use the listening address, 0.0.0.0 included)."""
        base = self._public_url or f"{request.scheme}://{request.host}"
        websocket_scheme = "wss" if base.startswith("https:") else "ws"
        try:
            font_size = int(request.query.get("fontsize", "16"))
        except ValueError:
            font_size = 16
        return {
            "font_size": font_size,
            "app_websocket_url": f"{websocket_scheme}:{base.split(':', 1)[1]}/ws",
            "config": {"static": {"url": f"{base}/static/"}},
            "application": {"name": self.title},
        }

    async def on_startup(self, app: web.Application) -> None:
        # print, not the console: a long link must not be wrapped when the output is a pipe
        warning = " (anyone with it can read every conversation)" if self.token else ""
        print(f"ollama-tui in a browser: {self.link}{warning}", flush=True)
        print("Each tab runs its own app on the same conversations. Ctrl+C stops.", flush=True)


def serve(
    *, argv: list[str], host: str, port: int, public_url: str | None, token: str | None
) -> None:
    """Run the server until Ctrl+C or SIGTERM; OSError when it cannot listen."""
    BrowserServer(
        app_command(argv), host=host, port=port, public_url=public_url, token=token
    ).serve()
