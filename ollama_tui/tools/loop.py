"""The tool loop of one reply: the model's calls run only with the user's consent, their
results go back as tool messages, and the model continues until it answers without calls,
the round limit is reached or the user stops it. Every step is in the conversation as it
happens, so stopping keeps what happened."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ollama_tui.chat.conversation import Conversation, Message, MessageState
from ollama_tui.chat.tools import (
    RAN,
    REFUSED_TEXT,
    ROUND_LIMIT_TEXT,
    STOPPED_TEXT,
    Decision,
    ToolCall,
    capped,
    unknown_tool_text,
)
from ollama_tui.ollama import ChatDone, ChatEvent, ContentDelta, ThinkingDelta, ToolCalls
from ollama_tui.sanitize import one_line
from ollama_tui.tools.servers import ToolServers, ToolSpec
from ollama_tui.tools.settings import ToolSettings

if TYPE_CHECKING:
    from ollama_tui.ollama import OllamaClient

AskConsent = Callable[[ToolCall, str], Awaitable[Decision]]
"""Asks the user about one call (with the tool's description): Decision.ONCE, ALWAYS or
REFUSED."""
StreamReply = Callable[[Message, list[dict[str, Any]] | None], Awaitable[None]]
"""Streams one reply into the message, offering these tool definitions; raises on failure."""
Notify = Callable[[str], None]
"""Shows one line to the user."""


class ToolRounds:
    """The tools a conversation offers and the rounds of calls of one reply."""

    def __init__(
        self,
        conversation: Conversation,
        servers: ToolServers | None,
        settings: ToolSettings,
        *,
        consent: AskConsent,
        notify: Notify,
        on_result: Callable[[ToolCall, Message], None] | None = None,
    ) -> None:
        self.conversation = conversation
        self.servers = servers
        self.settings = settings
        self.consent = consent
        self.notify = notify
        self.on_result = on_result
        self.specs: dict[str, ToolSpec] = {}
        self.rounds = 0

    async def prepare(self, model_capabilities: Sequence[str]) -> None:
        """Start the conversation's servers and list their tools; a server that fails and a
        model that cannot use tools are each one line, and the reply goes on without them."""
        names = self.conversation.tools
        if not names or self.servers is None:
            return
        if model_capabilities and "tools" not in model_capabilities:
            model = self.conversation.model
            self.notify(f"{model} cannot call tools; this reply goes without them")
            return
        specs, problems = await self.servers.tools(names)
        for problem in problems:
            self.notify(problem)
        self.specs = {spec.name: spec for spec in specs}

    @property
    def definitions(self) -> list[dict[str, Any]] | None:
        """The `tools` of the request; None when none are offered."""
        return [spec.definition() for spec in self.specs.values()] or None

    async def answer(self, reply: Message) -> bool:
        """Decide on and run the calls of `reply`, appending a result for each (a refusal or
        a stop is a result too, so every call keeps its answer). Returns whether the model
        should be asked again. Cancelling it marks the calls not yet answered as stopped."""
        if not reply.tool_calls:
            return False
        self.rounds += 1
        if self.rounds > self.settings.max_rounds:
            limit = self.settings.max_rounds
            self.notify(f"stopped after {limit} rounds of tool calls (tools.max_rounds)")
            for call in reply.tool_calls:
                self._finish(call, Decision.NOT_RUN, ROUND_LIMIT_TEXT)
            return False
        pending = list(reply.tool_calls)
        try:
            while pending:
                await self._run(pending[0])
                pending.pop(0)
        finally:
            for call in pending:  # stopped: while asking, or while the call ran
                self._finish(call, Decision.STOPPED, STOPPED_TEXT)
        return True

    async def _run(self, call: ToolCall) -> None:
        spec = self.specs.get(call.name)
        if spec is None or self.servers is None:
            self._finish(call, Decision.NOT_RUN, unknown_tool_text(call.name))
            return
        call.server = spec.server
        if call.name in self.conversation.always_allowed:
            decision = Decision.ALLOWED
        else:
            decision = await self.consent(call, spec.description)
            if decision is Decision.ALWAYS:
                self.conversation.allow_always(call.name)
        if decision not in RAN:
            self._finish(call, Decision.REFUSED, REFUSED_TEXT)
            return
        call.decision = decision
        result = await self.servers.call(spec, call.arguments)
        text = capped(result.text, self.settings.result_limit)
        self._finish(call, decision, text, error=one_line(result.text) if result.failed else None)

    def _finish(
        self, call: ToolCall, decision: Decision, text: str, *, error: str | None = None
    ) -> None:
        call.decision = decision
        message = self.conversation.add_tool_result(call, text, error=error)
        if self.on_result is not None:
            self.on_result(call, message)


async def reply_with_tools(
    conversation: Conversation, rounds: ToolRounds, stream: StreamReply
) -> Message:
    """Stream replies until one has no calls, the round limit is reached or the user stops
    (cancels); returns the last reply."""
    while True:
        reply = conversation.start_reply()
        await stream(reply, rounds.definitions)
        if not await rounds.answer(reply):
            return reply


def apply_event(message: Message, event: ChatEvent) -> None:
    """Put one streamed event into the reply it belongs to."""
    if isinstance(event, ContentDelta):
        message.content += event.text
    elif isinstance(event, ThinkingDelta):
        message.thinking += event.text
    elif isinstance(event, ToolCalls):
        message.tool_calls.extend(
            ToolCall(name=call.name, arguments=call.arguments, id=call.id, index=call.index)
            for call in event.calls
        )
    elif isinstance(event, ChatDone):
        message.done_reason = event.done_reason
        message.stats = event.stats.to_dict()
        message.state = MessageState.COMPLETE


def streamer(
    client: OllamaClient,
    conversation: Conversation,
    *,
    options: Mapping[str, object] | None = None,
    on_event: Callable[[Message, ChatEvent], None] | None = None,
) -> StreamReply:
    """A StreamReply that sends the conversation's whole history, for callers without a
    memory plan of their own."""

    async def stream(reply: Message, tools: list[dict[str, Any]] | None) -> None:
        try:
            async for event in client.chat(
                reply.model or conversation.model,
                conversation.request_messages(),
                options=options,
                tools=tools,
                format=conversation.format,
            ):
                apply_event(reply, event)
                if on_event is not None:
                    on_event(reply, event)
        except asyncio.CancelledError:
            reply.state = MessageState.CANCELLED
            raise
        except Exception as error:
            reply.state, reply.error = MessageState.FAILED, one_line(str(error), 500)
            raise

    return stream
