"""The chat page: its keys, sending, the model and host it talks to, the parameter panel's
changes, and the panels. What it does with conversations and single messages lives in
chat_conversations.py and chat_messages.py; its core (panes, replies) in chat_page.py."""

from __future__ import annotations

import asyncio
import contextlib
from functools import partial

from textual import on, work
from textual.binding import Binding
from textual.content import Content
from textual.css.query import NoMatches

from ollama_tui.chat.context import ContextPlan
from ollama_tui.chat.conversation import Conversation, MemoryStrategy
from ollama_tui.docs import database_path, lock_folder, missing_extra
from ollama_tui.keymap import default_keys, key_label
from ollama_tui.ui.inert import inert
from ollama_tui.ui.screens.chat_attachments import AttachmentCommands
from ollama_tui.ui.screens.chat_conversations import ConversationCommands
from ollama_tui.ui.screens.chat_messages import MessageCommands
from ollama_tui.ui.screens.chat_page import NARROW_WIDTH
from ollama_tui.ui.screens.passage import PassageScreen
from ollama_tui.ui.screens.picker import Choice, PickerScreen
from ollama_tui.ui.screens.summary import SummaryScreen
from ollama_tui.ui.widgets.memory_marker import MemoryMarker
from ollama_tui.ui.widgets.message_list import MessageList
from ollama_tui.ui.widgets.parameter_panel import ParameterPanel
from ollama_tui.ui.widgets.prompt import PromptArea
from ollama_tui.ui.widgets.sidebar import ConversationSidebar

SEND_ANYWAY = "send-anyway"


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


def _health(version: str | None, *, short: bool = False) -> list[tuple[str, str]]:
    """A host's state in the host list: its Ollama version, or unreachable."""
    if version:
        return [(" ●" if short else f"   ● Ollama {version}", "$success")]
    return [(" ● down" if short else "   ● unreachable", "$error")]


def _binding(command_id: str, action: str, description: str, **options: bool) -> Binding:
    return Binding(default_keys(command_id), action, description, id=command_id, **options)


class ChatScreen(ConversationCommands, MessageCommands, AttachmentCommands):
    """The main page of the app."""

    BINDINGS = [
        # Quit is the app's, for every screen; bound here too, first, so the footer keeps
        # showing it before the chat page's keys.
        _binding("app.quit", "app.quit", "Quit", priority=True),
        # Help and the models next: at 80 columns the footer has room for about eight keys.
        _binding("app.help", "app.help", "Help"),
        _binding("reply.stop", "stop_reply", "Stop"),
        _binding("model.pick", "pick_model", "Model"),
        _binding("models.open", "open_models", "Models"),
        _binding("conversation.new", "new_conversation", "New"),
        _binding("conversation.rename", "rename_conversation", "Rename", show=False),
        # Inputs use ctrl+f for "delete word"; finding matters more here.
        _binding("conversation.search", "search", "Search", priority=True),
        _binding("prompt.attach", "attach", "Attach", show=False),
        _binding("sidebar.toggle", "toggle_sidebar", "Chats"),
        _binding("parameters.toggle", "toggle_parameters", "Params"),
        _binding("collections.open", "open_collections", "Docs", show=False),
        _binding("reply.retry", "retry", "Retry"),
        _binding("messages.up", "scroll_messages(-1)", "Scroll up", show=False, priority=True),
        _binding("messages.down", "scroll_messages(1)", "Scroll down", show=False, priority=True),
        _binding("messages.focus", "focus_messages", "Messages", show=False),
    ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.app.screen is not self:
            return False  # a dialog or the models screen is on top: its own keys apply
        if action == "stop_reply":
            return self.conversation.id in self.replies
        if action == "retry":
            return bool(self.conversation.messages) and self.conversation.id not in self.replies
        return True

    # Sending

    @on(PromptArea.Changed, "#prompt")
    def _draft_changed(self) -> None:
        # A change still queued while the app closes finds the screen already taken down.
        with contextlib.suppress(NoMatches):
            self._show_memory()

    @on(PromptArea.Submitted, "#prompt")
    async def _send(self, event: PromptArea.Submitted) -> None:
        conversation = self.conversation
        if not conversation.model:
            self.notify(self.model_advice(), severity="warning", markup=False)
            return
        if conversation.id in self.replies:
            self.notify(
                "A reply is still arriving: wait for it or press "
                f"{key_label('reply.stop')} to stop it."
            )
            return
        if not await self.attachments_can_go(conversation, self._send_with):
            return
        invalid = self.parameters.invalid_fields
        if invalid:
            self.notify(
                f"Invalid, so not sent: {', '.join(invalid)}; the model's defaults apply.",
                severity="warning",
            )
        plan = self.session.plan(
            conversation, draft=event.text, draft_attachments=self.chips.pending
        )
        if not plan.fits and conversation.memory is MemoryStrategy.FULL:
            self.app.push_screen(
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
        await self._submit(conversation, text)

    def _send_with(self, model: str) -> None:
        """Send the message in the prompt with `model` (a vision model, for its images)."""
        self._switch_model(model)
        self.prompt.submit_now()

    async def _submit(self, conversation: Conversation, text: str) -> None:
        self.prompt.take(text)
        self.session.prompts.add(text)
        attachments = await self.chips.take()
        user_message = conversation.add_user_message(text, attachments)
        await self.message_list.add(user_message)
        await self.begin_reply(conversation, conversation.start_reply())

    async def action_stop_reply(self) -> None:
        self.stop_reply()

    # Models and hosts

    def action_open_models(self) -> None:
        from ollama_tui.ui.screens.models import ModelsScreen

        if isinstance(self.app.screen, ModelsScreen):
            return
        self.app.push_screen(ModelsScreen(self.session.hosts.client))

    def action_open_collections(self) -> None:
        if problem := missing_extra():
            self.notify(problem, severity="warning", markup=False)
            return
        from ollama_tui.ui.screens.collections import CollectionsScreen

        if isinstance(self.app.screen, CollectionsScreen):
            return
        self.session.documents.forget()
        settings = self.settings
        screen = CollectionsScreen(
            database_path(settings), lock_folder(settings), self.session.hosts.client
        )
        self.app.push_screen(screen, lambda _: self.offer_collections())

    @on(ParameterPanel.CollectionsChanged)
    def _collections_chosen(self, event: ParameterPanel.CollectionsChanged) -> None:
        self.conversation.set_collections(event.collections)
        self.changed(self.conversation, memory=False)

    @on(MessageList.SourcesRequested)
    def _sources_requested(self, event: MessageList.SourcesRequested) -> None:
        """One source shows at once; several are listed first, Enter shows one."""
        sources = event.message.sources
        if len(sources) == 1:
            self.app.push_screen(PassageScreen(sources[0]))
            return
        choices = [
            Choice(str(number), inert(f"[{number + 1}] {source.location}  {source.score:.2f}"),
                   f"{source.location} {source.heading}")
            for number, source in enumerate(sources)
        ]  # fmt: skip

        def show(choice: str | None) -> None:
            if choice is not None:
                self.app.push_screen(PassageScreen(sources[int(choice)]))

        picker = PickerScreen("Sources", choices, hint="type part of a file name")
        self.app.push_screen(picker, show)

    async def action_pick_model(self) -> None:
        """The model picker, with the list held; asking the server again meanwhile, so a model
        pulled elsewhere shows up (the picker's list changes only when the server's did)."""
        await self.pick_model("Model", current=self.conversation.model, chosen=self._choose_model)

    def _choose_model(self, model: str | None) -> None:
        if model:
            self._switch_model(model)

    @on(ParameterPanel.ModelChosen)
    def _model_chosen_in_panel(self, event: ParameterPanel.ModelChosen) -> None:
        self._switch_model(event.model)

    @on(ParameterPanel.MoreModelsWanted)
    async def _more_models_wanted(self) -> None:
        await self.action_pick_model()

    def _switch_model(self, model: str) -> None:
        """Use `model` from the next message on; the whole history goes to it."""
        if model == self.conversation.model:
            return
        self.conversation.set_model(model)
        self.changed(self.conversation, memory=False)
        self._model_changed()
        if self.settings.model != model:
            self.session.save_preferences(model=model)
        self.notify(f"Next replies come from {model}.", markup=False)
        self.warn_images_stay_behind(model)
        self.prompt.focus()

    @work(group="hosts", exclusive=True, exit_on_error=False)
    async def action_switch_host(self) -> None:
        hosts = self.session.hosts
        choices, pools = hosts.all(), hosts.pools()
        if len(choices) + len(pools) < 2:
            self.notify(
                "Only one host is configured; add [hosts.NAME] tables to the config "
                "(see config.example.toml).",
                markup=False,
            )
            return
        versions = await asyncio.gather(*(hosts.probe(host) for host in choices))
        health = {host.name: version for host, version in zip(choices, versions, strict=True)}
        rows = [
            Choice(
                host.name,
                Content.assemble(
                    inert(host.name), (f"   {host.url}", "dim"), *_health(health[host.name])
                ),
                f"{host.name} {host.url}",
            )
            for host in choices
        ]
        for pool in pools:
            members: list[str | tuple[str, str]] = []
            for name in pool.hosts:
                members += [f"   {name}", *_health(health.get(name), short=True)]
            rows.append(
                Choice(
                    pool.name,
                    Content.assemble(
                        inert(pool.name), (f"   pool, {pool.strategy}:", "dim"), *members
                    ),
                    f"{pool.name} pool {' '.join(pool.hosts)}",
                )
            )
        self.app.push_screen(
            PickerScreen("Host", rows, current=hosts.selected_name), self._host_chosen
        )

    def _host_chosen(self, name: str | None) -> None:
        target = self.session.hosts.named(name) if name else None
        if target is not None:
            self._use_host(target)

    # Parameters

    @on(ParameterPanel.OptionsChanged)
    def _options_changed(self, event: ParameterPanel.OptionsChanged) -> None:
        self.conversation.set_options(event.options)
        self.changed(self.conversation)

    @on(ParameterPanel.KeepAliveChanged)
    def _keep_alive_chosen(self, event: ParameterPanel.KeepAliveChanged) -> None:
        self.conversation.set_keep_alive(event.keep_alive)
        self.changed(self.conversation, memory=False)

    @on(ParameterPanel.ThinkChanged)
    def _think_chosen(self, event: ParameterPanel.ThinkChanged) -> None:
        self.conversation.set_think(event.think)
        self.changed(self.conversation, memory=False)

    @on(ParameterPanel.MemoryChanged)
    def _memory_chosen(self, event: ParameterPanel.MemoryChanged) -> None:
        self._set_memory(event.memory)

    def _set_memory(self, memory: MemoryStrategy) -> None:
        """Change what requests carry; the conversation's messages stay exactly as they are."""
        self.conversation.set_memory(memory)
        self.parameters.show_memory(memory)
        self.changed(self.conversation)

    @on(ParameterPanel.FormatChanged)
    def _format_chosen(self, event: ParameterPanel.FormatChanged) -> None:
        self.conversation.set_format(event.format)
        self.changed(self.conversation, memory=False)

    @on(ParameterPanel.ToolsChanged)
    def _tools_chosen(self, event: ParameterPanel.ToolsChanged) -> None:
        self.conversation.set_tools(event.servers)
        self.changed(self.conversation, memory=False)
        self._model_changed()  # says again whether the model can use them

    @work(group="mcp-prompt", exclusive=True, exit_on_error=False)
    async def action_insert_mcp_prompt(self) -> None:
        await self.reply_tools.insert_prompt(self.conversation)

    @on(ParameterPanel.SystemPromptChanged)
    def _system_prompt_changed(self, event: ParameterPanel.SystemPromptChanged) -> None:
        self.conversation.set_system_prompt(event.system_prompt)
        self.changed(self.conversation)

    # The memory marker

    @on(MessageList.EarlierShown)
    def _earlier_shown(self) -> None:
        self._show_memory()  # the message where memory begins may be on screen now

    @on(MemoryMarker.Opened)
    def _open_summary(self) -> None:
        summary = self.conversation.summary
        if summary is None:
            self.notify("No summary: the earlier messages are simply not sent (window memory).")
            return
        self.app.push_screen(
            SummaryScreen(summary.text, summary.covered_count, summary.model),
            self._summary_edited,
        )

    def _summary_edited(self, result: tuple[str, str] | None) -> None:
        conversation = self.conversation
        if result is None or conversation.summary is None:
            return
        action, text = result
        if action == "drop" or not text.strip():
            conversation.edit_summary("")
            self.notify("Summary dropped; it is rebuilt when the conversation no longer fits.")
        else:
            conversation.edit_summary(text)
        self.changed(conversation)

    # Panels

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
            if self.app.size.width < NARROW_WIDTH:
                # No room for both beside the messages: showing one hides the other.
                other = self.parameters if panel is self.sidebar else self.sidebar
                other.display = False
            if isinstance(panel, ConversationSidebar):
                panel.focus()
            else:
                panel.focus_first_field()
        if getattr(self.settings, preference) != panel.display:
            self.session.save_preferences(**{preference: panel.display})

    async def action_scroll_messages(self, direction: int) -> None:
        if direction < 0:
            await self.message_list.page_up()
        else:
            self.message_list.page_down()
