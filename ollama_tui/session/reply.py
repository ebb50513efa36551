"""One reply run: pick the host (in a pool: fail over to the next before the first token),
plan the request, fold older turns into a summary, stream, retry a busy server, checkpoint,
calibrate, and end the reply in its right state — reported as events.

The run changes the conversation only through its methods and saves it through the library;
whoever shows the reply draws the events and nothing else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from time import monotonic
from typing import TYPE_CHECKING

from ollama_tui.chat.attachments import AttachmentMissing, with_images
from ollama_tui.chat.context import ContextPlan, apply_summary, request_options
from ollama_tui.chat.conversation import Conversation, MemoryStrategy, Message, MessageState, Role
from ollama_tui.chat.options import keep_alive_value
from ollama_tui.config import HostSettings
from ollama_tui.docs.errors import DocsError
from ollama_tui.ollama import (
    ChatDone,
    ChatEvent,
    ContentDelta,
    OllamaError,
    ServerBusy,
    ServerError,
    Stalled,
    StreamBroken,
    ThinkingDelta,
    ToolCalls,
    Unreachable,
)
from ollama_tui.sanitize import one_line
from ollama_tui.session.notices import Notice
from ollama_tui.tools.loop import ToolRounds, apply_event

if TYPE_CHECKING:
    from ollama_tui.ollama.client import OllamaClient
    from ollama_tui.session import Session

CHECKPOINT_SECONDS = 2.0
"""How often a streaming reply is written to disk, so a crash loses at most this much."""

MAX_SUMMARY_ROUNDS = 8
"""Summarising calls per request at most: one is usual; a long backlog in a small context
window takes a few, each fitting the window."""

BUSY_RETRY_DELAYS = (1.0, 2.0, 4.0)
"""Seconds to wait before each new try when Ollama answers 503 (its queue is full)."""


@dataclass(frozen=True, slots=True)
class Activity:
    """What the model is doing, for the status line ("" when it is done)."""

    text: str


@dataclass(frozen=True, slots=True)
class Note:
    """A passing note on the reply itself (a busy retry, a summary round); "" removes it."""

    text: str


@dataclass(frozen=True, slots=True)
class ContentAdded:
    text: str


@dataclass(frozen=True, slots=True)
class ThinkingAdded:
    text: str


@dataclass(frozen=True, slots=True)
class Finished:
    """The reply ended: its state and, for a failure, why. UNSENT means the server was never
    reached: the empty reply is gone and the user's message waits to be sent again."""

    state: MessageState
    error: str | None = None


@dataclass(frozen=True, slots=True)
class SourcesFound:
    """Document passages go with the request: the reply now lists them (reply.sources)."""


ReplyEvent = Activity | Note | Notice | ContentAdded | ThinkingAdded | SourcesFound | Finished
Report = Callable[[ReplyEvent], None]


class _Bursts:
    """Passes a run's events on to `report`, the text that arrives in one burst as one
    ContentAdded (or ThinkingAdded): a burst is what the stream brings without waiting for
    the network, a token at a time at a model's pace and hundreds at full speed, and the screen
    cannot draw within one anyway. The rest of the events pass at once, after the text before
    them; the text is passed on as soon as the stream waits, or by `flush`, unless the run
    was `closed` meanwhile (the app is closing: nothing more is reported)."""

    def __init__(self, report: Report, closed: Callable[[], bool]) -> None:
        self._report = report
        self._closed = closed
        self._kind: type[ContentAdded] | type[ThinkingAdded] = ContentAdded
        self._texts: list[str] = []
        self._flush_scheduled = False

    def __call__(self, event: ReplyEvent) -> None:
        kind = type(event)
        if kind is ContentAdded or kind is ThinkingAdded:
            if kind is not self._kind:
                self.flush()
                self._kind = kind
            self._texts.append(event.text)  # type: ignore[union-attr]
            if not self._flush_scheduled:
                self._flush_scheduled = True
                asyncio.get_running_loop().call_soon(self._flush_soon)
            return
        self.flush()
        self._report(event)

    def _flush_soon(self) -> None:
        self._flush_scheduled = False
        if not self._closed():
            self.flush()

    def flush(self) -> None:
        """Pass on the text held back so far."""
        if self._texts:
            texts, self._texts = self._texts, []
            self._report(self._kind(texts[0] if len(texts) == 1 else "".join(texts)))


class ReplyRun:
    """One reply being written into `reply`, the last message of `conversation`."""

    def __init__(
        self,
        session: Session,
        conversation: Conversation,
        reply: Message,
        rounds: ToolRounds | None = None,
    ) -> None:
        self.session = session
        self.rounds = rounds
        """The tools the reply offers and the rounds of calls so far: a reply that continues
        after tool results shares them with the reply that made the calls."""
        self.conversation = conversation
        self.reply = reply
        self.client: OllamaClient = session.hosts.client
        """The client of the host the reply was asked of, kept if the user switches host."""
        self.pool = session.hosts.pool
        """The pool the reply goes through, if one is chosen: it picks the host."""
        self.host: HostSettings = session.hosts.current
        self.route_note = ""
        """Where the reply went instead, for the status line ("gpu-box unreachable → laptop")."""
        conversation.set_host(session.hosts.selected_name)
        self.content: list[str] = []
        self.thinking: list[str] = []
        self.plan: ContextPlan | None = None
        """What the request carried, to calibrate token estimates against the server's count."""
        self.reference = ""
        """The block of document passages sent with the request ("" when none)."""
        self.searched = False
        """Whether the documents were searched (once, even when a pool hands the reply over)."""
        self.finished: Finished | None = None
        """How the reply ended, once it has."""
        self.merged_elsewhere = False
        """Set when a save merged in messages written elsewhere: show them once the reply ends."""
        self._closed = False

    def sync(self) -> None:
        """Copy the text received so far into the message (joined once, not per token)."""
        self.reply.fill("".join(self.content), "".join(self.thinking))

    def sync_thinking(self) -> None:
        """Copy the thinking received so far into the message, for a view that shows it."""
        self.reply.fill(self.reply.content, "".join(self.thinking))

    def save(self, *, index: bool = True) -> int | None:
        """Save the conversation (the text so far included); remembers a merge."""
        self.sync()
        merged = self.session.library.save(self.conversation, index=index)
        if merged:
            self.merged_elsewhere = True
        return merged

    def interrupt(self) -> None:
        """The app is closing: keep what arrived as an interrupted reply, and report no more."""
        self._closed = True
        if self.reply.is_reply_in_progress:
            self.reply.end(MessageState.INTERRUPTED)
        self.save()

    async def run(
        self, report: Report, arrived: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        """Stream the reply, reporting each step; cancelling the task stops it (CANCELLED).

        `arrived` is awaited once the whole reply has arrived, before it is saved: to show its
        last words without waiting for the save.
        """
        reply = self.reply
        bursts = _Bursts(report, lambda: self._closed)
        report = bursts
        report(self._activity(f"waiting for {reply.model}…"))
        try:
            await self._receive(report)
            bursts.flush()
            reply.end(MessageState.COMPLETE)
            if arrived is not None:
                await arrived()
        except asyncio.CancelledError:
            if self._closed:
                raise
            if reply.is_reply_in_progress:
                reply.end(MessageState.CANCELLED)
            self._finish(report)
            raise
        except Unreachable as error:
            self.conversation.drop_unsent_reply(reply, str(error))
            self._finish(report, Finished(MessageState.UNSENT, str(error)))
            return
        except (StreamBroken, Stalled) as error:
            reply.end(MessageState.INTERRUPTED, str(error))
        except AttachmentMissing as error:
            reply.end(MessageState.FAILED, str(error))
        except OllamaError as error:
            reply.end(MessageState.FAILED, str(error))
        except Exception:
            # A fault of this program (in drawing the reply, say): what arrived is saved, as an
            # interrupted reply if it had not ended, before the fault goes on up.
            if reply.is_reply_in_progress:
                reply.end(MessageState.INTERRUPTED, "stopped by an internal error")
            self.save()
            raise
        self._finish(report)

    def _finish(self, report: Report, finished: Finished | None = None) -> None:
        self.save()
        self._calibrate()
        if self.reply.done_reason == "length":
            report(Notice("The reply stopped at the token limit (Max reply tokens)."))
        self.finished = finished or Finished(self.reply.state, self.reply.error)
        report(self.finished)

    async def _receive(self, report: Report) -> None:
        """Stream the reply from the host, or from the pool's best candidate: one that cannot
        be reached, or is busy or failing before the first token, hands over to the next."""
        model = self.reply.model or self.conversation.model
        candidates = [self.host]
        if self.pool is not None:
            route = await self.session.router.route(self.pool, model)
            candidates = route.candidates
            order = self.pool.hosts.index
            first = order(candidates[0].name)
            passed = [host.name for host in route.skipped if order(host.name) < first]
            if passed:
                note = f"{', '.join(passed)} unreachable → {candidates[0].name}"
                self._handed_over(note, model, report)
        for index, host in enumerate(candidates):
            last = index == len(candidates) - 1
            try:
                await self._stream_from(host, model, report, retry_busy=last)
                return
            except (Unreachable, ServerError) as error:
                if last or self.content or self.thinking:
                    raise
                if isinstance(error, Unreachable):
                    self.session.hosts.mark_down(host)
                    why = "unreachable"
                else:
                    why = "busy" if isinstance(error, ServerBusy) else f"failed ({error.status})"
                # The note so far ends with "→ host": it grows into "a unreachable → b busy → c".
                note = f"{self.route_note or host.name} {why} → {candidates[index + 1].name}"
                self._handed_over(note, model, report)

    def _handed_over(self, note: str, model: str, report: Report) -> None:
        self.route_note = note
        report(self._activity(f"waiting for {model}…"))

    def _activity(self, text: str) -> Activity:
        return Activity(f"{self.route_note} · {text}" if self.route_note else text)

    async def _stream_from(
        self, host: HostSettings, model: str, report: Report, *, retry_busy: bool
    ) -> None:
        """Stream the reply from `host`, planned for its context window; a busy server is
        retried a few times, visibly, when `retry_busy`."""
        session, conversation = self.session, self.conversation
        self.host, self.client = host, session.hosts.client_for(host)
        self.reply.written_by(host.name if host.name in session.settings.hosts else "")
        details = await session.models.details_of(model, host)
        if not self.searched:  # once per reply, from the first host asked
            self.reference, self.searched = await self._reference(report), True
        if self.rounds is None:
            self.rounds = await self._tools(details.capabilities if details else ())
        request = self.plan = await self._fit_history(report)
        if not request.fits:
            report(
                Notice(
                    f"The request (~{request.estimated_tokens:,} tokens) exceeds the context "
                    f"window ({request.num_ctx:,}); Ollama will cut its start. Raise Context in "
                    "the panel.",
                    "warning",
                )
            )
        last_checkpoint = monotonic()
        retries = BUSY_RETRY_DELAYS if retry_busy else ()
        session.router.in_flight[host.name] += 1
        try:
            for attempt in range(len(retries) + 1):
                try:
                    images = self.session.library.store.attachments.base64_of
                    async for event in self.client.chat(
                        model,
                        with_images(request.messages, request.images, images),
                        options=request_options(conversation.options, request.num_ctx),
                        think=conversation.think if details and details.can_think else None,
                        keep_alive=keep_alive_value(conversation.keep_alive),
                        tools=self.rounds.definitions if self.rounds else None,
                        format=conversation.format,
                    ):
                        self._take(event, report)
                        if monotonic() - last_checkpoint > CHECKPOINT_SECONDS:
                            self.save(index=False)
                            last_checkpoint = monotonic()
                    return
                except ServerBusy:
                    if self.content or self.thinking or attempt == len(retries):
                        raise
                    delay = retries[attempt]
                    report(
                        Note(
                            f"Ollama is busy; retry {attempt + 1} of {len(retries)} in {delay:g} s…"
                        )
                    )
                    await asyncio.sleep(delay)
                    report(Note(""))
        finally:
            session.router.in_flight[host.name] -= 1

    def _take(self, event: ChatEvent, report: Report) -> None:
        """Add one stream event to the reply."""
        reply = self.reply
        match event:
            case ContentDelta(text=text):
                if not self.content:
                    report(self._activity(f"{reply.model} is answering…"))
                self.content.append(text)
                report(ContentAdded(text))
            case ThinkingDelta(text=text):
                if not self.thinking:
                    report(self._activity(f"{reply.model} is thinking…"))
                self.thinking.append(text)
                report(ThinkingAdded(text))
            case ChatDone(done_reason=done_reason, stats=stats):
                reply.record_done(done_reason, stats.to_dict())
            case ToolCalls():
                apply_event(reply, event)

    async def _tools(self, capabilities: tuple[str, ...]) -> ToolRounds | None:
        """The tools of the conversation's MCP servers, for a model that can call them."""
        session, conversation = self.session, self.conversation
        if not conversation.tools or session.consent is None:
            return None
        rounds = ToolRounds(
            conversation,
            session.tools,
            session.settings.tools,
            consent=session.consent,
            notify=lambda text: session.notify(Notice(text, "warning")),
            on_result=lambda _call, _result: self.save(),  # a tool may have changed the world
        )
        await rounds.prepare(capabilities)
        return rounds

    @property
    def has_calls(self) -> bool:
        """Whether the reply ended well asking for tools, which wait for `answer_calls`."""
        reply = self.reply
        return reply.state is MessageState.COMPLETE and bool(reply.tool_calls) and bool(self.rounds)

    async def answer_calls(self) -> bool:
        """Run the reply's calls, each with the user's consent; whether the model goes on.
        Stopping (cancelling) keeps every call answered, as stopped when it did not run."""
        assert self.rounds is not None
        try:
            return await self.rounds.answer(self.reply)
        finally:
            self.save()

    async def _reference(self, report: Report) -> str:
        """Search the conversation's collections for the latest message; the passages that fit
        become the reply's sources and the block sent just before the message."""
        conversation, session = self.conversation, self.session
        latest = next((m for m in reversed(conversation.history_messages())
                       if m.role is Role.USER), None)  # fmt: skip
        if not conversation.collections or latest is None:
            return ""
        estimator = session.calibration.estimator(conversation.model)
        fixed = estimator.request_tokens([{"role": "system", "content": conversation.system_prompt},
                                          {"role": "user", "content": latest.content}])  # fmt: skip
        from ollama_tui.docs.retrieval import reference_room  # SQLite: not needed at start-up

        room = reference_room(session.plan(conversation).budget, fixed)
        report(Note("searching your documents…"))
        try:
            block, self.reply.sources = await session.documents.reference(
                self.client, conversation.collections, latest.content, room,
                estimator.message_tokens,
            )  # fmt: skip
        except DocsError as error:
            report(Notice(f"Documents not searched: {error.message}", "warning"))
            return ""
        finally:
            report(Note(""))
        if self.reply.sources:
            report(SourcesFound())
        return block

    async def _fit_history(self, report: Report) -> ContextPlan:
        """Plan the request; under summary memory, fold older turns into the summary first.

        A failed summary falls back to the latest turns that fit; the conversation itself is
        never changed by this beyond storing the summary.
        """
        conversation, session, host = self.conversation, self.session, self.host
        request = session.plan(conversation, reference=self.reference, host=host)
        for _ in range(MAX_SUMMARY_ROUNDS):
            if not request.needs_summary:
                return request
            count = len(request.needs_summary)
            report(Note(f"summarising {count} earlier messages to fit the context…"))
            model = session.settings.summary_model or conversation.model
            options = {"num_ctx": request.num_ctx, "num_predict": request.summary_tokens}
            text = request.previous_summary.text if request.previous_summary else None
            try:
                for part in request.summary_parts():
                    messages = request.fold_request(text, part)
                    answer = await self.client.chat_once(model, messages, options=options)
                    text = request.fit_summary(answer.content)
                apply_summary(conversation, text or "", request.needs_summary, model)
            except (OllamaError, ValueError) as error:
                report(
                    Notice(
                        f"Could not summarise earlier messages ({one_line(str(error), 120)}); "
                        "sending the latest turns that fit instead.",
                        "warning",
                    )
                )
                return session.plan(
                    conversation,
                    strategy=MemoryStrategy.WINDOW,
                    reference=self.reference,
                    host=host,
                )
            finally:
                report(Note(""))
            self.save()
            request = session.plan(conversation, reference=self.reference, host=host)
        if not request.needs_summary:
            return request
        report(
            Notice(
                "The summary of earlier messages does not fit the context window; "
                "sending the latest turns that fit instead.",
                "warning",
            )
        )
        return session.plan(
            conversation, strategy=MemoryStrategy.WINDOW, reference=self.reference, host=host
        )

    def _calibrate(self) -> None:
        """Learn from the server's token count how far off the estimate was."""
        reply = self.reply
        prompt_tokens = reply.stats.get("prompt_eval_count")
        if (
            self.plan is not None
            and prompt_tokens
            and reply.model
            and self.session.calibration.observe(
                reply.model, self.plan.messages, prompt_tokens, self.plan.image_tokens
            )
        ):
            self.session.save_calibration()
