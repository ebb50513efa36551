"""What the chat screen needs of tools: the config's MCP servers, the rounds of calls of a
reply with the user's consent asked in a dialog, and the notes the panel shows."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.content import Content

from ollama_tui.chat.conversation import Conversation, Message
from ollama_tui.chat.tools import Decision, ToolCall
from ollama_tui.ollama import ModelDetails
from ollama_tui.sanitize import sanitize
from ollama_tui.tools.loop import ToolRounds
from ollama_tui.tools.servers import ToolServerError, ToolServers
from ollama_tui.ui.inert import inert
from ollama_tui.ui.screens.picker import Choice, PickerScreen
from ollama_tui.ui.screens.text_prompt import TextPromptScreen
from ollama_tui.ui.screens.tool_consent import ToolConsentScreen

if TYPE_CHECKING:
    from ollama_tui.ui.app import OllamaTUI


class ReplyTools:
    """The app's MCP servers (started when a reply first needs them) and its consent dialog."""

    def __init__(self, app: OllamaTUI) -> None:
        self.app = app
        settings = app.settings
        self.settings = settings.tools
        self.servers = (
            ToolServers(settings.mcp, timeout=settings.tools.timeout) if settings.mcp else None
        )

    async def rounds_for(
        self,
        conversation: Conversation,
        details: ModelDetails | None,
        on_result: Callable[[ToolCall, Message], None],
    ) -> ToolRounds | None:
        """The tools a reply of `conversation` offers, or None when it offers none."""
        if not conversation.tools:
            return None
        rounds = ToolRounds(
            conversation,
            self.servers,
            self.settings,
            consent=self._consent,
            notify=self._notify,
            on_result=on_result,
        )
        await rounds.prepare(details.capabilities if details else ())
        return rounds

    @staticmethod
    def model_note(conversation: Conversation, details: ModelDetails | None) -> str:
        """One line when the conversation's model cannot use its tools, else ""."""
        if not conversation.tools or details is None or not details.capabilities:
            return ""
        if "tools" in details.capabilities:
            return ""
        return f"{details.name} cannot call tools; they are not offered to it"

    async def insert_prompt(self, conversation: Conversation) -> None:
        """Pick one of the prompts the MCP servers offer (those of the conversation, else all),
        fill in its arguments, and put its text into the prompt for the user to send."""
        if self.servers is None:
            self.app.notify("No MCP servers in the config ([mcp.NAME]); see the README.")
            return
        names = conversation.tools or list(self.servers.settings)
        prompts, problems = await self.servers.prompts(names)
        for problem in problems:
            self._notify(problem)
        if not prompts:
            self.app.notify("The MCP servers offer no prompts.", markup=False)
            return
        by_key = {f"{p.server}/{p.name}": p for p in prompts}
        choices = [
            Choice(key, Content.assemble(inert(key), ("  " + p.description, "dim")), key)
            for key, p in by_key.items()
        ]
        key = await self.app.push_screen_wait(
            PickerScreen("MCP prompt", choices, hint="type part of a prompt's name")
        )
        if key is None:
            return
        spec = by_key[key]
        arguments: dict[str, str] = {}
        for name in spec.arguments:
            needed = "required" if name in spec.required else "optional, enter to skip"
            value = await self.app.push_screen_wait(
                TextPromptScreen(f"{spec.name}: {name} ({needed})", "")
            )
            if value is None:
                return
            if value or name in spec.required:
                arguments[name] = value
        try:
            text = await self.servers.prompt_text(spec, arguments)
        except ToolServerError as error:
            self._notify(str(error))
            return
        self.app.prompt.insert(sanitize(text))
        self.app.prompt.focus()

    async def aclose(self) -> None:
        """Stop the servers that were started."""
        if self.servers is not None:
            await self.servers.aclose()

    async def _consent(self, call: ToolCall, description: str) -> Decision:
        """Ask in a dialog; closing it any other way (the reply stopped) refuses."""
        screen = ToolConsentScreen(call, server=call.server, description=description)
        try:
            decision = await self.app.push_screen_wait(screen)
        finally:
            if self.app.screen is screen:
                self.app.pop_screen()
        return decision if isinstance(decision, Decision) else Decision.REFUSED

    def _notify(self, text: str) -> None:
        self.app.notify(text, title="Tools", severity="warning", markup=False)
