"""OLLAMA_HOST parsing, exactly as Ollama's own Go client does it (`envconfig.Host()`).

Two deliberate differences make the result something an HTTP client can connect to: an empty
host (`:1234`) and the bind-all addresses `0.0.0.0` / `::` become loopback, as Ollama's
`ConnectableHost()` does; and values Go would turn into a URL no client can use (another scheme,
a host with spaces or `@` in it) raise ValueError instead.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from urllib.parse import quote

DEFAULT_HOST = "http://127.0.0.1:11434"
_DEFAULT_PORTS = {"http": "80", "https": "443"}
_HOSTNAME = re.compile(r"[\w.-]+")  # letters (any script), digits, "_", "." and "-"
_PORT = re.compile(r"[0-9]+")
# Characters Go's url.URL leaves unescaped in a path, besides letters, digits and "_.-~".
_PATH_SAFE = "$&+,/:;=@"


def parse_ollama_host(value: str | None) -> str:
    """The base URL for an OLLAMA_HOST-style value, e.g. `1.2.3.4` → `http://1.2.3.4:11434`.

    None or blank gives the local default. Raises ValueError, with a short reason, for a value
    that cannot name an Ollama server.
    """
    text = (value or "").strip().strip("\"'").strip()
    default_port = "11434"
    scheme, separator, hostport = text.partition("://")
    if not separator:
        scheme, hostport = "http", text
        if text == "ollama.com":
            scheme, hostport = "https", "ollama.com:443"
    elif scheme in _DEFAULT_PORTS:
        default_port = _DEFAULT_PORTS[scheme]
    else:
        raise ValueError(f'unsupported scheme "{scheme}"; use http or https')

    hostport, _, path = hostport.partition("/")
    try:
        host, port = _split_host_port(hostport)
    except ValueError:
        host, port = "127.0.0.1", default_port
        if (ip := _parse_ip(hostport.strip("[]"))) is not None:
            host = ip
        elif hostport:
            host = hostport
    # Go takes any integer 0-65535, even a signed "+80"; plain digits only keep the URL usable.
    if not _PORT.fullmatch(port) or int(port) > 65535:
        port = default_port

    host = _connectable(host)
    if ":" in host:
        if _parse_ip(host) is None:
            raise ValueError(f'invalid address "{host}"')
        host = f"[{host}]"
    elif not _HOSTNAME.fullmatch(host):
        raise ValueError(f'invalid host name "{host}"')

    path = path.rstrip("/")
    return f"{scheme}://{host}:{port}" + (f"/{quote(path, safe=_PATH_SAFE)}" if path else "")


def _split_host_port(hostport: str) -> tuple[str, str]:
    """Go's `net.SplitHostPort`: `host:port` or `[ipv6]:port`; ValueError when there is no port."""
    colon = hostport.rfind(":")
    if colon < 0:
        raise ValueError("missing port")
    start = end = 0
    if hostport.startswith("["):
        close = hostport.find("]")
        if close < 0 or close + 1 != colon:
            raise ValueError("malformed brackets or missing port")
        host = hostport[1:close]
        start, end = 1, close + 1
    else:
        host = hostport[:colon]
        if ":" in host:
            raise ValueError("too many colons")
    if "[" in hostport[start:] or "]" in hostport[end:]:
        raise ValueError("unexpected bracket")
    return host, hostport[colon + 1 :]


def _parse_ip(text: str) -> str | None:
    """Go's `net.ParseIP(text).String()`, or None when `text` is not an IP address."""
    if "%" in text:  # Go's ParseIP takes no IPv6 zone
        return None
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


def _connectable(host: str) -> str:
    """Loopback for an empty host or a bind-all address, like Ollama's `ConnectableHost()`."""
    ip = _parse_ip(host)
    if not host or ip == "0.0.0.0":
        return "127.0.0.1"
    return "::1" if ip == "::" else host


def request_headers(headers: Mapping[str, str], api_key: str) -> dict[str, str]:
    """The configured extra headers, plus the bearer token when there is one."""
    sent = dict(headers)
    if api_key:
        sent["Authorization"] = f"Bearer {api_key}"
    return sent
