"""The command palette's commands: every chat command by name, its key taken from the keymap
in force."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import SystemCommand

from ollama_tui.keymap import key_label
from ollama_tui.ui.screens.chat import ChatScreen


def chat_commands(chat: ChatScreen) -> Iterable[SystemCommand]:
    """The chat page's commands, as the palette lists them."""
    yield SystemCommand(
        "New conversation",
        f"Start a new conversation ({key_label('conversation.new')})",
        chat.action_new_conversation,
    )
    yield SystemCommand(
        "Pick model",
        f"Choose the model for the next replies ({key_label('model.pick')})",
        chat.action_pick_model,
    )
    yield SystemCommand(
        "Stop reply",
        f"Stop the reply as it arrives ({key_label('reply.stop')})",
        chat.action_stop_reply,
    )
    yield SystemCommand(
        "Insert MCP prompt",
        "Put a prompt an MCP server offers into the message you are writing",
        chat.action_insert_mcp_prompt,
    )
    yield SystemCommand(
        "Regenerate with another model",
        "Write the last reply again with a model you pick; the old one stays a version",
        chat.action_write_again_with_model,
    )
    yield SystemCommand(
        "Toggle conversations",
        f"Show or hide the conversation list ({key_label('sidebar.toggle')})",
        chat.action_toggle_sidebar,
    )
    yield SystemCommand(
        "Toggle parameters",
        f"Show or hide the parameter panel ({key_label('parameters.toggle')})",
        chat.action_toggle_parameters,
    )
    yield SystemCommand(
        "Search conversations",
        f"Find words in every conversation ({key_label('conversation.search')})",
        chat.action_search,
    )
    yield SystemCommand(
        "Rename conversation",
        f"Give the open conversation a new title ({key_label('conversation.rename')})",
        chat.action_rename_conversation,
    )
    yield SystemCommand(
        "Duplicate conversation",
        "Copy the open conversation under a new id",
        chat.action_duplicate_conversation,
    )
    yield SystemCommand(
        "Export conversation",
        "Write the open conversation to a Markdown or JSON file",
        chat.action_export_conversation,
    )
    yield SystemCommand(
        "Import conversation",
        "Add a conversation from a JSON export (never overwrites one)",
        chat.action_import_conversation,
    )
    yield SystemCommand(
        "Delete conversation",
        f"Move the open conversation to the trash ({key_label('sidebar.delete')} in the list)",
        chat.action_delete_conversation,
    )
    yield SystemCommand(
        "Restore deleted conversation",
        "Bring a conversation back from the trash",
        chat.action_restore_conversation,
    )
    yield SystemCommand(
        "Empty the trash",
        "Delete trashed conversations for good, and the attached files only they used",
        chat.action_empty_trash,
    )
    yield SystemCommand(
        "Models",
        f"Installed and loaded models: details, pull, delete, unload ({key_label('models.open')})",
        chat.action_open_models,
    )
    yield SystemCommand(
        "Document collections",
        f"Files to chat with: add a path, index, remove ({key_label('collections.open')})",
        chat.action_open_collections,
    )
    yield SystemCommand(
        "Switch host",
        "Send new replies to another Ollama server from [hosts.NAME]",
        chat.action_switch_host,
    )
