"""Fixtures for the tool tests: the test MCP server's settings, and servers to call."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ollama_tui.tools.servers import ToolServers
from ollama_tui.tools.settings import McpServerSettings

ROOT = Path(__file__).resolve().parents[2]
TOOLBOX = McpServerSettings(
    "toolbox", command=sys.executable, args=("-m", "tests.mcp_servers.toolbox"), cwd=ROOT
)


@pytest.fixture
async def servers() -> AsyncIterator[ToolServers]:
    """The test MCP server (started on first use), a missing one, and one that fails at once."""
    servers = ToolServers(
        {
            "toolbox": TOOLBOX,
            "missing": McpServerSettings("missing", command="no-such-mcp-server-program"),
            "broken": McpServerSettings(
                "broken",
                command=sys.executable,
                args=("-c", "import sys; sys.stderr.write('bad token\\n'); sys.exit(1)"),
            ),
        },
        timeout=30,
    )
    yield servers
    await servers.aclose()
