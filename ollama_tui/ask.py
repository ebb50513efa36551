"""`ollama-tui ask`: one question, the answer on stdout, for scripts.

Exit status 0 when the model answered (and, with --format, the answer follows it), 1 on a model
or server error or an answer that does not follow the format, with the reason in one line on
stderr; 2 for a usage error, as the other commands.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ollama_tui.chat.conversation import Conversation, Message, MessageState
from ollama_tui.chat.store import ConversationStore, StoreError
from ollama_tui.chat.structured import (
    ReplyFormat,
    SchemaError,
    read_format_file,
    reply_problem,
)
from ollama_tui.config import Settings, active_host
from ollama_tui.sanitize import one_line
from ollama_tui.session.library import new_conversation
from ollama_tui.tools.loop import streamer

if TYPE_CHECKING:
    from ollama_tui.ollama import ChatEvent


def add_parser(commands: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    """The `ask` command's arguments, on the command line's list of commands."""
    ask = commands.add_parser(
        "ask",
        parents=[shared],
        help="print one answer to a prompt (from the argument or stdin), for scripts",
    )
    ask.add_argument("prompt", nargs="?", help="what to ask; read from stdin when absent or '-'")
    ask.add_argument(
        "--model", metavar="NAME", default=argparse.SUPPRESS, help="default: the configured model"
    )
    ask.add_argument(
        "--host", metavar="URL", default=argparse.SUPPRESS, help="Ollama server address"
    )
    ask.add_argument(
        "--format",
        metavar="json|FILE",
        help="answer as JSON, or following the JSON Schema in FILE; only the JSON is printed",
    )
    ask.add_argument("--system", metavar="TEXT", help="system prompt (default: [defaults])")
    ask.add_argument("--save", action="store_true", help="keep the exchange as a conversation")


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Ask, print the answer, and say on stderr what went wrong if anything did."""
    try:
        reply_format = _reply_format(args.format)
    except SchemaError as error:
        return _fail(str(error), status=2)
    prompt = args.prompt
    if prompt in (None, "-"):
        if prompt is None and sys.stdin.isatty():
            return _fail('no prompt: give one, e.g. ollama-tui ask "Why is the sky blue?"', 2)
        prompt = sys.stdin.read()
    if not prompt.strip():
        return _fail("the prompt is empty", status=2)
    conversation = new_conversation(settings)
    if not conversation.model:
        return _fail("no model: give --model NAME or set model in the config file", status=2)
    if args.system is not None:
        conversation.system_prompt = args.system
    conversation.format = reply_format
    conversation.tools = []  # no one is there to consent to a call
    conversation.add_user_message(prompt)
    try:
        status = asyncio.run(_answer(settings, conversation))
    except KeyboardInterrupt:
        conversation.messages[-1].state = MessageState.CANCELLED
        status = 130
    if args.save:
        try:
            ConversationStore(settings.data_dir).save(conversation)
        except (OSError, StoreError) as error:
            return _fail(f"the conversation could not be saved: {error}")
        print(f"ollama-tui: saved as {conversation.id}", file=sys.stderr)
    return status


async def _answer(settings: Settings, conversation: Conversation) -> int:
    """Stream the reply into `conversation` and to stdout (all at once with a format)."""
    from ollama_tui.ollama import ContentDelta, OllamaClient, OllamaError
    from ollama_tui.ollama.host import request_headers

    host = active_host(settings)
    reply = conversation.start_reply()
    conversation.host = host.name
    streaming = conversation.format is None

    def show(_reply: Message, event: ChatEvent) -> None:
        if streaming and isinstance(event, ContentDelta):
            sys.stdout.write(event.text)
            sys.stdout.flush()

    client = OllamaClient(
        host.url,
        connect_timeout=settings.connect_timeout,
        stall_timeout=settings.stall_timeout,
        headers=request_headers(host.headers, host.api_key),
        verify=str(host.ca_bundle) if host.ca_bundle else host.verify_tls,
    )
    options = conversation.options.to_request()
    async with client:
        try:
            await streamer(client, conversation, options=options, on_event=show)(reply, None)
        except OllamaError as error:
            if streaming and reply.content:
                sys.stdout.write("\n")
            return _fail(str(error))
    if not streaming:
        sys.stdout.write(reply.content)
    if not reply.content.endswith("\n"):
        sys.stdout.write("\n")
    problem = reply_problem(reply.content, conversation.format)
    if problem is not None:
        reply.error = problem
        return _fail(problem)
    return 0


def _reply_format(value: str | None) -> ReplyFormat:
    if value is None:
        return None
    if value == "json":
        return "json"
    return read_format_file(Path(value))


def _fail(message: str, status: int = 1) -> int:
    print(f"ollama-tui: {one_line(message, 500)}", file=sys.stderr)
    return status
