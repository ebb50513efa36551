"""ToolServers against the test MCP server over stdio: tools, failures, hangs, deaths."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from ollama_tui.tools.servers import ToolServers, ToolSpec
from ollama_tui.tools.settings import McpServerSettings
from tests.tools.conftest import ROOT


async def toolbox_tools(servers: ToolServers) -> dict[str, ToolSpec]:
    specs, problems = await servers.tools(["toolbox"])
    assert problems == []
    return {spec.name: spec for spec in specs}


async def test_tools_are_listed_with_their_schemas(servers: ToolServers) -> None:
    tools = await toolbox_tools(servers)
    assert set(tools) == {"echo", "add", "fail", "hang", "big", "die"}
    assert tools["echo"].definition() == {
        "type": "function",
        "function": {
            "name": "echo",
            "description": "Say the text back.",
            "parameters": tools["echo"].parameters,
        },
    }
    assert tools["add"].parameters["required"] == ["a", "b"]


async def test_calls_answer_and_failures_are_results(servers: ToolServers) -> None:
    tools = await toolbox_tools(servers)
    echoed = await servers.call(tools["echo"], {"text": "hi"})
    assert (echoed.text, echoed.failed) == ("echo: hi", False)
    failed = await servers.call(tools["fail"], {})
    assert failed.failed and "fail" in failed.text
    wrong = await servers.call(tools["add"], {"a": "x"})
    assert wrong.failed
    big = await servers.call(tools["big"], {})
    assert len(big.text) == 1024 * 1024 and not big.failed


async def test_a_hanging_tool_is_given_up_after_the_timeout(servers: ToolServers) -> None:
    tools = await toolbox_tools(servers)
    servers.timeout = 0.5
    started = time.monotonic()
    hung = await servers.call(tools["hang"], {})
    assert time.monotonic() - started < 5
    assert (hung.text, hung.failed) == ("hang did not answer within 0.5 s (tools.timeout)", True)
    servers.timeout = 30
    assert (await servers.call(tools["echo"], {"text": "still here"})).text == "echo: still here"


async def test_a_server_that_dies_is_one_result_and_comes_back_on_next_use(
    servers: ToolServers,
) -> None:
    tools = await toolbox_tools(servers)
    died = await servers.call(tools["die"], {})
    assert died.failed
    assert died.text.startswith("the MCP server toolbox stopped during the call")
    again = await servers.call(tools["echo"], {"text": "again"})
    assert (again.text, again.failed) == ("echo: again", False)


async def test_servers_that_cannot_start_are_one_line_each(servers: ToolServers) -> None:
    specs, problems = await servers.tools(["missing", "broken", "toolbox", "unknown"])
    assert {spec.server for spec in specs} == {"toolbox"}
    assert problems == [
        "the MCP server missing could not start: no program 'no-such-mcp-server-program' "
        "(check [mcp.missing] command)",
        "the MCP server broken could not start: Connection closed (bad token)",
        "no MCP server named 'unknown' in the config ([mcp.NAME])",
    ]


async def test_a_server_that_never_answers_does_not_hold_up_the_app(
    servers: ToolServers,
) -> None:
    servers.settings["silent"] = McpServerSettings(
        "silent", command="python3", args=("-c", "import time; time.sleep(60)")
    )
    servers.timeout = 1
    started = time.monotonic()
    specs, problems = await servers.tools(["silent"])
    assert specs == [] and time.monotonic() - started < 5
    assert problems[0].startswith("the MCP server silent did not start within 1 s")


async def test_prompts_are_listed_and_filled_in(servers: ToolServers) -> None:
    prompts, problems = await servers.prompts(["toolbox"])
    assert problems == []
    (review,) = prompts
    assert (review.name, review.arguments, review.description) == (
        "review",
        ("topic",),
        "Ask for a careful review.",
    )
    text = await servers.prompt_text(review, {"topic": "the parser"})
    assert text == "Please review the parser carefully and list the problems you find."


async def test_aclose_stops_every_server(servers: ToolServers) -> None:
    await toolbox_tools(servers)
    connection = servers._connections["toolbox"]
    started = time.monotonic()
    await servers.aclose()
    assert connection.task is not None and connection.task.done()
    assert time.monotonic() - started < 6


@pytest.fixture
def http_toolbox(unused_url: str) -> Iterator[str]:
    """The test MCP server over streamable HTTP; its URL."""
    port = int(unused_url.rsplit(":", 1)[1])
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.mcp_servers.toolbox", "--http", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline, "the HTTP MCP server did not start"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(10)


async def test_a_server_over_streamable_http(http_toolbox: str) -> None:
    servers = ToolServers(
        {"web": McpServerSettings("web", url=http_toolbox, headers={"X-Team": "ml"})}, timeout=30
    )
    try:
        specs, problems = await servers.tools(["web"])
        assert problems == [] and "echo" in {spec.name for spec in specs}
        echo = next(spec for spec in specs if spec.name == "echo")
        assert (await servers.call(echo, {"text": "over http"})).text == "echo: over http"
    finally:
        await servers.aclose()
