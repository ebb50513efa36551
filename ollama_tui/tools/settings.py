"""The config's `[mcp.NAME]` tables (one MCP server each) and its `[tools]` table."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_NAME = re.compile(r"[A-Za-z0-9_-]{1,40}")
_STDIO_KEYS = ("command", "args", "env", "cwd")
_HTTP_KEYS = ("url", "headers")


@dataclass(frozen=True)
class McpServerSettings:
    """How to reach one MCP server: a command to run (stdio) or a URL (streamable HTTP)."""

    name: str
    command: str = ""
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict, repr=False)

    def describe(self) -> str:
        """Where the server is, in a few words, for lists and errors."""
        return self.url or " ".join([self.command, *self.args])


@dataclass
class ToolSettings:
    """The `[tools]` table: how far the model may go with tools in one reply."""

    max_rounds: int = 8
    """Rounds of calls in one reply before the loop stops."""
    result_limit: int = 32 * 1024
    """Bytes of a tool's result that go to the model and the conversation; the rest is cut."""
    timeout: float = 60.0
    """Seconds a server may take to start, to list its tools, or to answer one call."""


def _at_least(kind: type[int] | type[float], minimum: float, expected: str) -> Check:
    def check(value: object) -> int | float:
        number_types = (int,) if kind is int else (int, float)
        if isinstance(value, bool) or not isinstance(value, number_types) or value < minimum:
            raise ValueError(expected)
        return kind(value)

    return check


Check = Callable[[object], Any]
"""Checks one config value; ValueError says what was expected."""
TOOL_CHECKS: dict[str, Check] = {
    "max_rounds": _at_least(int, 1, "a whole number of at least 1"),
    "result_limit": _at_least(int, 1024, "a whole number of bytes of at least 1024"),
    "timeout": _at_least(float, 0.1, "a number of seconds of at least 0.1"),
}


def server_names(value: object) -> list[str]:
    """`[defaults] tools`: names of [mcp.NAME] tables (that they exist is checked later)."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError('an array of [mcp.NAME] server names, e.g. ["files"]')
    return list(value)


def check_default_tools(names: list[str], servers: dict[str, McpServerSettings]) -> None:
    """`[defaults] tools` must name servers of the config."""
    for name in names:
        if name not in servers:
            known = ", ".join(servers) or "none defined"
            raise ValueError(
                f'defaults.tools: "{name}" is not the name of an [mcp.NAME] table ({known})'
            )


def mcp_servers(value: object, config_dir: Path) -> dict[str, McpServerSettings]:
    """The `[mcp.NAME]` tables; ValueError names the dotted key and what is wrong."""
    if not isinstance(value, dict):
        raise ValueError('mcp: expected tables such as [mcp.files] with command = "…"')
    return {name: _server(name, table, config_dir) for name, table in value.items()}


def _server(name: str, table: object, config_dir: Path) -> McpServerSettings:
    where = f"mcp.{name}"
    if not _NAME.fullmatch(name):
        raise ValueError(f"{where}: a server name is 1 to 40 letters, digits, - or _")
    if not isinstance(table, dict):
        raise ValueError(f"{where}: expected a table ([{where}])")
    for key in table:
        if key not in _STDIO_KEYS + _HTTP_KEYS:
            known = ", ".join(_STDIO_KEYS + _HTTP_KEYS)
            raise ValueError(f"{where}.{key}: unknown key (known: {known})")
    if ("command" in table) == ("url" in table):
        raise ValueError(
            f'{where}: give either command = "…" (a program speaking MCP over stdio) '
            'or url = "https://…" (streamable HTTP)'
        )
    mixed = [key for key in (_HTTP_KEYS if "command" in table else _STDIO_KEYS) if key in table]
    if mixed:
        raise ValueError(
            f"{where}.{mixed[0]}: not used with " + ("command" if "command" in table else "url")
        )
    if "url" in table:
        url = _text(table["url"], f"{where}.url")
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"{where}.url: expected an http:// or https:// address")
        return McpServerSettings(name, url=url, headers=_strings(table, "headers", where))
    args = table.get("args", [])
    if not isinstance(args, list) or not all(isinstance(arg, str) for arg in args):
        raise ValueError(f"{where}.args: expected an array of strings")
    cwd = table.get("cwd")
    return McpServerSettings(
        name,
        command=_text(table["command"], f"{where}.command"),
        args=tuple(args),
        env=_strings(table, "env", where),
        cwd=config_dir / Path(_text(cwd, f"{where}.cwd")).expanduser() if cwd is not None else None,
    )


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: expected a non-empty string")
    return value


def _strings(table: dict[str, Any], key: str, where: str) -> dict[str, str]:
    value = table.get(key, {})
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError(f"{where}.{key}: expected a table of strings")
    return dict(value)
