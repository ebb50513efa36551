"""The ollama-tui application: composition, keys, and the life of a reply."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property, partial
from pathlib import Path
from time import monotonic
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.css.query import NoMatches
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import Worker

from ollama_tui.chat.attachment_store import AttachmentStoreError
from ollama_tui.chat.attachments import AttachmentMissing, with_images
from ollama_tui.chat.context import (
    Calibration,
    ContextPlan,
    apply_summary,
    effective_num_ctx,
    plan_request,
    reply_reserve,
    request_options,
)
from ollama_tui.chat.conversation import (
    Conversation,
    MemoryStrategy,
    Message,
    MessageState,
    Role,
)
from ollama_tui.chat.export import (
    FORMATS,
    ExportFormat,
    TransferError,
    import_file,
    suggested_file_name,
    write_export,
)
from ollama_tui.chat.intake import AttachmentRefused
from ollama_tui.chat.options import keep_alive_value
from ollama_tui.chat.search import SearchError, SearchIndex
from ollama_tui.chat.store import ConversationStore, ConversationSummary, StoreError
from ollama_tui.config import (
    ConfigError,
    HostSettings,
    Settings,
    active_host,
    all_hosts,
    save_preferences,
)
from ollama_tui.keymap import COMMANDS, default_keys
from ollama_tui.ollama import (
    ChatDone,
    ChatEvent,
    ContentDelta,
    ModelDetails,
    ModelSummary,
    OllamaError,
    ServerBusy,
    Stalled,
    StreamBroken,
    ThinkingDelta,
    Unreachable,
)
from ollama_tui.sanitize import one_line, sanitize
from ollama_tui.ui.attaching import (
    KEEP_DRAFT,
    conversation_images,
    missing_files,
    read_attachment,
    vision_choices,
)
from ollama_tui.ui.collector import quiet_collector
from ollama_tui.ui.inert import inert
from ollama_tui.ui.screens.attach import AttachScreen
from ollama_tui.ui.screens.confirm import ConfirmScreen
from ollama_tui.ui.screens.edit_message import EditMessageScreen
from ollama_tui.ui.screens.help import HelpScreen
from ollama_tui.ui.screens.models import ModelsScreen
from ollama_tui.ui.screens.picker import Choice, PickerScreen, model_choices
from ollama_tui.ui.screens.search import SearchScreen
from ollama_tui.ui.screens.summary import SummaryScreen
from ollama_tui.ui.screens.text_prompt import TextPromptScreen
from ollama_tui.ui.widgets.attachments import AttachmentChips
from ollama_tui.ui.widgets.memory_marker import MemoryMarker
from ollama_tui.ui.widgets.message_list import MessageList
from ollama_tui.ui.widgets.message_view import MessageView, tokens_per_second
from ollama_tui.ui.widgets.parameter_panel import ParameterPanel
from ollama_tui.ui.widgets.prompt import PromptArea
from ollama_tui.ui.widgets.sidebar import ConversationSidebar
from ollama_tui.ui.widgets.status_bar import Connection, StatusBar

if TYPE_CHECKING:
    from textual.widgets import Markdown

    from ollama_tui.ollama.client import OllamaClient

CHECKPOINT_SECONDS = 2.0
"""How often a streaming reply is written to disk, so a crash loses at most this much."""

NARROW_WIDTH = 110
"""Below this many columns the parameter panel starts hidden (ctrl+r still shows it)."""
VERY_NARROW_WIDTH = 70
"""Below this many columns the conversation list starts hidden too (ctrl+b shows it)."""

MAX_SUMMARY_ROUNDS = 8
"""Summarising calls per request at most: one is usual; a long backlog in a small context
window takes a few, each fitting the window."""

BUSY_RETRY_DELAYS = (1.0, 2.0, 4.0)
"""Seconds to wait before each new try when Ollama answers 503 (its queue is full)."""

RECONNECT_DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0)
PROBE_SECONDS = 2.0
"""How long the host list waits for each host to say which Ollama it runs."""
HEALTH_CHECK_SECONDS = 20.0


@dataclass
class LiveReply:
    """A reply being streamed: its conversation, the message it fills and the worker doing it."""

    conversation: Conversation
    message: Message
    content: list[str] = field(default_factory=list)
    thinking: list[str] = field(default_factory=list)
    client: OllamaClient | None = None
    """The client of the host the reply was asked of, kept if the user switches host."""
    worker: Worker[None] | None = None
    plan: ContextPlan | None = None
    """What the request carried, to calibrate token estimates against the server's count."""
    redraw: bool = False
    """Set when a merge brought in messages from elsewhere: show them once the reply ends."""

    def sync(self) -> None:
        """Copy the text received so far into the message (joined once, not per token)."""
        self.message.content = "".join(self.content)
        self.message.thinking = "".join(self.thinking)


SEND_ANYWAY = "send-anyway"

MAIN_SCREEN_ACTIONS = frozenset(
    {
        "stop_reply",
        "retry",
        "new_conversation",
        "rename_conversation",
        "search",
        "pick_model",
        "open_models",
        "toggle_sidebar",
        "toggle_parameters",
        "scroll_messages",
        "focus_messages",
        "attach",
    }
)
"""Actions that act on the chat screen, and so not while a dialog or the models screen is up."""


def overflow_choices(plan: ContextPlan) -> list[Choice]:
    """What the user can do when full memory will not fit the context window."""
    size = f"~{plan.estimated_tokens:,} tokens for a window of {plan.num_ctx:,}"
    return [
        Choice(
            MemoryStrategy.SUMMARY.value,
            Content(f"Summary: summarise older turns, send them with the latest ({size})"),
            "summary",
        ),
        Choice(
            MemoryStrategy.WINDOW.value,
            Content("Window: send only the latest turns that fit"),
            "window",
        ),
        Choice(
            SEND_ANYWAY,
            Content("Send everything anyway: Ollama will silently drop the oldest part"),
            "send anyway full",
        ),
    ]


def request_headers(host: HostSettings) -> dict[str, str]:
    """The configured extra headers, plus the bearer token when there is one."""
    headers = dict(host.headers)
    if host.api_key:
        headers["Authorization"] = f"Bearer {host.api_key}"
    return headers


def transport_warning(host: HostSettings) -> str:
    """A one-line warning when the connection to the server can be read or altered, else ""."""
    secure = host.url.startswith("https://")
    if secure and not host.verify_tls and host.ca_bundle is None:
        return "TLS not verified"
    loopback = host.url.startswith(("http://127.", "http://localhost", "http://[::1]"))
    if host.api_key and not secure and not loopback:
        return "API key sent unencrypted"
    return ""


class OllamaTUI(App[None]):
    """A keyboard-driven chat client for Ollama."""

    CSS_PATH = "app.tcss"
    TITLE = "ollama-tui"
    AUTO_FOCUS = "#prompt"
    BINDINGS = [
        Binding(default_keys("reply.stop"), "stop_reply", "Stop", id="reply.stop"),
        Binding(default_keys("reply.retry"), "retry", "Retry", id="reply.retry"),
        Binding(default_keys("conversation.new"), "new_conversation", "New", id="conversation.new"),
        Binding(
            default_keys("conversation.rename"),
            "rename_conversation",
            "Rename",
            show=False,
            id="conversation.rename",
        ),
        Binding(
            default_keys("conversation.search"),
            "search",
            "Search",
            priority=True,  # Inputs use ctrl+f for "delete word"; finding matters more here
            id="conversation.search",
        ),
        Binding(default_keys("model.pick"), "pick_model", "Model", id="model.pick"),
        Binding(default_keys("prompt.attach"), "attach", "Attach", show=False, id="prompt.attach"),
        Binding(default_keys("models.open"), "open_models", "Models", id="models.open"),
        Binding(default_keys("sidebar.toggle"), "toggle_sidebar", "Chats", id="sidebar.toggle"),
        Binding(
            default_keys("parameters.toggle"), "toggle_parameters", "Params", id="parameters.toggle"
        ),
        Binding(default_keys("app.help"), "help", "Help", id="app.help"),
        Binding(
            default_keys("messages.up"),
            "scroll_messages(-1)",
            "Scroll up",
            show=False,
            priority=True,
            id="messages.up",
        ),
        Binding(
            default_keys("messages.down"),
            "scroll_messages(1)",
            "Scroll down",
            show=False,
            priority=True,
            id="messages.down",
        ),
        Binding(
            default_keys("messages.focus"),
            "focus_messages",
            "Messages",
            show=False,
            id="messages.focus",
        ),
        Binding(default_keys("app.quit"), "quit", "Quit", priority=True, id="app.quit"),
    ]

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.store = ConversationStore(settings.data_dir)
        self.search_index = SearchIndex(settings.data_dir)
        self.host = active_host(settings)
        """The server new replies go to; each conversation remembers the one it used."""
        self._clients: dict[str, OllamaClient] = {}
        self.conversation = self._new_conversation()
        """The conversation on screen; it may be new and not yet saved."""
        self.models: list[ModelSummary] = []
        self._live: dict[str, LiveReply] = {}
        """Replies being streamed, by conversation id; at most one per conversation."""
        self._model_details: dict[tuple[str, str], ModelDetails] = {}
        """/api/show answers by (host name, model)."""
        self.set_keymap(settings.keys)
        self.calibration_path = settings.data_dir / "calibration.json"
        self.calibration = Calibration.load(self.calibration_path)
        self._reconnect_now = asyncio.Event()
        self._first_frame = asyncio.Event()
        self._restore_collector: Callable[[], None] | None = None
        if settings.theme in self.available_themes:
            self.theme = settings.theme

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
        yield Footer()

    # The panes never change after compose; looking them up once keeps the per-token path cheap.

    @cached_property
    def chips(self) -> AttachmentChips:
        return self.query_one(AttachmentChips)

    @property
    def attachment_folder(self) -> Path:
        """Where the attached files are stored (message views draw them from there)."""
        return self.store.attachments.folder

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
    def prompt(self) -> PromptArea:
        return self.query_one(PromptArea)

    @property
    def client(self) -> OllamaClient:
        """The client of the current host."""
        return self._client_for(self.host)

    def _client_for(self, host: HostSettings) -> OllamaClient:
        """One client per host, made when first needed."""
        if host.name not in self._clients:
            from ollama_tui.ollama.client import OllamaClient  # httpx: after the first frame

            self._clients[host.name] = OllamaClient(
                host.url,
                connect_timeout=self.settings.connect_timeout,
                stall_timeout=self.settings.stall_timeout,
                headers=request_headers(host),
                verify=str(host.ca_bundle) if host.ca_bundle else host.verify_tls,
            )
        return self._clients[host.name]

    def _show_host(self) -> None:
        host = self.host
        named = host.name in self.settings.hosts
        self.status.host = f"{host.name} {host.url}" if named else host.url
        self.status.warning = transport_warning(host)
        if self.status.warning:
            self.notify(
                f"{self.status.warning} for {host.url}: others on the network path "
                "could read or change your conversations (see [network] in the config).",
                severity="warning",
                markup=False,
            )

    async def on_mount(self) -> None:
        self._restore_collector = quiet_collector()  # before the library's summaries are read
        self._fit_panels(self.size.width)
        self._show_host()
        self.sidebar.set_summaries(self.store.list())
        if self.settings.theme not in self.available_themes:
            self.notify(
                f"Unknown theme {self.settings.theme!r} in the config; using {self.theme}.",
                severity="warning",
                markup=False,
            )
        for path in self.store.set_aside:
            self.notify(f"A damaged conversation file was moved to {path}", severity="warning")
        await self.message_list.mount(MemoryMarker("", id="memory-marker"))
        await self._show(self.conversation)
        self.call_after_refresh(self._after_first_frame)

    def _after_first_frame(self) -> None:
        """Start talking to the server and indexing: the screen is up, so these no longer
        delay it (importing httpx and setting up TLS take ~0.1 s, the index a file scan)."""
        self._first_frame.set()
        self._watch_connection()
        self._sync_search_index()

    async def on_unmount(self) -> None:
        if self._restore_collector is not None:
            self._restore_collector()
        for live in self._live.values():
            live.sync()
            if live.message.is_reply_in_progress:
                live.message.state = MessageState.INTERRUPTED
            self._save(live.conversation)
        self.store.flush_index()
        self.search_index.close()
        for client in self._clients.values():
            await client.aclose()

    @property
    def replies_in_progress(self) -> int:
        """How many replies are streaming, in any conversation."""
        return len(self._live)

    def on_resize(self, event: Resize) -> None:
        self._fit_panels(event.size.width)

    def _fit_panels(self, width: int) -> None:
        """Show the panels the user wants, as far as the terminal's width leaves room."""
        self.parameters.display = self.settings.show_parameters and width >= NARROW_WIDTH
        self.sidebar.display = self.settings.show_sidebar and width >= VERY_NARROW_WIDTH

    # Conversations

    def _new_conversation(self) -> Conversation:
        defaults = self.settings.defaults
        return Conversation(
            model=self.settings.model,
            system_prompt=defaults.system_prompt,
            memory=MemoryStrategy(defaults.memory),
            options=replace(defaults.options),
        )

    async def _show(self, conversation: Conversation) -> None:
        """Make `conversation` the open one: messages, parameters, sidebar highlight, status."""
        self.conversation = conversation
        missing = self.store.attachments.load_texts(conversation)
        if missing:
            names = ", ".join(one_line(a.name, 60) for a in missing[:3])
            self.notify(
                f"{len(missing)} attached file(s) of this conversation are missing from the data "
                f"folder ({names}); they show as placeholders.",
                severity="warning",
                markup=False,
            )
        live = self._live.get(conversation.id)
        if live is not None:
            live.sync()
        await self.message_list.show(conversation)
        if live is not None:
            view = self.message_list.view_of(live.message)
            if view is not None:
                await view.start_stream(live.message.content)
        self.parameters.show_conversation(conversation)
        self.sidebar.highlight_id(conversation.id if conversation.messages else None)
        self._follow_conversation_host(conversation)
        self._model_changed()
        self._show_memory()
        self.refresh_bindings()

    def _follow_conversation_host(self, conversation: Conversation) -> None:
        """Go back to the server a conversation was held on, or say why not."""
        if not conversation.host or conversation.host == self.host.name:
            return
        hosts = {host.name: host for host in all_hosts(self.settings)}
        host = hosts.get(conversation.host)
        if host is not None and not self.settings.host_from_environment:
            self._use_host(host)
            self.notify(f"Switched to {host.name} ({host.url}), where this conversation was held.")
            return
        reason = "not in the config" if host is None else "not chosen: --host or OLLAMA_HOST"
        self.notify(
            f"This conversation was held on host “{conversation.host}” ({reason}); replies now "
            f"go to {self.host.url}. ctrl+p → Switch host to change.",
            severity="warning",
            markup=False,
        )

    def _use_host(self, host: HostSettings) -> None:
        """Send new replies to `host`; replies already streaming finish where they started."""
        if host.name == self.host.name:
            return
        self.host = host
        self.models = []
        self.status.connection = Connection.CONNECTING
        self.status.version = ""
        self._show_host()
        self._watch_connection()  # exclusive: replaces the watcher of the previous host
        self._model_changed()

    @work(group="hosts", exclusive=True, exit_on_error=False)
    async def action_switch_host(self) -> None:
        hosts = all_hosts(self.settings)
        if len(hosts) < 2:
            self.notify(
                "Only one host is configured; add [hosts.NAME] tables to the config "
                "(see config.example.toml)."
            )
            return
        versions = await asyncio.gather(*(self._probe(host) for host in hosts))
        choices = [
            Choice(
                host.name,
                Content.assemble(
                    inert(host.name),
                    (f"   {host.url}", "dim"),
                    (f"   ● Ollama {version}", "$success")
                    if version
                    else ("   ● unreachable", "$error"),
                ),
                f"{host.name} {host.url}",
            )
            for host, version in zip(hosts, versions, strict=True)
        ]
        self.push_screen(PickerScreen("Host", choices, current=self.host.name), self._host_chosen)

    async def _probe(self, host: HostSettings) -> str | None:
        """The host's Ollama version, or None when it does not answer within a moment."""
        try:
            version = await asyncio.wait_for(self._client_for(host).version(), PROBE_SECONDS)
        except (OllamaError, TimeoutError):
            return None
        return sanitize(version)

    def _host_chosen(self, name: str | None) -> None:
        hosts = {host.name: host for host in all_hosts(self.settings)}
        if name in hosts:
            self._use_host(hosts[name])

    def _save(self, conversation: Conversation, *, index: bool = True) -> bool:
        """Write a conversation; on failure keep it in memory, say so, retry on the next change.

        `index=False` (checkpoints of a streaming reply) leaves the search index for later.
        """
        try:
            merged = self.store.save(conversation)
        except StoreError as error:
            self.notify(str(error), title="Not saved", severity="error", markup=False)
            return False
        if index:
            self._index(conversation)
        if merged:
            self.notify(
                f"{merged} message(s) written by another ollama-tui were merged into "
                f"'{conversation.title}'.",
                markup=False,
            )
            live = self._live.get(conversation.id)
            if live is not None:
                live.redraw = True  # after the reply, so its stream is not cut off
            elif conversation is self.conversation:
                self.call_later(self.message_list.show, conversation)
        return True

    @on(ConversationSidebar.OptionSelected, "#sidebar")
    async def _open_selected(self, event: ConversationSidebar.OptionSelected) -> None:
        if event.option.id is not None and event.option.id != self.conversation.id:
            await self._open(event.option.id)
        self.prompt.focus()

    async def _open(self, conversation_id: str) -> None:
        """Show a saved conversation (or the live copy of one whose reply is streaming)."""
        live = self._live.get(conversation_id)
        if live is not None:
            await self._show(live.conversation)
            return
        try:
            conversation = self.store.load(conversation_id)
        except StoreError as error:
            self.notify(str(error), title="Cannot open", severity="error", markup=False)
            self.sidebar.set_summaries(self.store.list())
            return
        await self._show(conversation)

    @on(ConversationSidebar.PinRequested)
    async def _pin_requested(self, event: ConversationSidebar.PinRequested) -> None:
        conversation_id = event.conversation_id
        if conversation_id == self.conversation.id:
            conversation = self.conversation
        elif conversation_id in self._live:
            conversation = self._live[conversation_id].conversation
        else:
            try:
                conversation = self.store.load(conversation_id)
            except StoreError as error:
                self.notify(str(error), title="Cannot pin", severity="error", markup=False)
                return
        conversation.pinned = not conversation.pinned
        if self._save(conversation, index=False):
            self.sidebar.upsert(ConversationSummary.of(conversation))
            self.sidebar.highlight_id(conversation_id)

    @on(ConversationSidebar.DeleteRequested)
    def _delete_requested(self, event: ConversationSidebar.DeleteRequested) -> None:
        self._ask_delete(event.conversation_id)

    def action_delete_conversation(self) -> None:
        if not self.conversation.messages:
            self.notify("This conversation is not saved yet; there is nothing to delete.")
            return
        self._ask_delete(self.conversation.id)

    def _ask_delete(self, conversation_id: str) -> None:
        if conversation_id in self._live:
            self.notify("A reply is still arriving there: stop it (escape) before deleting.")
            return
        option = self.sidebar.get_option(conversation_id)
        title = str(option.prompt).split("\n", 1)[0]
        self.push_screen(
            ConfirmScreen(
                "Delete conversation",
                f"Move “{title}” to the trash? “Restore deleted conversation” in the "
                "command palette (ctrl+p) brings it back.",
                yes="Delete",
                danger=True,
            ),
            partial(self._delete, conversation_id),
        )

    async def _delete(self, conversation_id: str, confirmed: bool | None) -> None:
        if not confirmed:
            return
        try:
            self.store.delete(conversation_id)
        except StoreError as error:
            self.notify(str(error), title="Not deleted", severity="error", markup=False)
            return
        self.sidebar.remove_option(conversation_id)
        with contextlib.suppress(SearchError):
            self.search_index.remove(conversation_id)
        if self.conversation.id == conversation_id:
            await self._show(self._new_conversation())
        self.notify("Moved to the trash; ctrl+p → “Restore deleted conversation” undoes it.")

    def action_restore_conversation(self) -> None:
        trashed = self.store.trashed()
        if not trashed:
            self.notify("The trash is empty.")
            return
        choices = [
            Choice(s.id, Content.assemble(inert(s.title), (f"   {s.model}", "dim")), s.title)
            for s in trashed
        ]
        self.push_screen(
            PickerScreen("Deleted conversation", choices, hint="type part of a title"),
            self._restore,
        )

    def action_empty_trash(self) -> None:
        count = len(self.store.trashed())
        if not count:
            self.notify("The trash is empty.")
            return
        self.push_screen(
            ConfirmScreen(
                "Empty the trash",
                f"Delete the {count} conversation(s) in the trash for good, with the attached "
                "files no other conversation uses?",
                yes="Delete",
                danger=True,
            ),
            self._empty_trash,
        )

    def _empty_trash(self, confirmed: bool | None) -> None:
        if not confirmed:
            return
        try:
            conversations, files = self.store.empty_trash()
        except StoreError as error:
            self.notify(str(error), title="Trash not emptied", severity="error", markup=False)
            return
        self.notify(f"Deleted {conversations} conversation(s) and {files} attached file(s).")

    async def _restore(self, conversation_id: str | None) -> None:
        if conversation_id is None:
            return
        try:
            conversation = self.store.restore(conversation_id)
        except StoreError as error:
            self.notify(str(error), title="Not restored", severity="error", markup=False)
            return
        self.sidebar.upsert(ConversationSummary.of(conversation))
        self._index(conversation)
        await self._show(conversation)
        self.notify(f"Restored “{conversation.title}”.", markup=False)

    def action_rename_conversation(self) -> None:
        if not self.conversation.messages:
            self.notify("Send a first message; the conversation gets its title from it.")
            return
        self.push_screen(
            TextPromptScreen("Rename conversation", self.conversation.title),
            self._renamed,
        )

    def _renamed(self, title: str | None) -> None:
        if title is None or not title.strip():
            return
        self.conversation.rename(title)
        self._save(self.conversation)
        self.sidebar.upsert(ConversationSummary.of(self.conversation))
        self.sidebar.highlight_id(self.conversation.id)

    async def action_duplicate_conversation(self) -> None:
        if not self.conversation.messages:
            self.notify("Nothing to duplicate yet.")
            return
        live = self._live.get(self.conversation.id)
        if live is not None:
            live.sync()
        copy = self.conversation.duplicate()
        if self._save(copy):
            self.sidebar.upsert(ConversationSummary.of(copy))
            await self._show(copy)
            self.notify(f"Duplicated as “{copy.title}”.", markup=False)

    def _index(self, conversation: Conversation) -> None:
        try:
            self.search_index.update(conversation)
        except SearchError as error:
            self.notify(f"Search index not updated: {error}", severity="warning", markup=False)

    @work(thread=True, group="search-index", exclusive=True, exit_on_error=False)
    def _sync_search_index(self) -> None:
        """Bring the search index up to date with files changed while the app was closed."""
        try:
            self.search_index.sync(ConversationStore(self.settings.data_dir))
        except SearchError as error:
            self.call_from_thread(
                self.notify, f"Search index: {error}", severity="warning", markup=False
            )

    def action_search(self) -> None:
        self.push_screen(SearchScreen(self.search_index), self._open_hit)

    async def _open_hit(self, hit: tuple[str, str | None] | None) -> None:
        if hit is None:
            return
        conversation_id, message_id = hit
        if conversation_id != self.conversation.id:
            await self._open(conversation_id)
        if message_id is not None and self.conversation.id == conversation_id:
            await self.message_list.reveal(message_id)

    def action_export_conversation(self) -> None:
        if not self.conversation.messages:
            self.notify("Nothing to export yet.")
            return
        choices = [
            Choice("md", Content("Markdown — to read or share"), "markdown md"),
            Choice("json", Content("JSON — to import again, or for other tools"), "json"),
        ]
        self.push_screen(PickerScreen("Export format", choices), self._ask_export_path)

    def _ask_export_path(self, kind: str | None) -> None:
        if kind not in FORMATS:
            return
        suggested = Path.cwd() / suggested_file_name(self.conversation, kind)
        self.push_screen(
            TextPromptScreen("Export to file", str(suggested)),
            partial(self._export, self.conversation, kind),
        )

    def _export(self, conversation: Conversation, kind: ExportFormat, path: str | None) -> None:
        if not path or not path.strip():
            return
        target = Path(path.strip()).expanduser()
        try:
            write_export(conversation, target, kind, self.store.attachments)
        except TransferError as error:
            self.notify(str(error), title="Not exported", severity="error", markup=False)
            return
        self.notify(f"Exported to {target}", markup=False)

    def action_import_conversation(self) -> None:
        self.push_screen(
            TextPromptScreen(
                "Import a JSON export", "", placeholder="path of a file exported as JSON"
            ),
            self._import,
        )

    async def _import(self, path: str | None) -> None:
        if not path or not path.strip():
            return
        try:
            conversation = import_file(Path(path.strip()).expanduser(), self.store)
        except TransferError as error:
            self.notify(str(error), title="Not imported", severity="error", markup=False)
            return
        self.sidebar.upsert(ConversationSummary.of(conversation))
        self._index(conversation)
        await self._show(conversation)
        self.notify(f"Imported “{conversation.title}”.", markup=False)

    async def action_new_conversation(self) -> None:
        if self.conversation.messages:
            await self._show(self._new_conversation())
        self.prompt.focus()

    # Sending and streaming

    @on(PromptArea.Changed, "#prompt")
    def _draft_changed(self) -> None:
        # A change still queued while the app closes finds the screen already taken down.
        with contextlib.suppress(NoMatches):
            self._show_memory()

    @on(PromptArea.Submitted, "#prompt")
    async def _send(self, event: PromptArea.Submitted) -> None:
        conversation = self.conversation
        if not conversation.model:
            self.prompt.text = event.text
            self.notify("Choose a model first: press ctrl+l.", severity="warning")
            return
        if conversation.id in self._live:
            self.prompt.text = event.text
            self.notify("A reply is still arriving: wait for it or press escape to stop it.")
            return
        if not await self._attachments_can_go(conversation, event.text):
            return
        invalid = self.parameters.invalid_fields
        if invalid:
            self.notify(
                f"Invalid, so not sent: {', '.join(invalid)}; the model's defaults apply.",
                severity="warning",
            )
        plan = self._plan(conversation, draft=event.text)
        if not plan.fits and conversation.memory is MemoryStrategy.FULL:
            self.prompt.text = event.text
            self.push_screen(
                PickerScreen("Too long for the context window", overflow_choices(plan)),
                partial(self._after_overflow_choice, conversation, event.text),
            )
            return
        await self._submit(conversation, event.text)

    async def _after_overflow_choice(
        self, conversation: Conversation, text: str, choice: str | None
    ) -> None:
        """Send as the user decided when full memory would not fit, or keep the draft."""
        if choice is None or conversation is not self.conversation:
            return
        if choice != SEND_ANYWAY:
            self._set_memory(MemoryStrategy(choice))
        self.prompt.clear()
        await self._submit(conversation, text)

    async def _attachments_can_go(self, conversation: Conversation, text: str) -> bool:
        """Whether the files of this message (and the images of earlier ones) can be sent;
        if not, the message stays in the prompt and the app says why."""
        details = await self._details_of(conversation.model)
        sees = details is None or "vision" in details.capabilities
        earlier = conversation_images(conversation) if sees else []
        missing = missing_files([*earlier, *self.chips.pending], self.store.attachments)
        if missing:
            self.prompt.text = text
            self.notify(str(AttachmentMissing(missing[0])), severity="error", markup=False)
            return False
        if sees or not any(a.is_image for a in self.chips.pending):
            return True
        self.prompt.text = text
        self.push_screen(
            PickerScreen(
                "This model cannot see images",
                vision_choices(self.models, conversation.model),
                hint=f"{conversation.model} has no vision; switch to a model that reads images",
            ),
            partial(self._after_vision_choice, conversation),
        )
        return False

    async def _after_vision_choice(self, conversation: Conversation, choice: str | None) -> None:
        if choice in (None, KEEP_DRAFT) or conversation is not self.conversation:
            return
        self._switch_model(choice)
        self.prompt.submit_now()

    async def _attach(self, path: Path) -> None:
        try:
            attachment = await read_attachment(
                path, self.store.attachments, self.settings.attach_limits
            )
        except (AttachmentRefused, AttachmentStoreError) as error:
            self.notify(str(error), title="Not attached", severity="error", markup=False)
            return
        if not await self.chips.add(attachment):
            self.notify(f"{attachment.name} is attached already.", markup=False)

    def action_attach(self) -> None:
        self.push_screen(AttachScreen(Path.cwd()), self._attach_chosen)

    async def _attach_chosen(self, path: Path | None) -> None:
        if path is not None:
            await self._attach(path)
        self.prompt.focus()

    @on(PromptArea.PathPasted, "#prompt")
    def _path_pasted(self, event: PromptArea.PathPasted) -> None:
        async def answered(attach: bool | None) -> None:
            if attach:
                await self._attach(event.path)
            else:
                self.prompt.insert(event.text)

        self.push_screen(
            ConfirmScreen(
                "Attach the pasted file?", f"{event.path}", yes="Attach", no="Paste text"
            ),
            answered,
        )

    @on(AttachmentChips.Changed, "#attachment-chips")
    def _chips_changed(self) -> None:
        self.prompt.can_send_empty = bool(self.chips.pending)
        with contextlib.suppress(NoMatches):
            self._show_memory()

    async def _submit(self, conversation: Conversation, text: str) -> None:
        attachments = await self.chips.take()
        user_message = conversation.add_user_message(text, attachments)
        await self.message_list.add(user_message)
        await self._begin_reply(conversation, conversation.start_reply())

    async def _begin_reply(self, conversation: Conversation, reply: Message) -> None:
        """Save, show and start streaming a reply that was just appended to `conversation`."""
        live = LiveReply(conversation, reply, client=self.client)
        conversation.host = self.host.name
        self._live[conversation.id] = live
        self._save(conversation)  # the user's words are on disk before anything is sent
        self.sidebar.upsert(ConversationSummary.of(conversation))
        self.sidebar.highlight_id(conversation.id)
        view = self.message_list.view_of(reply) or await self.message_list.add(reply)
        await view.start_stream("")
        live.worker = self._stream_reply(live)
        self.refresh_bindings()

    @work(group="replies", exit_on_error=False)
    async def _stream_reply(self, live: LiveReply) -> None:
        conversation, reply = live.conversation, live.message
        self._set_activity(f"waiting for {reply.model}…")
        try:
            await self._receive(live)
            reply.state = MessageState.COMPLETE
        except asyncio.CancelledError:
            reply.state = MessageState.CANCELLED
            raise
        except Unreachable as error:
            await self._keep_unsent(live, error)
        except (StreamBroken, Stalled) as error:
            self._reply_failed(reply, MessageState.INTERRUPTED, error)
        except AttachmentMissing as error:
            reply.state, reply.error = MessageState.FAILED, str(error)
            self.notify(str(error), title="Not sent", severity="error", markup=False)
        except OllamaError as error:
            self._reply_failed(reply, MessageState.FAILED, error)
        finally:
            live.sync()
            self._live.pop(conversation.id, None)
            self._save(conversation)
            self.sidebar.upsert(ConversationSummary.of(conversation))
            self.sidebar.highlight_id(self.conversation.id if self.conversation.messages else None)
            view = self._view_of(live)
            if view is not None:
                await view.end_stream()
                if live.redraw:
                    await self.message_list.show(conversation)
            self._reply_finished(live)

    async def _receive(self, live: LiveReply) -> None:
        """Stream the reply into `live`; a busy server is retried a few times, visibly."""
        conversation, reply = live.conversation, live.message
        assert live.client is not None
        model = reply.model or conversation.model
        details = await self._details_of(model)
        plan = live.plan = await self._fit_history(live)
        if not plan.fits:
            self.notify(
                f"The request (~{plan.estimated_tokens:,} tokens) exceeds the context window "
                f"({plan.num_ctx:,}); Ollama will cut its start. Raise Context in the panel.",
                severity="warning",
            )
        last_checkpoint = monotonic()
        for attempt in range(len(BUSY_RETRY_DELAYS) + 1):
            try:
                async for event in live.client.chat(
                    model,
                    with_images(plan.messages, plan.images, self.store.attachments.base64_of),
                    options=request_options(conversation.options, plan.num_ctx),
                    think=conversation.think if details and details.can_think else None,
                    keep_alive=keep_alive_value(conversation.keep_alive),
                ):
                    self._take(live, event)
                    if monotonic() - last_checkpoint > CHECKPOINT_SECONDS:
                        live.sync()
                        self._save(conversation, index=False)
                        last_checkpoint = monotonic()
                return
            except ServerBusy:
                if live.content or live.thinking or attempt == len(BUSY_RETRY_DELAYS):
                    raise
                delay = BUSY_RETRY_DELAYS[attempt]
                self._note(
                    live,
                    f"Ollama is busy; retry {attempt + 1} of "
                    f"{len(BUSY_RETRY_DELAYS)} in {delay:g} s…",
                )
                await asyncio.sleep(delay)
                self._note(live, "")

    def _plan(
        self,
        conversation: Conversation,
        *,
        strategy: MemoryStrategy | None = None,
        draft: str = "",
    ) -> ContextPlan:
        """What the next request would carry, fitted to the model's context window; images
        only for a model that takes them (or whose capabilities are not known yet)."""
        details = self._model_details.get((self.host.name, conversation.model))
        num_ctx = effective_num_ctx(
            conversation.options.num_ctx,
            self.settings.defaults.options.num_ctx,
            self._context_limit(conversation.model),
        )
        reserve = reply_reserve(
            num_ctx, conversation.options.num_predict, self.settings.reply_reserve or None
        )
        return plan_request(
            conversation,
            num_ctx=num_ctx,
            reserve=reserve,
            estimator_for_model=self.calibration.estimator,
            strategy=strategy,
            draft=draft,
            draft_attachments=self.chips.pending,
            send_images=details is None or "vision" in details.capabilities,
        )

    async def _fit_history(self, live: LiveReply) -> ContextPlan:
        """Plan the request; under summary memory, fold older turns into the summary first.

        A failed summary falls back to the latest turns that fit; the conversation itself is
        never changed by this beyond storing the summary.
        """
        conversation = live.conversation
        assert live.client is not None
        plan = self._plan(conversation)
        for _ in range(MAX_SUMMARY_ROUNDS):
            if not plan.needs_summary:
                return plan
            count = len(plan.needs_summary)
            self._note(live, f"summarising {count} earlier messages to fit the context…")
            model = self.settings.summary_model or conversation.model
            try:
                answer = await live.client.chat_once(
                    model, plan.summary_request(), options={"num_ctx": plan.num_ctx}
                )
                apply_summary(conversation, answer.content, plan.needs_summary, model)
            except (OllamaError, ValueError) as error:
                self.notify(
                    f"Could not summarise earlier messages ({one_line(str(error), 120)}); "
                    "sending the latest turns that fit instead.",
                    severity="warning",
                    markup=False,
                )
                return self._plan(conversation, strategy=MemoryStrategy.WINDOW)
            finally:
                self._note(live, "")
            self._save(conversation)
            plan = self._plan(conversation)
        if not plan.needs_summary:
            return plan
        self.notify(
            "The summary of earlier messages does not fit the context window; "
            "sending the latest turns that fit instead.",
            severity="warning",
        )
        return self._plan(conversation, strategy=MemoryStrategy.WINDOW)

    async def _details_of(self, model: str) -> ModelDetails | None:
        """The model's /api/show facts (context size, capabilities), fetched once per model."""
        key = (self.host.name, model)
        if key not in self._model_details:
            try:
                self._model_details[key] = await self.client.show(model)
            except OllamaError:
                return None  # a chat request will report what is wrong
        return self._model_details[key]

    def _context_limit(self, model: str) -> int | None:
        details = self._model_details.get((self.host.name, model))
        return details.context_length if details else None

    def _show_memory(self) -> None:
        """Update the context meter and the marker where the model's memory begins."""
        conversation = self.conversation
        plan = self._plan(conversation, draft=self.prompt.text)
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

    @on(MessageList.EarlierShown)
    def _earlier_shown(self) -> None:
        self._show_memory()  # the message where memory begins may be on screen now

    @on(MemoryMarker.Opened)
    def _open_summary(self) -> None:
        summary = self.conversation.summary
        if summary is None:
            self.notify("No summary: the earlier messages are simply not sent (window memory).")
            return
        self.push_screen(
            SummaryScreen(summary.text, summary.covered_count, summary.model),
            self._summary_edited,
        )

    def _summary_edited(self, result: tuple[str, str] | None) -> None:
        conversation = self.conversation
        if result is None or conversation.summary is None:
            return
        action, text = result
        if action == "drop" or not text.strip():
            conversation.summary = None
            self.notify("Summary dropped; it is rebuilt when the conversation no longer fits.")
        else:
            conversation.summary = replace(conversation.summary, text=text.strip())
        self._save(conversation)
        self._show_memory()

    def _take(self, live: LiveReply, event: ChatEvent) -> None:
        """Add one stream event to the reply, and to its view when it is on screen."""
        reply = live.message
        view = self._view_of(live)
        match event:
            case ContentDelta(text=text):
                if not live.content and live.conversation is self.conversation:
                    self._set_activity(f"{reply.model} is answering…")
                live.content.append(text)
                if view is not None:
                    view.append_content(text)
            case ThinkingDelta(text=text):
                if not live.thinking and live.conversation is self.conversation:
                    self._set_activity(f"{reply.model} is thinking…")
                live.thinking.append(text)
                if view is not None:
                    reply.thinking = "".join(live.thinking)
                    view.thinking_changed()
            case ChatDone(done_reason=done_reason, stats=stats):
                reply.done_reason = done_reason
                reply.stats = stats.to_dict()

    def _note(self, live: LiveReply, text: str) -> None:
        view = self._view_of(live)
        if view is not None:
            view.set_note(text)

    def _reply_failed(self, reply: Message, state: MessageState, error: OllamaError) -> None:
        reply.state = state
        reply.error = str(error)
        self.notify(f"{error} · F5 retries", title="Reply failed", severity="error", markup=False)
        self._check_connection_now()

    async def _keep_unsent(self, live: LiveReply, error: OllamaError) -> None:
        """The server was never reached: drop the empty reply, mark the user's message unsent."""
        conversation, reply = live.conversation, live.message
        view = self._view_of(live)
        if view is not None:
            await view.end_stream()
            await view.remove()
        conversation.messages.remove(reply)
        user_message = conversation.messages[-1]
        user_message.state = MessageState.UNSENT
        user_message.error = str(error)
        if self.conversation is conversation:
            user_view = self.message_list.view_of(user_message)
            if user_view is not None:
                user_view.refresh_header()
        self.notify(f"Not sent: {error} · F5 sends it again", severity="error", markup=False)
        self._check_connection_now()

    async def action_retry(self) -> None:
        """Send an unsent message again, or regenerate the last reply (kept as a version)."""
        conversation = self.conversation
        if conversation.id in self._live or not conversation.messages:
            return
        last = conversation.messages[-1]
        if last.role is Role.USER:
            last.state, last.error = MessageState.COMPLETE, None
            view = self.message_list.view_of(last)
            if view is not None:
                view.refresh_header()
            await self._begin_reply(conversation, conversation.start_reply())
            return
        await self._write_again(conversation, last, None)

    async def _write_again(
        self, conversation: Conversation, reply: Message, model: str | None
    ) -> None:
        """Regenerate `reply` (from `model`, default the conversation's); the old text stays as
        a version, with the messages that followed it."""
        position = self._position_on_screen(conversation, reply)
        if position is None or self._busy("writing a reply again"):
            return
        new = conversation.restart_reply(reply, model)
        await self.message_list.replace_from(position)
        await self._begin_reply(conversation, new)

    def _view_of(self, live: LiveReply) -> MessageView | None:
        """The reply's view if its conversation is the one on screen."""
        if self.conversation is not live.conversation:
            return None
        return self.message_list.view_of(live.message)

    def _reply_finished(self, live: LiveReply) -> None:
        reply = live.message
        prompt_tokens = reply.stats.get("prompt_eval_count")
        calibrated = (
            live.plan is not None
            and prompt_tokens
            and reply.model
            and self.calibration.observe(
                reply.model, live.plan.messages, prompt_tokens, live.plan.image_tokens
            )
        )
        if calibrated:
            with contextlib.suppress(OSError):
                self.calibration.save(self.calibration_path)
        if live.conversation is self.conversation:
            self._show_memory()
            if live.plan is not None and prompt_tokens:
                self.status.context_used = prompt_tokens + reply.stats.get("eval_count", 0)
                self.status.context_exact = True
        speed = tokens_per_second(reply.stats)
        if speed is not None:
            self.status.speed = speed
        if reply.done_reason == "length":
            self.notify("The reply stopped at the token limit (Max reply tokens).")
        self._set_activity("")
        self.refresh_bindings()

    def _set_activity(self, text: str) -> None:
        streaming = any(live.conversation is self.conversation for live in self._live.values())
        self.status.activity = text if streaming or not text else ""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in MAIN_SCREEN_ACTIONS and self.screen is not self.screen_stack[0]:
            return False  # another screen is on top: its own keys apply, not these
        if action == "stop_reply":
            return self.conversation.id in self._live
        if action == "retry":
            return bool(self.conversation.messages) and self.conversation.id not in self._live
        return True

    async def action_stop_reply(self) -> None:
        live = self._live.get(self.conversation.id)
        if live is not None and live.worker is not None:
            live.worker.cancel()

    # Working with one message (the message list's cursor)

    def action_focus_messages(self) -> None:
        if self.conversation.messages:
            self.message_list.focus()
        else:
            self.notify("No messages yet: type below and press Enter.")

    @on(PromptArea.UpFromEmpty, "#prompt")
    def _up_from_empty_prompt(self) -> None:
        if self.conversation.messages:
            self.message_list.focus()

    @on(MessageList.Left)
    def _left_messages(self) -> None:
        self.prompt.focus()

    def _position_on_screen(self, conversation: Conversation, message: Message) -> int | None:
        """Where `message` is in the open conversation; None if another conversation is open or
        the message is gone (things moved on while a dialog was up)."""
        if conversation is not self.conversation:
            return None
        try:
            return conversation.position_of(message)
        except ValueError:
            return None

    def _busy(self, doing: str) -> bool:
        """Whether a reply is streaming in the open conversation (then say so)."""
        if self.conversation.id in self._live:
            self.notify(f"A reply is still arriving: stop it (escape) before {doing}.")
            return True
        return False

    @on(MessageList.VersionRequested)
    async def _flip_version(self, event: MessageList.VersionRequested) -> None:
        conversation, message = self.conversation, event.message
        if not message.versions:
            self.notify("This message has only one version: r writes a reply again, e edits yours.")
            return
        if self._busy("switching versions"):
            return
        position = conversation.position_of(message)
        shown = conversation.show_version(message, event.step)
        if shown is None:
            edge = "first" if event.step < 0 else "latest"
            self.notify(f"This is the {edge} of {message.version_count} versions.")
            return
        self._save(conversation)
        await self.message_list.replace_from(position)
        self._show_memory()

    @on(MessageList.EditRequested)
    def _edit_requested(self, event: MessageList.EditRequested) -> None:
        conversation, message = self.conversation, event.message
        if message.role is not Role.USER:
            self.notify("Only your own messages can be edited; r writes a reply again.")
            return
        if self._busy("editing"):
            return
        self.push_screen(
            EditMessageScreen(message.content, conversation.count_after(message)),
            partial(self._send_edited, conversation, message),
        )

    async def _send_edited(
        self, conversation: Conversation, message: Message, text: str | None
    ) -> None:
        position = self._position_on_screen(conversation, message)
        if text is None or not text.strip() or position is None or self._busy("editing"):
            return
        if not conversation.model:
            self.notify("Choose a model first: press ctrl+l.", severity="warning")
            return
        conversation.edit_message(message, text)
        await self.message_list.replace_from(position)
        self.prompt.focus()
        await self._begin_reply(conversation, conversation.start_reply())

    @on(MessageList.RegenerateRequested)
    async def _regenerate_requested(self, event: MessageList.RegenerateRequested) -> None:
        conversation, reply = self.conversation, event.message
        if reply.role is not Role.ASSISTANT:
            self.notify("Only replies can be written again; e edits your own message.")
            return
        if self._busy("writing a reply again"):
            return
        if event.pick_model:
            await self._pick_model_and_write_again(conversation, reply)
        else:
            await self._write_again(conversation, reply, None)

    async def action_write_again_with_model(self) -> None:
        messages = self.conversation.messages
        if not messages or messages[-1].role is not Role.ASSISTANT:
            self.notify("There is no reply to write again yet.")
        elif not self._busy("writing a reply again"):
            await self._pick_model_and_write_again(self.conversation, messages[-1])

    async def _pick_model_and_write_again(self, conversation: Conversation, reply: Message) -> None:
        if not self.models:
            await self._refresh_models()
        if self.models:
            self.push_screen(
                PickerScreen(
                    "Write the reply again with", model_choices(self.models), current=reply.model
                ),
                partial(self._write_again_with, conversation, reply),
            )

    async def _write_again_with(
        self, conversation: Conversation, reply: Message, model: str | None
    ) -> None:
        if model:
            await self._write_again(conversation, reply, model)
            if model != conversation.model:
                self.notify(
                    f"This reply comes from {model}; the next ones still from "
                    f"{conversation.model} (ctrl+l changes that).",
                    markup=False,
                )

    @on(MessageList.DeleteRequested)
    def _delete_message_requested(self, event: MessageList.DeleteRequested) -> None:
        conversation, message = self.conversation, event.message
        if self._busy("deleting"):
            return
        who = "your message" if message.role is Role.USER else "the reply"
        text = f"“{one_line(message.content, 60)}”"
        if not message.versions:
            question = f"Delete {who} {text} for good? The rest of the conversation stays."
        else:
            later = conversation.count_after(message)
            plural = "s" if later > 1 else ""
            branch = f" and the {later} message{plural} after it" if later else ""
            question = (
                f"Delete this version of {who} {text}{branch} for good? The version next to it "
                "takes its place, with what followed it."
            )
        self.push_screen(
            ConfirmScreen("Delete message", question, yes="Delete", danger=True),
            partial(self._delete_message, conversation, message),
        )

    async def _delete_message(
        self, conversation: Conversation, message: Message, confirmed: bool | None
    ) -> None:
        position = self._position_on_screen(conversation, message)
        if not confirmed or position is None or self._busy("deleting"):
            return
        shown = conversation.remove_message(message)
        self._save(conversation)
        self.sidebar.upsert(ConversationSummary.of(conversation))
        self.sidebar.highlight_id(conversation.id)
        await self.message_list.replace_from(position)
        self._show_memory()
        self.notify("Version deleted." if shown else "Message deleted.")

    # Models

    def action_open_models(self) -> None:
        if isinstance(self.screen, ModelsScreen):
            return
        self.push_screen(ModelsScreen(self.client))

    @on(ModelsScreen.ModelsChanged)
    async def _models_changed(self) -> None:
        await self._refresh_models()

    async def action_pick_model(self) -> None:
        if not self.models:
            await self._refresh_models()
        if not self.models:
            self.notify(
                f"No models to choose from on {self.host.url}; "
                "pull one with `ollama pull llama3.2`.",
                severity="warning",
                markup=False,
            )
            return
        self.push_screen(
            PickerScreen("Model", model_choices(self.models), current=self.conversation.model),
            self._choose_model,
        )

    def _choose_model(self, model: str | None) -> None:
        if model:
            self._switch_model(model)

    @on(ParameterPanel.ModelChosen)
    def _model_chosen_in_panel(self, event: ParameterPanel.ModelChosen) -> None:
        self._switch_model(event.model)

    def _switch_model(self, model: str) -> None:
        """Use `model` from the next message on; the whole history goes to it."""
        if model == self.conversation.model:
            return
        self.conversation.model = model
        if self.conversation.messages:
            self._save(self.conversation)
        self._model_changed()
        if self.settings.model != model:
            self.settings.model = model
            self._save_preferences(model=model)
        self.notify(f"Next replies come from {model}.", markup=False)
        listed = next((m for m in self.models if m.name == model), None)
        images = len(conversation_images(self.conversation))
        if images and listed is not None and "vision" not in listed.capabilities:
            self.notify(
                f"{model} cannot see images: the {images} image(s) of this conversation will "
                "not be sent to it.",
                severity="warning",
                markup=False,
            )
        self.prompt.focus()

    def _model_changed(self) -> None:
        model = self.conversation.model
        self.status.model = model
        self.parameters.set_model(model)
        if model:
            self._load_model_details(model)

    @work(group="model-details", exclusive=True, exit_on_error=False)
    async def _load_model_details(self, model: str) -> None:
        await self._first_frame.wait()
        details = await self._details_of(model)
        if model == self.conversation.model:
            self.parameters.set_context_limit(details.context_length if details else None)
            self.parameters.show_thinking(
                details is not None and details.can_think, self.conversation.think
            )
            self._show_memory()

    async def _refresh_models(self) -> None:
        try:
            self.models = await self.client.list_models()
        except OllamaError as error:
            self.notify(str(error), severity="error", markup=False)
            self._check_connection_now()
            return
        chat_models = [m.name for m in self.models if "embedding" not in m.capabilities]
        self.parameters.set_models(chat_models, self.conversation.model)
        model = self.conversation.model
        if model and chat_models and model not in chat_models:
            self.notify(
                f"Model '{model}' is not on {self.host.url}; ctrl+l picks another, or pull it "
                f"with `ollama pull {model}`.",
                severity="warning",
                markup=False,
            )
        if not self.conversation.model and chat_models:
            self.conversation.model = self.settings.model or chat_models[0]
            self._model_changed()

    # Connection

    @work(group="connection", exclusive=True, exit_on_error=False)
    async def _watch_connection(self) -> None:
        """Track whether the server answers; retry with backoff while it does not."""
        failures = 0
        while True:
            try:
                version = await self.client.version()
            except OllamaError:
                self.status.connection = Connection.UNREACHABLE
                delay = RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)]
                failures += 1
            else:
                reconnected = self.status.connection is not Connection.CONNECTED
                self.status.connection = Connection.CONNECTED
                self.status.version = sanitize(version)
                failures = 0
                delay = HEALTH_CHECK_SECONDS
                if reconnected:
                    await self._refresh_models()
                    self._offer_unsent()
            self._reconnect_now.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._reconnect_now.wait(), delay)

    def _offer_unsent(self) -> None:
        messages = self.conversation.messages
        if messages and messages[-1].state is MessageState.UNSENT:
            self.notify(f"Ollama at {self.host.url} answers again; F5 sends your message.")

    def _check_connection_now(self) -> None:
        """After a failure, let the connection watcher look again at once."""
        self._reconnect_now.set()

    # Parameters

    @on(ParameterPanel.OptionsChanged)
    def _options_changed(self, event: ParameterPanel.OptionsChanged) -> None:
        self.conversation.options = replace(event.options)
        if self.conversation.messages:
            self._save(self.conversation)
        self._show_memory()

    @on(ParameterPanel.KeepAliveChanged)
    def _keep_alive_chosen(self, event: ParameterPanel.KeepAliveChanged) -> None:
        self.conversation.keep_alive = event.keep_alive
        if self.conversation.messages:
            self._save(self.conversation)

    @on(ParameterPanel.ThinkChanged)
    def _think_chosen(self, event: ParameterPanel.ThinkChanged) -> None:
        self.conversation.think = event.think
        if self.conversation.messages:
            self._save(self.conversation)

    @on(ParameterPanel.MemoryChanged)
    def _memory_chosen(self, event: ParameterPanel.MemoryChanged) -> None:
        self._set_memory(event.memory)

    def _set_memory(self, memory: MemoryStrategy) -> None:
        """Change what requests carry; the conversation's messages stay exactly as they are."""
        self.conversation.memory = memory
        self.parameters.show_memory(memory)
        if self.conversation.messages:
            self._save(self.conversation)
        self._show_memory()

    @on(ParameterPanel.SystemPromptChanged)
    def _system_prompt_changed(self, event: ParameterPanel.SystemPromptChanged) -> None:
        self.conversation.system_prompt = event.system_prompt
        if self.conversation.messages:
            self._save(self.conversation)
        self._show_memory()

    # Panels, help, palette, preferences

    def action_toggle_sidebar(self) -> None:
        self._toggle_panel(self.sidebar, "show_sidebar")

    def action_toggle_parameters(self) -> None:
        self._toggle_panel(self.parameters, "show_parameters")

    def _toggle_panel(self, panel: ConversationSidebar | ParameterPanel, preference: str) -> None:
        """Show and focus a hidden panel; focus a visible one; hide a focused one."""
        focus_inside = self.focused is not None and (
            self.focused is panel or panel in self.focused.ancestors
        )
        if panel.display and focus_inside:
            panel.display = False
            self.prompt.focus()
        else:
            panel.display = True
            if self.size.width < NARROW_WIDTH:
                # No room for both beside the messages: showing one hides the other.
                other = self.parameters if panel is self.sidebar else self.sidebar
                other.display = False
            if isinstance(panel, ConversationSidebar):
                panel.focus()
            else:
                panel.query_one("#model-select").focus()
        if getattr(self.settings, preference) != panel.display:
            setattr(self.settings, preference, panel.display)
            self._save_preferences(**{preference: panel.display})

    async def action_scroll_messages(self, direction: int) -> None:
        if direction < 0:
            await self.message_list.page_up()
        else:
            self.message_list.page_down()

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.key_help()))

    def key_help(self) -> list[tuple[str, str]]:
        """Every command with the keys it has now (the config may rebind them)."""
        rows = [
            (self._keymap.get(command.id, command.keys).replace(",", " / "), command.description)
            for command in COMMANDS
        ]
        rows.insert(-2, ("tab / shift+tab", "move between the prompt and the panels"))
        rows.insert(-1, ("ctrl+p", "command palette: every command by name"))
        return rows

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            "New conversation", "Start a new conversation (ctrl+n)", self.action_new_conversation
        )
        yield SystemCommand(
            "Pick model", "Choose the model for the next replies (ctrl+l)", self.action_pick_model
        )
        yield SystemCommand(
            "Stop reply", "Stop the reply as it arrives (escape)", self.action_stop_reply
        )
        yield SystemCommand(
            "Regenerate with another model",
            "Write the last reply again with a model you pick; the old one stays a version",
            self.action_write_again_with_model,
        )
        yield SystemCommand(
            "Toggle conversations",
            "Show or hide the conversation list (ctrl+b)",
            self.action_toggle_sidebar,
        )
        yield SystemCommand(
            "Toggle parameters",
            "Show or hide the parameter panel (ctrl+r)",
            self.action_toggle_parameters,
        )
        yield SystemCommand(
            "Search conversations", "Find words in every conversation (ctrl+f)", self.action_search
        )
        yield SystemCommand(
            "Rename conversation",
            "Give the open conversation a new title (F2)",
            self.action_rename_conversation,
        )
        yield SystemCommand(
            "Duplicate conversation",
            "Copy the open conversation under a new id",
            self.action_duplicate_conversation,
        )
        yield SystemCommand(
            "Export conversation",
            "Write the open conversation to a Markdown or JSON file",
            self.action_export_conversation,
        )
        yield SystemCommand(
            "Import conversation",
            "Add a conversation from a JSON export (never overwrites one)",
            self.action_import_conversation,
        )
        yield SystemCommand(
            "Delete conversation",
            "Move the open conversation to the trash (Delete in the list)",
            self.action_delete_conversation,
        )
        yield SystemCommand(
            "Restore deleted conversation",
            "Bring a conversation back from the trash",
            self.action_restore_conversation,
        )
        yield SystemCommand(
            "Empty the trash",
            "Delete trashed conversations for good, and the attached files only they used",
            self.action_empty_trash,
        )
        yield SystemCommand(
            "Models",
            "Installed and loaded models: details, pull, delete, unload (F3)",
            self.action_open_models,
        )
        yield SystemCommand(
            "Switch host",
            "Send new replies to another Ollama server from [hosts.NAME]",
            self.action_switch_host,
        )
        yield SystemCommand("Help", "List every key (F1)", self.action_help)

    def watch_theme(self, theme: str) -> None:
        if self.is_running and theme != self.settings.theme:
            self.settings.theme = theme
            self._save_preferences(theme=theme)

    def _save_preferences(self, **changes: str | bool) -> None:
        try:
            save_preferences(self.settings.state_path, **changes)
        except (OSError, ConfigError) as error:
            self.notify(
                f"Preferences not saved to {self.settings.state_path}: {one_line(str(error))}",
                severity="warning",
                markup=False,
            )

    def on_markdown_link_clicked(self, event: Markdown.LinkClicked) -> None:
        """Links in messages open only for http(s), and only because the user chose one.

        (A handler by name: `@on(Markdown.LinkClicked)` would import Textual's Markdown at
        start-up, which message_body.py defers to the first message shown.)"""
        event.prevent_default()
        if event.href.startswith(("http://", "https://")):
            self.open_url(event.href)
        else:
            self.notify(
                f"Not opened (only http and https links open): {one_line(event.href)}", markup=False
            )
