"""The commands a key can be bound to: their ids, default keys and what they do.

One table serves the app's bindings, the help screen, the README and the `[keys]` table of
the config file, where `id = "key"` rebinds a command (several keys: "ctrl+s,f10").
Commands whose usual key a web browser keeps for itself have a second key that reaches the app
in a browser tab too (`ollama-tui serve`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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
    Command(
        "prompt.attach",
        "ctrl+o",
        "attach a file to the message: an image (for vision models) or a text file",
    ),
    Command("prompt.previous", "alt+up", "in the prompt: the prompt sent before (again: earlier)"),
    Command("prompt.next", "alt+down", "in the prompt: the prompt sent after, then your draft"),
    Command("reply.stop", "escape", "stop the reply as it arrives"),
    Command("reply.retry", "f5", "retry: send an unsent message again, or regenerate the reply"),
    Command("conversation.new", "ctrl+n,alt+n", "new conversation"),
    Command("conversation.rename", "f2", "rename the conversation"),
    Command("conversation.search", "ctrl+f", "search all conversations as you type"),
    Command("model.pick", "ctrl+l,ctrl+g", "pick a model: type part of its name, Enter"),
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
    Command(
        "messages.focus",
        "ctrl+up",
        "move into the messages (also up in an empty prompt, or shift+tab)",
    ),
    Command("message.previous", "up,k", "in the messages: the message before"),
    Command("message.next", "down,j", "in the messages: the message after"),
    Command("message.first", "home", "in the messages: the first message"),
    Command("message.last", "end", "in the messages: the latest message"),
    Command("message.older_version", "left,h", "in the messages: the version before this one"),
    Command("message.newer_version", "right,l", "in the messages: the version after this one"),
    Command("message.copy", "c,y", "in the messages: copy the message"),
    Command("message.copy_code", "b", "in the messages: copy a code block (again: the next)"),
    Command(
        "message.sources",
        "s",
        "in the messages: the reply's sources; Enter on one shows the passage",
    ),
    Command("message.edit", "e", "in the messages: edit your message and resend (branches)"),
    Command(
        "message.regenerate",
        "r",
        "in the messages: write this reply again (the old one stays a version)",
    ),
    Command("message.regenerate_with", "m", "in the messages: write it again with another model"),
    Command("message.delete", "d,delete", "in the messages: delete the message"),
    Command("message.leave", "escape,i", "in the messages: back to the prompt"),
    Command("models.pull", "p", "in the models screen: pull (download) a model by name"),
    Command("models.delete", "d", "in the models screen: delete the highlighted model"),
    Command("models.unload", "u", "in the models screen: unload the highlighted loaded model"),
    Command("models.sort", "s", "in the models screen: sort by the next column"),
    Command("models.reverse_sort", "S", "in the models screen: reverse the order"),
    Command("models.refresh", "r", "in the models screen: ask the server for the lists again"),
    Command(
        "models.close",
        "escape",
        "in the models screen: stop the pull, close the pull prompt, or close the screen",
    ),
    Command("collections.open", "f4", "document collections: add a path, index, remove"),
    Command("collections.add", "a", "in the collections screen: add a path (NAME PATH)"),
    Command("collections.index", "i", "in the collections screen: index the collection"),
    Command("collections.remove", "d", "in the collections screen: remove the collection"),
    Command(
        "collections.close",
        "escape",
        "in the collections screen: stop the indexing, or close the screen",
    ),
    Command("app.help", "f1", "this help"),
    Command("app.quit", "ctrl+q", "quit (a reply still arriving is saved as interrupted)"),
)

BROWSER_KEEPS = frozenset({"ctrl+n", "ctrl+l", "ctrl+t", "ctrl+w"})
"""Keys a web browser acts on itself (new window, address bar, new tab, close tab): in a tab
they never reach the app. (ctrl+w is the prompt's "delete a word"; alt+backspace does it too.)"""

_BY_ID = {command.id: command for command in COMMANDS}
_KEY = r"([A-Z]|[a-z0-9_+\-]+)"
"""A key name as Textual writes it; an upper-case letter is the letter typed with shift."""
_KEYS = re.compile(rf"{_KEY}(,{_KEY})*")


def default_keys(command_id: str) -> str:
    """The keys a command has unless the config rebinds it."""
    return _BY_ID[command_id].keys


def describe(command_id: str) -> str:
    """What a command does, as the help screen says it."""
    return _BY_ID[command_id].description


def is_command(command_id: str) -> bool:
    return command_id in _BY_ID


def is_key_list(keys: str) -> bool:
    """Whether `keys` looks like Textual key names, comma-separated (e.g. "ctrl+s,f10")."""
    return _KEYS.fullmatch(keys) is not None


def browser_keymap(keymap: Mapping[str, str]) -> dict[str, str]:
    """`keymap` for the app in a browser tab: each command's keys that the browser keeps come
    last, so the footer and the help show a key that works there first."""
    result = dict(keymap)
    for command in COMMANDS:
        keys = keymap.get(command.id, command.keys).split(",")
        reordered = sorted(keys, key=lambda key: key in BROWSER_KEEPS)
        if reordered != keys:
            result[command.id] = ",".join(reordered)
    return result


PALETTE_KEY = "ctrl+p"
"""Textual's command palette key (not rebindable from [keys])."""

_in_force: dict[str, str] = {}


def use_keymap(keymap: dict[str, str]) -> None:
    """Make the config's [keys] the keys that texts name (the app does this as it starts)."""
    _in_force.clear()
    _in_force.update(keymap)


def keys_of(command_id: str) -> str:
    """The keys bound to a command now, comma-separated."""
    return _in_force.get(command_id, default_keys(command_id))


_SPELLED = {"enter": "Enter", "delete": "Delete", "pageup": "PageUp", "pagedown": "PageDown"}
"""Keys that texts spell as on the keyboard; the others as Textual names them ("ctrl+l")."""


def key_label(command_id: str) -> str:
    """The key a text names for a command: the first one bound now ("F5", "Enter", "ctrl+l")."""
    return key_name(keys_of(command_id).split(",")[0])


def key_name(key: str) -> str:
    """One key as a user reads it: function keys as "F5", a few spelled out ("Enter")."""
    if re.fullmatch(r"f\d+", key):
        return key.upper()
    return _SPELLED.get(key, key)
