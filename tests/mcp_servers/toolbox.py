"""An MCP server for tests (stdio): tools that answer, fail, hang, die and return 1 MB.

Run it as `python -m tests.mcp_servers.toolbox` (or with `--http PORT` to serve streamable
HTTP at http://127.0.0.1:PORT/mcp); the app's config names it like any server:

    [mcp.toolbox]
    command = "python"
    args = ["-m", "tests.mcp_servers.toolbox"]
"""

from __future__ import annotations

import os
import sys
import time

from mcp.server import MCPServer

server = MCPServer("toolbox")

ONE_MEGABYTE = 1024 * 1024


@server.tool()
def echo(text: str) -> str:
    """Say the text back."""
    return f"echo: {text}"


@server.tool()
def add(a: int, b: int) -> str:
    """Add two whole numbers."""
    return str(a + b)


@server.tool()
def fail(reason: str = "it failed on purpose") -> str:
    """Always fails with the reason given."""
    raise ValueError(reason)


@server.tool()
def hang(seconds: float = 3600.0) -> str:
    """Never answers in time."""
    time.sleep(seconds)
    return "woke up"


@server.tool()
def big() -> str:
    """Return one megabyte of text."""
    return "0123456789abcdef" * (ONE_MEGABYTE // 16)


@server.tool()
def die() -> str:
    """End the server's process mid-call, as a crash would."""
    os._exit(3)


@server.prompt()
def review(topic: str = "this code") -> str:
    """Ask for a careful review."""
    return f"Please review {topic} carefully and list the problems you find."


if __name__ == "__main__":
    if sys.argv[1:2] == ["--http"]:  # streamable HTTP on 127.0.0.1:PORT/mcp
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
