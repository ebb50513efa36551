"""The commands a key can be bound to: their ids, default keys and what they do.

One table serves the app's bindings, the help screen, the README and the `[keys]` table of
the config file, where `id = "key"` rebinds a command (several keys: "ctrl+s,f10").
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Command:
    id: str
    keys: str
    description: str


COMMANDS: tuple[Command, ...] = (
    Command("prompt.send", "enter", "send the message"),
    Command(
        "prompt.newline",
        "ctrl+j,shift+enter",
        "new line in the prompt (shift+enter where the terminal reports it)",
    ),
    Command("reply.stop", "escape", "stop the reply as it arrives"),
    Command("reply.retry", "f5", "retry: send an unsent message again, or regenerate the reply"),
    Command("conversation.new", "ctrl+n", "new conversation"),
    Command("conversation.rename", "f2", "rename the conversation"),
    Command("conversation.search", "ctrl+f", "search all conversations as you type"),
    Command("model.pick", "ctrl+l", "pick a model: type part of its name, Enter"),
    Command("models.open", "f3", "models: installed and loaded, details, pull, delete, unload"),
    Command(
        "sidebar.toggle",
        "ctrl+b",
        "show, focus or hide the conversation list (up/down, Enter opens)",
    ),
    Command("sidebar.delete", "delete", "in the list: move the conversation to the trash"),
    Command("sidebar.pin", "p", "in the list: pin the conversation on top, or unpin it"),
    Command("parameters.toggle", "ctrl+r", "show, focus or hide the parameter panel"),
    Command("messages.up", "pageup", "scroll the messages up (earlier ones load at the top)"),
    Command("messages.down", "pagedown", "scroll the messages down"),
    Command("app.help", "f1", "this help"),
    Command("app.quit", "ctrl+q", "quit (a reply still arriving is saved as interrupted)"),
)

_BY_ID = {command.id: command for command in COMMANDS}
_KEYS = re.compile(r"[a-z0-9_+\-]+(,[a-z0-9_+\-]+)*")


def default_keys(command_id: str) -> str:
    """The keys a command has unless the config rebinds it."""
    return _BY_ID[command_id].keys


def is_command(command_id: str) -> bool:
    return command_id in _BY_ID


def is_key_list(keys: str) -> bool:
    """Whether `keys` looks like Textual key names, comma-separated (e.g. "ctrl+s,f10")."""
    return _KEYS.fullmatch(keys) is not None
