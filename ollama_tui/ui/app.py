"""The ollama-tui application: start-up, theme, preferences, keymap and help."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from ollama_tui.config import Settings
from ollama_tui.keymap import (
    COMMANDS,
    PALETTE_KEY,
    browser_keymap,
    default_keys,
    key_label,
    keys_of,
    use_keymap,
)
from ollama_tui.logs import current_log_path
from ollama_tui.sanitize import one_line, sanitize
from ollama_tui.session import Notice, Session
from ollama_tui.ui.commands import chat_commands
from ollama_tui.ui.screens.chat import ChatScreen
from ollama_tui.ui.screens.confirm import ConfirmScreen

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel
    from textual.widgets import Markdown


def screenshot_folder() -> Path:
    """Where the palette's Screenshot saves: the user's pictures folder, in its own folder."""
    import platformdirs

    return platformdirs.user_pictures_path() / "ollama-tui"


class OllamaTUI(App[None]):
    """A keyboard-driven chat client for Ollama."""

    CSS_PATH = "app.tcss"
    TITLE = "ollama-tui"
    BINDINGS = [
        Binding(default_keys("app.help"), "help", "Help", id="app.help"),
        Binding(default_keys("app.quit"), "quit", "Quit", priority=True, id="app.quit"),
    ]

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.session = Session.open(settings, self.show_notice)
        self.crash: str | None = None
        """Set when an unexpected error stopped the app: one line saying where its traceback is."""
        self.chat = ChatScreen(self.session)
        """The main page; dialogs and the models screen go on top of it."""
        self.set_keymap(settings.keys)
        use_keymap(settings.keys)
        if settings.theme in self.available_themes:
            self.theme = settings.theme

    def get_default_screen(self) -> Screen[None]:
        return self.chat

    def show_notice(self, notice: Notice) -> None:
        """Show what the session reports, never as markup."""
        self.notify(notice.text, title=notice.title, severity=notice.severity, markup=False)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every notice is plain text: notices name files, folders, titles and server errors,
        none of which may be read as markup (`[@click=…]` in a folder name would be an action)
        or reach the terminal with control characters. `markup` is accepted and ignored."""
        super().notify(
            sanitize(message),
            title=sanitize(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    async def action_quit(self) -> None:
        """Quit, after saving what is not saved yet; if that fails, ask first."""
        if isinstance(self.screen, ConfirmScreen) and self.screen.id == "quit-unsaved":
            return  # already asking
        library = self.session.library
        library.save_unsaved(skip=set(self.chat.replies))
        if not library.unsaved:
            self.exit()
            return
        where = "; ".join(
            f"“{one_line(conversation.title, 60)}”: {reason}"
            for conversation, reason in library.unsaved.values()
        )
        self.push_screen(
            ConfirmScreen(
                "Changes not saved",
                f"{len(library.unsaved)} conversation(s) could not be saved and exist only in "
                f"this window — {where}. Free some space or fix the folder, then save again; "
                "quitting now loses those changes.",
                yes="Quit anyway",
                no="Save again",
                danger=True,
                id="quit-unsaved",
            ),
            self._quit_answered,
        )

    async def _quit_answered(self, quit_anyway: bool | None) -> None:
        if quit_anyway:
            self.exit()
        else:
            await self.action_quit()

    async def on_mount(self) -> None:
        if self.is_web:  # in a browser tab (ollama-tui serve); the driver is known from here
            keymap = browser_keymap(self.settings.keys)
            self.set_keymap(keymap)
            use_keymap(keymap)
        self.call_later(self.chat.start)  # see ChatPage.start
        if self.settings.theme not in self.available_themes:
            self.notify(
                f"Unknown theme {self.settings.theme!r} in the config; using {self.theme}.",
                severity="warning",
                markup=False,
            )

    async def on_unmount(self) -> None:
        await self.session.close()

    def action_help(self) -> None:
        from ollama_tui.ui.screens.help import HelpScreen

        self.push_screen(HelpScreen(self.key_help()))

    def key_help(self) -> list[tuple[str, str]]:
        """Every command with the keys it has now (the config may rebind them)."""
        rows = [
            (keys_of(command.id).replace(",", " / "), command.description) for command in COMMANDS
        ]
        rows.insert(-2, ("tab / shift+tab", "move between the prompt and the panels"))
        rows.insert(-1, (PALETTE_KEY, "command palette: every command by name"))
        return rows

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        # Of Textual's own: Theme and Quit. Its Keys panel repeats F1, Maximize does nothing
        # useful here, and its Screenshot is replaced by one that says where it saved.
        for command in super().get_system_commands(screen):
            if command.title in ("Theme", "Quit"):
                yield command
        yield from chat_commands(self.chat)
        yield SystemCommand(
            "Screenshot",
            f"Save a picture of the screen (SVG) in {screenshot_folder()}",
            lambda: self.set_timer(0.1, self.save_screen_picture),
        )
        yield SystemCommand(
            "Help",
            f"List every key ({key_label('app.help')})",
            self.action_help,
        )

    def save_screen_picture(self) -> None:
        """Save the screen as an SVG in the pictures folder and say where."""
        folder = screenshot_folder()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = self.save_screenshot(path=str(folder))
        except OSError as error:
            self.notify(
                f"Screenshot not saved in {folder}: {error.strerror or error}",
                severity="error",
                markup=False,
            )
            return
        self.notify(f"Screenshot saved to {path}", markup=False)

    def _fatal_error(self) -> None:
        """An unexpected error ends the app: its traceback goes to the log file, and `crash`
        holds the one line the command prints (instead of Textual's page of locals)."""
        error = self._exception
        logging.getLogger(__name__).error("unexpected error", exc_info=error)
        summary = f"{type(error).__name__}: {one_line(str(error), 200)}" if error else "unknown"
        self.crash = (
            f"ollama-tui stopped on an unexpected error ({summary}). "
            f"The traceback is in {current_log_path()}."
        )
        self.bell()
        self._close_messages_no_wait()

    async def on_models_screen_models_changed(self) -> None:
        """The models screen pulled or deleted one: every picker lists them again. (A handler
        by name, as the models screen is imported when it is first opened.)"""
        await self.chat.refresh_models()

    def watch_theme(self, theme: str) -> None:
        if self.is_running and theme != self.settings.theme:
            self.session.save_preferences(theme=theme)

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
