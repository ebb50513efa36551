"""The chat page's core: its panes, showing a conversation, saving after a change, the host
and model it talks to, and drawing the replies the session runs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.worker import Worker, get_current_worker

from ollama_tui.chat.conversation import Conversation, Message, MessageState
from ollama_tui.chat.store import ConversationSummary
from ollama_tui.docs.errors import DocsError
from ollama_tui.keymap import PALETTE_KEY, key_label
from ollama_tui.ollama import OllamaError
from ollama_tui.sanitize import one_line
from ollama_tui.session import Notice, Session
from ollama_tui.session.hosts import Target
from ollama_tui.session.reply import (
    Activity,
    ContentAdded,
    Finished,
    Note,
    ReplyEvent,
    ReplyRun,
    SourcesFound,
    ThinkingAdded,
)
from ollama_tui.tools.loop import ToolRounds
from ollama_tui.ui.collector import quiet_collector
from ollama_tui.ui.reply_tools import ReplyTools
from ollama_tui.ui.screens.advice import Standing, first_steps, model_advice
from ollama_tui.ui.screens.picker import PickerScreen, model_choices
from ollama_tui.ui.stream_layout import StreamLayoutScreen
from ollama_tui.ui.widgets.attachments import AttachmentChips
from ollama_tui.ui.widgets.key_footer import KeyFooter
from ollama_tui.ui.widgets.memory_marker import MemoryMarker
from ollama_tui.ui.widgets.message_list import MessageList, empty_hint
from ollama_tui.ui.widgets.message_view import tokens_per_second
from ollama_tui.ui.widgets.parameter_panel import ParameterPanel
from ollama_tui.ui.widgets.prompt import PromptArea
from ollama_tui.ui.widgets.sidebar import ConversationSidebar
from ollama_tui.ui.widgets.status_bar import Connection, StatusBar

NARROW_WIDTH = 110
"""Below this many columns the parameter panel starts hidden (its key still shows it)."""
VERY_NARROW_WIDTH = 70
"""Below this many columns the conversation list starts hidden too."""


class ChatPage(StreamLayoutScreen):
    """The main page: conversation list, messages, prompt, parameters and status line."""

    AUTO_FOCUS = "#prompt"

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.settings = session.settings
        self.conversation = session.library.new_conversation()
        """The conversation on screen; it may be new and not yet saved."""
        self.replies: dict[str, ReplyRun] = {}
        """Replies being streamed, by conversation id; at most one per conversation."""
        self._reply_workers: dict[str, Worker[None]] = {}
        self._page_is_whole = asyncio.Event()
        self._restore_collector: Callable[[], None] | None = None
        self.reply_tools = ReplyTools(self)
        session.consent = self.reply_tools.consent

    # Layout

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield ConversationSidebar(id="sidebar")
            with Vertical(id="chat"):
                yield MessageList(id="messages")
                yield AttachmentChips(id="attachment-chips")
                yield PromptArea(id="prompt")
            yield ParameterPanel(id="parameters")
        yield StatusBar(id="status")
        yield KeyFooter()

    # The panes never change after compose; looking them up once keeps the per-token path cheap.

    @cached_property
    def sidebar(self) -> ConversationSidebar:
        return self.query_one(ConversationSidebar)

    @cached_property
    def message_list(self) -> MessageList:
        return self.query_one(MessageList)

    @cached_property
    def parameters(self) -> ParameterPanel:
        return self.query_one(ParameterPanel)

    @cached_property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    @cached_property
    def chips(self) -> AttachmentChips:
        return self.query_one(AttachmentChips)

    @property
    def attachment_folder(self) -> Path:
        """Where the attached files are stored (message views draw them from there)."""
        return self.session.library.store.attachments.folder

    @cached_property
    def prompt(self) -> PromptArea:
        return self.query_one(PromptArea)

    async def start(self) -> None:
        """Fill the page once it is mounted, so its first frame shows the conversation list
        and the open conversation.

        Not awaited in the app's own mount: Textual draws nothing until that returns, while
        still laying out and rendering the screen as it fills (~0.1 s of frames thrown away).
        """
        await self._mounted_event.wait()
        self.prompt.use_history(self.session.prompts.entries)
        self._restore_collector = quiet_collector()  # before the library's summaries are read
        self._fit_panels(self.app.size.width)
        self._show_host()
        self.parameters.set_tool_servers(list(self.settings.mcp))
        library = self.session.library
        self.sidebar.set_summaries(library.summaries())  # damaged files are reported there
        await self.message_list.mount(MemoryMarker("", id="memory-marker"))
        await self.show(self._last_conversation() or self.conversation)

    def on_parameter_panel_fields_mounted(self) -> None:
        self.call_after_refresh(self._after_page_is_whole)

    def _after_page_is_whole(self) -> None:
        """Start talking to the server once the page is whole on screen (the panel's fields
        and the footer's keys come in the frames after the first): importing httpx and setting
        up TLS take ~0.1 s, which would hold them back."""
        self._page_is_whole.set()
        self._watch_connection()
        self.offer_collections()

    def offer_collections(self) -> None:
        """List the document collections in the parameter panel (again after a change)."""
        self.session.documents.forget()
        try:
            self.parameters.set_collections(self.session.documents.names())
        except DocsError as error:
            self.notify(error.message, severity="warning", markup=False)

    def on_unmount(self) -> None:
        if self._restore_collector is not None:
            self._restore_collector()
        for run in self.replies.values():
            run.interrupt()

    @property
    def replies_in_progress(self) -> int:
        """How many replies are streaming, in any conversation."""
        return len(self.replies)

    def on_resize(self) -> None:
        self._fit_panels(self.app.size.width)

    def _fit_panels(self, width: int) -> None:
        """Show the panels the user wants, as far as the terminal's width leaves room."""
        self.parameters.display = self.settings.show_parameters and width >= NARROW_WIDTH
        self.sidebar.display = self.settings.show_sidebar and width >= VERY_NARROW_WIDTH

    # Conversations

    async def show(self, conversation: Conversation) -> None:
        """Make `conversation` the open one: messages, parameters, sidebar highlight, status."""
        self.conversation = conversation
        missing = self.session.library.missing_attachments(conversation)
        if missing:
            names = ", ".join(one_line(a.name, 60) for a in missing[:3])
            self.notify(
                f"{len(missing)} attached file(s) of this conversation are missing from the data "
                f"folder ({names}); they show as placeholders.",
                severity="warning",
                markup=False,
            )
        run = self.replies.get(conversation.id)
        if run is not None:
            run.sync()
        await self.message_list.show(conversation)
        if run is not None:
            view = self.message_list.view_of(run.reply)
            if view is not None:
                await view.start_stream(run.reply.content)
        self.parameters.show_conversation(conversation)
        self.sidebar.highlight_id(conversation.id if conversation.messages else None)
        self._follow_conversation_host(conversation)
        self._model_changed()
        self._show_memory()
        self.refresh_bindings()
        self._remember_open(conversation)

    def _last_conversation(self) -> Conversation | None:
        """The conversation open when the app last quit, when the config wants it back."""
        last = self.settings.last_conversation
        if not self.settings.reopen_last or not last:
            return None
        if last not in self.sidebar.conversation_ids():
            return None  # trashed or deleted since: start with a new one, quietly
        return self.session.library.load(last)

    def _remember_open(self, conversation: Conversation) -> None:
        """Note the open conversation for the next start (a new, empty one is not worth it)."""
        if conversation.messages and self.settings.last_conversation != conversation.id:
            self.session.save_preferences(last_conversation=conversation.id)

    async def open(self, conversation_id: str) -> None:
        """Show a saved conversation (or the live copy of one whose reply is streaming)."""
        self.session.library.save_unsaved(skip=set(self.replies))
        run = self.replies.get(conversation_id)
        if run is not None:
            await self.show(run.conversation)
            return
        conversation = self.session.library.load(conversation_id)
        if conversation is None:
            self.sidebar.set_summaries(self.session.library.summaries())
            return
        await self.show(conversation)

    def changed(
        self,
        conversation: Conversation,
        *,
        row: bool = False,
        index: bool = True,
        memory: bool = True,
    ) -> bool:
        """After a change to `conversation`: save it (once it has messages), update its row in
        the list (`row`) and the memory marker (`memory`, when it is on screen).

        Returns False when it could not be saved (it stays in memory; a notice says why).
        """
        if conversation.messages:
            run = self.replies.get(conversation.id)
            if run is not None:
                merged = run.save(index=index)  # others' messages show once the reply ends
            else:
                merged = self.session.library.save(conversation, index=index)
                if merged and conversation is self.conversation:
                    self.call_later(self.message_list.show, conversation)
            if merged is None:
                return False
            if conversation is self.conversation:
                self._remember_open(conversation)
        if row:
            self.show_row(conversation)
        if memory and conversation is self.conversation:
            self._show_memory()
        return True

    def show_row(self, conversation: Conversation) -> None:
        self.sidebar.upsert(ConversationSummary.of(conversation))
        self.sidebar.highlight_id(self.conversation.id if self.conversation.messages else None)

    def _show_memory(self) -> None:
        """Update the context meter and the marker where the model's memory begins."""
        conversation = self.conversation
        plan = self.session.plan(
            conversation, draft=self.prompt.text, draft_attachments=self.chips.pending
        )
        self.status.context_size = plan.num_ctx
        self.status.context_used = plan.estimated_tokens
        self.status.context_exact = False
        marker = self.query_one(MemoryMarker)
        first = next((m for m in conversation.messages if m.id == plan.first_message_id), None)
        view = self.message_list.view_of(first) if first and plan.omitted_count else None
        marker.display = view is not None
        if view is None:
            return
        if plan.summary_used:
            text = f"▲ {plan.omitted_count} earlier messages are summarised for the model · "
            text += "Enter on this line shows the summary"
        else:
            text = f"▲ {plan.omitted_count} earlier messages no longer fit the model's context "
            text += f"({conversation.memory.value} memory)"
        marker.show_text(text)
        self.message_list.move_child(marker, before=view)

    # Hosts and models

    def _show_host(self) -> None:
        hosts = self.session.hosts
        self.status.host = hosts.label
        self.status.warning = hosts.warning
        if self.status.warning:
            self.notify(
                f"{self.status.warning} for {hosts.current.url}: others on the network path "
                "could read or change your conversations (see [network] in the config).",
                severity="warning",
                markup=False,
            )

    def _follow_conversation_host(self, conversation: Conversation) -> None:
        """Go back to the server a conversation was held on, or say why not."""
        hosts = self.session.hosts
        if not conversation.host or conversation.host == hosts.selected_name:
            return
        target = hosts.named(conversation.host)
        if target is not None and not self.settings.host_from_environment:
            self._use_host(target)
            where = f"pool {hosts.label}" if hosts.pool else f"{target.name} ({hosts.current.url})"
            self.notify(f"Switched to {where}, where this conversation was held.")
            return
        reason = "not in the config" if target is None else "not chosen: --host or OLLAMA_HOST"
        self.notify(
            f"This conversation was held on host “{conversation.host}” ({reason}); replies now "
            f"go to {hosts.current.url}. {PALETTE_KEY} → Switch host to change.",
            severity="warning",
            markup=False,
        )

    def _use_host(self, target: Target) -> None:
        """Send new replies to `target` (a host or a pool); replies already streaming finish
        where they started."""
        if not self.session.hosts.use(target):
            return
        self.session.models.forget_list()
        self.status.connection = Connection.CONNECTING
        self.status.version = ""
        self._show_host()
        self._watch_connection()  # exclusive: replaces the watcher of the previous host
        self._model_changed()

    @work(group="connection", exclusive=True, exit_on_error=False)
    async def _watch_connection(self) -> None:
        """Track whether the server answers; the session retries with backoff while it does not."""
        await self.session.hosts.watch(self._connection_checked)

    async def _connection_checked(self, version: str | None) -> None:
        if version is None:
            self.status.connection = Connection.UNREACHABLE
            self._show_hint()
            return
        reconnected = self.status.connection is not Connection.CONNECTED
        self.status.connection = Connection.CONNECTED
        self.status.version = version
        if reconnected or not self.session.models.loaded:  # a refresh cut short counts too
            await self.refresh_models()
        if reconnected:
            messages = self.conversation.messages
            if messages and messages[-1].state is MessageState.UNSENT:
                self.notify(
                    f"Ollama at {self.session.hosts.current.url} answers again; "
                    f"{key_label('reply.retry')} sends your message."
                )

    def _model_changed(self) -> None:
        model = self.conversation.model
        self.status.model = model
        self.parameters.set_model(model)
        if model:
            self._load_model_details(model)

    @work(group="model-details", exclusive=True, exit_on_error=False)
    async def _load_model_details(self, model: str) -> None:
        await self._page_is_whole.wait()
        details = await self.session.models.details_of(model)
        if model == self.conversation.model:
            self.parameters.set_context_limit(details.context_length if details else None)
            self.parameters.show_thinking(
                details is not None and details.can_think, self.conversation.think
            )
            note = self.reply_tools.model_note(self.conversation, details)
            self.parameters.show_tools(self.conversation.tools, note)
            self._show_memory()

    async def refresh_models(self) -> bool:
        """List the host's models again, for the panel and every picker; False when the
        server did not answer (the advice then says so)."""
        models = self.session.models
        try:
            changed = await models.refresh()
        except OllamaError as error:
            self.notify(str(error), severity="error", markup=False)
            self.session.hosts.check_now()
            return False
        if not self.is_attached:
            return False  # the app closed while the list was read: nothing left to show it in
        self._show_hint()
        if not changed:
            return True
        chat_models = models.chat_models()
        self.parameters.set_models(chat_models, self.conversation.model)
        model, hosts = self.conversation.model, self.session.hosts
        where = f"any host of pool {hosts.pool.name}" if hosts.pool else hosts.current.url
        if model and chat_models and model not in chat_models:
            self.notify(
                f"Model '{model}' is not on {where}; {key_label('model.pick')} picks another, "
                f"or pull it with `ollama pull {model}`.",
                severity="warning",
                markup=False,
            )
        if not model and chat_models:
            self.conversation.set_model(self.settings.model or chat_models[0])
            self.session.save_preferences(model=self.conversation.model)  # the same one next time
        self._model_changed()  # details may have changed with the list
        return True

    async def pick_model(
        self, title: str, *, current: str | None, chosen: Callable[[str | None], object]
    ) -> None:
        """Open a model picker that stays in step with the server, or say what to do first."""
        models = self.session.models
        if not models.listed and not await self.refresh_models():
            self.notify(self.model_advice(), severity="warning", markup=False)
            return
        if not models.listed:
            self.notify(self.model_advice(), severity="warning", markup=False)
            return
        picker = PickerScreen(title, model_choices(models.listed, models.where), current=current)
        self.app.push_screen(picker, chosen)
        self._refresh_picker(picker)

    @work(group="picker-refresh", exclusive=True, exit_on_error=False)
    async def _refresh_picker(self, picker: PickerScreen) -> None:
        models = self.session.models
        before = models.listed
        if await self.refresh_models() and models.listed is not before and picker.is_attached:
            picker.set_choices(model_choices(models.listed, models.where))

    @property
    def standing(self) -> Standing:
        """Where the user stands with the server: not answering, no models, or ready."""
        if self.status.connection is Connection.UNREACHABLE:
            return Standing.UNREACHABLE
        models = self.session.models
        return Standing.NO_MODELS if models.loaded and not models.chat_models() else Standing.READY

    def _show_hint(self) -> None:
        """The empty conversation's words: what to do first while there is nothing to talk to."""
        steps = first_steps(self.standing, self.session.hosts.current.url)
        self.message_list.set_hint(steps or empty_hint())

    def model_advice(self) -> str:
        """What to do when there is no model to talk to, as fits the server's state."""
        return model_advice(self.standing, self.session.hosts.current.url)

    # Replies

    async def begin_reply(
        self, conversation: Conversation, reply: Message, rounds: ToolRounds | None = None
    ) -> None:
        """Save, show and start streaming a reply that was just appended to `conversation`
        (`rounds`: the tools of the reply it continues after tool results)."""
        run = ReplyRun(self.session, conversation, reply, rounds)
        self.replies[conversation.id] = run
        self.changed(conversation, row=True, memory=False)  # the user's words are on disk first
        view = self.message_list.view_of(reply) or await self.message_list.add(reply)
        await view.start_stream("")
        self._reply_workers[conversation.id] = self._stream_reply(run)
        self.refresh_bindings()

    def stop_reply(self) -> None:
        worker = self._reply_workers.get(self.conversation.id)
        if worker is not None:
            worker.cancel()

    @work(group="replies", exit_on_error=False)
    async def _stream_reply(self, run: ReplyRun) -> None:
        try:
            await run.run(lambda event: self._draw(run, event), lambda: self._show_arrived(run))
        finally:
            with self.app.batch_update():  # one frame for all that changes as the reply closes
                await self._reply_ended(run)
        if run.has_calls:
            await self._answer_calls(run)

    async def _show_arrived(self, run: ReplyRun) -> None:
        """The reply's stream has ended: its last words are drawn before it is saved and
        closed, rather than after that and the next batch of the stream's renders."""
        if run.conversation is self.conversation:
            view = self.message_list.view_of(run.reply)
            if view is not None:
                await view.show_arrived()

    async def _answer_calls(self, run: ReplyRun) -> None:
        """Run the reply's calls (each waits for consent), then let the model continue; the
        stop key stops this too, and what was decided is kept."""
        conversation = run.conversation
        self.replies[conversation.id] = run
        self._reply_workers[conversation.id] = get_current_worker()
        self.refresh_bindings()
        try:
            more = await run.answer_calls()
        finally:
            self.replies.pop(conversation.id, None)
            self._reply_workers.pop(conversation.id, None)
            if conversation is self.conversation:
                await self.message_list.show(conversation)  # the results, folded
            self.refresh_bindings()
        if more:
            await self.begin_reply(conversation, conversation.start_reply(), run.rounds)

    def _draw(self, run: ReplyRun, event: ReplyEvent) -> None:
        """Show one step of a reply: on its view when its conversation is on screen."""
        on_screen = run.conversation is self.conversation
        view = self.message_list.view_of(run.reply) if on_screen else None
        match event:
            case ContentAdded(text=text):
                if view is not None:
                    view.append_content(text)
            case ThinkingAdded():
                if view is not None:
                    run.sync_thinking()
                    view.thinking_changed()
            case Activity(text=text):
                if on_screen:
                    self._set_activity(text)
            case Note(text=text):
                if view is not None:
                    view.set_note(text)
            case SourcesFound():
                if view is not None:
                    view.refresh_header()
            case Notice():
                self.session.notify(event)
            case Finished(state=MessageState.UNSENT, error=error):
                retry = key_label("reply.retry")
                self.notify(
                    f"Not sent: {error} · {retry} sends it again", severity="error", markup=False
                )
                self.session.hosts.check_now()
            case Finished(state=MessageState.INTERRUPTED | MessageState.FAILED, error=error):
                self.notify(
                    f"{error} · {key_label('reply.retry')} retries",
                    title="Reply failed",
                    severity="error",
                    markup=False,
                )
                self.session.hosts.check_now()

    async def _reply_ended(self, run: ReplyRun) -> None:
        """Take down the reply's stream and show where things stand now."""
        conversation, reply = run.conversation, run.reply
        self.replies.pop(conversation.id, None)
        self._reply_workers.pop(conversation.id, None)
        if run.finished is None:
            return  # the app is closing: the session kept the reply as interrupted
        self.show_row(conversation)
        view = self.message_list.view_of(reply) if conversation is self.conversation else None
        if view is not None:
            await view.end_stream()
            if run.finished.state is MessageState.UNSENT:
                await view.remove()
                user_view = self.message_list.view_of(conversation.messages[-1])
                if user_view is not None:
                    user_view.refresh_header()
            elif run.merged_elsewhere:
                await self.message_list.show(conversation)
        prompt_tokens = reply.stats.get("prompt_eval_count")
        if conversation is self.conversation:
            self._show_memory()
            if run.plan is not None and prompt_tokens:
                self.status.context_used = prompt_tokens + reply.stats.get("eval_count", 0)
                self.status.context_exact = True
        speed = tokens_per_second(reply.stats)
        if speed is not None:
            self.status.speed = speed
        self._set_activity("")
        self.refresh_bindings()

    def _set_activity(self, text: str) -> None:
        streaming = any(run.conversation is self.conversation for run in self.replies.values())
        self.status.activity = text if streaming or not text else ""

    def busy(self, doing: str) -> bool:
        """Whether a reply is streaming in the open conversation (then say so)."""
        if self.conversation.id in self.replies:
            self.notify(
                f"A reply is still arriving: stop it ({key_label('reply.stop')}) before {doing}."
            )
            return True
        return False

    def position_on_screen(self, conversation: Conversation, message: Message) -> int | None:
        """Where `message` is in the open conversation; None if another conversation is open or
        the message is gone (things moved on while a dialog was up)."""
        if conversation is not self.conversation:
            return None
        with contextlib.suppress(ValueError):
            return conversation.position_of(message)
        return None
