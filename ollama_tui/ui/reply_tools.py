"""The chat page's side of tools: the consent dialog a call waits for, the MCP prompts the
palette inserts into the prompt, and the panel's note on a model that cannot call tools."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.content import Content

from ollama_tui.chat.conversation import Conversation
from ollama_tui.chat.tools import Decision, ToolCall
from ollama_tui.ollama import ModelDetails
from ollama_tui.sanitize import sanitize
from ollama_tui.tools.servers import ToolServerError
from ollama_tui.ui.inert import inert
from ollama_tui.ui.screens.picker import Choice, PickerScreen
from ollama_tui.ui.screens.text_prompt import TextPromptScreen
from ollama_tui.ui.screens.tool_consent import ToolConsentScreen

if TYPE_CHECKING:
    from ollama_tui.ui.screens.chat_page import ChatPage


class ReplyTools:
    """Asks before a tool runs, and inserts MCP prompts, for one chat page."""

    def __init__(self, page: ChatPage) -> None:
        self.page = page

    async def consent(self, call: ToolCall, description: str) -> Decision:
        """Ask in a dialog; closing it any other way (the reply stopped) refuses."""
        app = self.page.app
        screen = ToolConsentScreen(call, server=call.server, description=description)
        try:
            decision = await app.push_screen_wait(screen)
        finally:
            if app.screen is screen:
                app.pop_screen()
        return decision if isinstance(decision, Decision) else Decision.REFUSED

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
        servers = self.page.session.tools
        if servers is None:
            self.page.notify("No MCP servers in the config ([mcp.NAME]); see the README.")
            return
        prompts, problems = await servers.prompts(conversation.tools or list(servers.settings))
        for problem in problems:
            self.page.notify(problem, title="Tools", severity="warning", markup=False)
        if not prompts:
            self.page.notify("The MCP servers offer no prompts.", markup=False)
            return
        by_key = {f"{p.server}/{p.name}": p for p in prompts}
        choices = [
            Choice(key, Content.assemble(inert(key), ("  " + p.description, "dim")), key)
            for key, p in by_key.items()
        ]
        app = self.page.app
        key = await app.push_screen_wait(
            PickerScreen("MCP prompt", choices, hint="type part of a prompt's name")
        )
        if key is None:
            return
        spec = by_key[key]
        arguments: dict[str, str] = {}
        for name in spec.arguments:
            needed = "required" if name in spec.required else "optional, enter to skip"
            value = await app.push_screen_wait(
                TextPromptScreen(f"{spec.name}: {name} ({needed})", "")
            )
            if value is None:
                return
            if value or name in spec.required:
                arguments[name] = value
        try:
            text = await servers.prompt_text(spec, arguments)
        except ToolServerError as error:
            self.page.notify(str(error), title="Tools", severity="warning", markup=False)
            return
        self.page.prompt.insert(sanitize(text))
        self.page.prompt.focus()
