"""ToolServers: the MCP servers of the config, started when first needed, stopped at quit.

Each server lives in a task of its own that holds its connection open (the SDK's transports
must be entered and left in one task). Nothing here waits without a limit: a server that does
not start, list or answer in time, or dies, becomes a one-line error, never a stuck app.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from ollama_tui.sanitize import one_line, sanitize
from ollama_tui.tools.settings import McpServerSettings

if TYPE_CHECKING:
    from mcp import Client

CONNECTION_CLOSED = -32000
"""The JSON-RPC error code the SDK gives pending requests when the server's stream ends."""
MAX_PAGES = 20
"""Pages of a tools or prompts listing read at most (a server that pages forever ends here)."""
STOP_SECONDS = 5.0


class ToolServerError(Exception):
    """A server that cannot be used, said in one line."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message, 300))


@dataclass(frozen=True)
class ToolSpec:
    """A tool as the model is offered it; `name` differs from the server's own name only when
    two servers offer tools of the same name."""

    server: str
    name: str
    remote_name: str
    description: str
    parameters: dict[str, Any]

    def definition(self) -> dict[str, Any]:
        """The tool in Ollama's `tools` list."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


@dataclass(frozen=True)
class ToolResult:
    """What a call gave back, as text; `failed` when it is an error (the text says which)."""

    text: str
    failed: bool = False


@dataclass(frozen=True)
class PromptSpec:
    """A prompt template a server offers."""

    server: str
    name: str
    description: str
    arguments: tuple[str, ...]
    required: tuple[str, ...]


@dataclass
class _Connection:
    settings: McpServerSettings
    ready: asyncio.Future[Client]
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    errlog: IO[str] | None = None
    tools: list[Any] | None = None

    @property
    def alive(self) -> bool:
        return self.task is not None and not self.task.done()

    def written(self) -> int:
        """How much the server has written to stderr so far."""
        if self.errlog is None:
            return 0
        with suppress(OSError, ValueError):
            return self.errlog.seek(0, 2)
        return 0

    def last_words(self, since: int = 0) -> str:
        """The last line the server wrote to stderr (after `since`), to say why it stopped."""
        if self.errlog is None:
            return ""
        with suppress(OSError, ValueError):
            self.errlog.seek(max(since, self.written() - 4000))
            lines = [line for line in self.errlog.read().splitlines() if line.strip()]
            return f" ({one_line(lines[-1], 160)})" if lines else ""
        return ""


class ToolServers:
    """The configured MCP servers, each started on first use and kept until `aclose`."""

    def __init__(self, servers: Mapping[str, McpServerSettings], *, timeout: float) -> None:
        self.settings = dict(servers)
        self.timeout = timeout
        self._connections: dict[str, _Connection] = {}

    async def tools(self, names: Sequence[str]) -> tuple[list[ToolSpec], list[str]]:
        """The tools of the servers named, and one line per server that could not list them."""
        specs: list[ToolSpec] = []
        problems: list[str] = []
        taken: set[str] = set()
        for server in names:
            try:
                listed = await self._tools_of(server)
            except ToolServerError as error:
                problems.append(str(error))
                continue
            for tool in listed:
                name = tool.name if tool.name not in taken else f"{server}_{tool.name}"
                taken.add(name)
                specs.append(
                    ToolSpec(
                        server=server,
                        name=name,
                        remote_name=tool.name,
                        description=sanitize(tool.description or ""),
                        parameters=dict(tool.input_schema or {"type": "object"}),
                    )
                )
        return specs, problems

    async def call(self, spec: ToolSpec, arguments: dict[str, Any]) -> ToolResult:
        """Run one tool; every failure (of the tool or of its server) is a failed result."""
        try:
            connection = await self._connected(spec.server)
        except ToolServerError as error:
            return ToolResult(str(error), failed=True)
        client = connection.ready.result()
        assert connection.task is not None
        mark = connection.written()
        call = asyncio.ensure_future(client.call_tool(spec.remote_name, arguments))
        try:
            done, _ = await asyncio.wait(
                {call, connection.task}, timeout=self.timeout, return_when="FIRST_COMPLETED"
            )
        finally:
            if not call.done():
                call.cancel()
        stopped = ToolResult(
            f"the MCP server {spec.server} stopped during the call{connection.last_words(mark)}",
            failed=True,
        )
        if call in done:
            try:
                result = call.result()
            except Exception as error:
                if _closed(error):
                    connection.stop.set()  # the next use starts the server again
                    return stopped
                return ToolResult(f"{spec.name} failed: {_reason(error)}", failed=True)
            return ToolResult(_result_text(result), failed=bool(result.is_error))
        if not connection.alive:
            return stopped
        return ToolResult(
            f"{spec.name} did not answer within {self.timeout:g} s (tools.timeout)", failed=True
        )

    async def prompts(self, names: Sequence[str]) -> tuple[list[PromptSpec], list[str]]:
        """The prompt templates of the servers named, and one line per server that failed."""
        found: list[PromptSpec] = []
        problems: list[str] = []
        for server in names:
            try:
                client = (await self._connected(server)).ready.result()
                listed = await self._pages(server, "prompts", client.list_prompts)
            except ToolServerError as error:
                problems.append(str(error))
                continue
            for prompt in listed:
                arguments = prompt.arguments or []
                found.append(
                    PromptSpec(
                        server=server,
                        name=sanitize(prompt.name),
                        description=sanitize(prompt.description or ""),
                        arguments=tuple(argument.name for argument in arguments),
                        required=tuple(a.name for a in arguments if a.required),
                    )
                )
        return found, problems

    async def prompt_text(self, spec: PromptSpec, arguments: dict[str, str]) -> str:
        """The text of a prompt filled in with `arguments`, its messages one after another."""
        client = (await self._connected(spec.server)).ready.result()
        try:
            result = await asyncio.wait_for(client.get_prompt(spec.name, arguments), self.timeout)
        except TimeoutError:
            raise ToolServerError(
                f"the MCP server {spec.server} did not send the prompt {spec.name} within "
                f"{self.timeout:g} s"
            ) from None
        except Exception as error:
            raise ToolServerError(f"prompt {spec.name}: {_reason(error)}") from None
        return "\n\n".join(_content_text(message.content) for message in result.messages)

    async def aclose(self) -> None:
        """Stop every server (each closes its process or session), waiting a few seconds."""
        connections = list(self._connections.values())
        self._connections.clear()
        for connection in connections:
            connection.stop.set()
        tasks = [c.task for c in connections if c.task is not None and not c.task.done()]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=STOP_SECONDS)
            for task in late:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for connection in connections:
            if connection.errlog is not None:
                connection.errlog.close()

    async def _tools_of(self, server: str) -> list[Any]:
        connection = await self._connected(server)
        if connection.tools is None:
            client = connection.ready.result()
            connection.tools = await self._pages(server, "tools", client.list_tools)
        return connection.tools

    async def _pages(self, server: str, kind: str, fetch: Any) -> list[Any]:
        """Every item of a paged listing (tools or prompts), within the timeout."""
        items: list[Any] = []
        cursor: str | None = None
        try:
            async with asyncio.timeout(self.timeout):
                for _ in range(MAX_PAGES):
                    page = await fetch(cursor=cursor)
                    items.extend(getattr(page, kind))
                    cursor = page.next_cursor
                    if cursor is None:
                        break
        except TimeoutError:
            raise ToolServerError(
                f"the MCP server {server} did not list its {kind} within {self.timeout:g} s"
            ) from None
        except Exception as error:
            if _closed(error):
                self._connections[server].stop.set()
            raise ToolServerError(f"the MCP server {server}: {_reason(error)}") from None
        return items

    async def _connected(self, server: str) -> _Connection:
        """The server's live connection, started now if it is not running."""
        settings = self.settings.get(server)
        if settings is None:
            raise ToolServerError(f"no MCP server named {server!r} in the config ([mcp.NAME])")
        connection = self._connections.get(server)
        if connection is None or connection.stop.is_set() or not connection.alive:
            if connection is not None:
                _retire(connection)
            connection = _Connection(settings, asyncio.get_running_loop().create_future())
            self._connections[server] = connection
            connection.task = asyncio.create_task(self._serve(connection), name=f"mcp-{server}")
        try:
            await asyncio.wait_for(asyncio.shield(connection.ready), self.timeout)
        except TimeoutError:
            connection.task.cancel()
            raise ToolServerError(
                f"the MCP server {server} did not start within {self.timeout:g} s "
                f"({settings.describe()}){connection.last_words()}"
            ) from None
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if connection.ready.cancelled() and task is not None and not task.cancelling():
                # another caller gave up on this start, or the app is stopping the servers
                raise ToolServerError(
                    f"the MCP server {server} was stopped while starting"
                ) from None
            raise
        return connection

    async def _serve(self, connection: _Connection) -> None:
        """Hold the server's connection open until `stop` (or until the server goes)."""
        from mcp import Client

        settings = connection.settings
        try:
            async with AsyncExitStack() as stack:
                client = await stack.enter_async_context(Client(self._transport(connection, stack)))
                connection.ready.set_result(client)
                await connection.stop.wait()
        except asyncio.CancelledError:
            connection.ready.cancel()  # given up on (timeout) or stopped at quit
            raise
        except BaseException as error:
            if not connection.ready.done():
                reason = _start_failure(settings, error) + connection.last_words()
                connection.ready.set_exception(ToolServerError(reason))

    def _transport(self, connection: _Connection, stack: AsyncExitStack) -> Any:
        settings = connection.settings
        if settings.url:
            from mcp.client.streamable_http import streamable_http_client
            from mcp.shared._httpx_utils import create_mcp_http_client

            http = create_mcp_http_client(headers=settings.headers or None)
            stack.push_async_callback(http.aclose)
            return streamable_http_client(settings.url, http_client=http)
        from mcp import StdioServerParameters
        from mcp.client.stdio import stdio_client

        # The server's stderr must not reach the terminal the app draws on; its last line
        # says why a server stopped, so the file outlives the task (aclose closes it).
        connection.errlog = tempfile.TemporaryFile(  # noqa: SIM115
            "w+", encoding="utf-8", errors="replace"
        )
        parameters = StdioServerParameters(
            command=settings.command,
            args=list(settings.args),
            env=settings.env or None,
            cwd=settings.cwd,
        )
        return stdio_client(parameters, errlog=connection.errlog)


def _retire(connection: _Connection) -> None:
    """Let a stopped connection finish on its own, then close its stderr file."""
    connection.stop.set()
    errlog = connection.errlog
    if errlog is None:
        return
    if connection.task is None or connection.task.done():
        errlog.close()
    else:
        connection.task.add_done_callback(lambda _: errlog.close())


def _closed(error: BaseException) -> bool:
    """Whether `error` says the connection to the server is gone."""
    return any(getattr(leaf, "code", None) == CONNECTION_CLOSED for leaf in _leaves(error))


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


def _reason(error: BaseException) -> str:
    """The most telling of the errors inside `error` (task groups nest them), in a few words."""
    leaves = [e for e in _leaves(error) if not isinstance(e, asyncio.CancelledError)] or [error]
    leaf = leaves[0]
    if isinstance(leaf, OSError) and leaf.strerror:
        return leaf.strerror
    return str(leaf) or type(leaf).__name__


def _start_failure(settings: McpServerSettings, error: BaseException) -> str:
    leaf = next(iter(e for e in _leaves(error) if not isinstance(e, asyncio.CancelledError)), None)
    if isinstance(leaf, FileNotFoundError) and settings.command:
        return (
            f"the MCP server {settings.name} could not start: no program {settings.command!r} "
            f"(check [mcp.{settings.name}] command)"
        )
    return f"the MCP server {settings.name} could not start: {_reason(error)}"


def _content_text(block: Any) -> str:
    """One block of a tool result or prompt message as text; other media are named."""
    kind = getattr(block, "type", "")
    if kind == "text":
        return str(block.text)
    if kind in ("image", "audio"):
        return f"[{kind}: {getattr(block, 'mime_type', '') or 'unknown type'}]"
    if kind == "resource":
        resource = block.resource
        text = getattr(resource, "text", None)
        return str(text) if text is not None else f"[resource: {resource.uri}]"
    if kind == "resource_link":
        return f"[resource: {block.uri}]"
    return f"[{kind or 'unknown'} content]"


def _result_text(result: Any) -> str:
    parts = [_content_text(block) for block in result.content or []]
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    return "\n".join(parts)
