"""Copying a message, or one of its code blocks, to the clipboard, with a note saying what was
copied and how much."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import App

from ollama_tui.chat.conversation import Message, Role
from ollama_tui.sanitize import sanitize


def copy_message(app: App[object], message: Message) -> None:
    text = sanitize(message.content)
    if not text:
        app.notify("This message has no text to copy.")
        return
    app.copy_to_clipboard(text)
    who = "your message" if message.role is Role.USER else "the reply"
    app.notify(f"Copied {who} to the clipboard ({_size(text)}).")


def copy_code_block(
    app: App[object], blocks: Sequence[tuple[str, str]], last_copied: int | None
) -> int | None:
    """Copy the code block (language, code) after the one copied last (the first when none
    was, and round); its index, or None when the message has none."""
    if not blocks:
        app.notify("This message has no code blocks; c copies the whole message.")
        return None
    index = 0 if last_copied is None else (last_copied + 1) % len(blocks)
    language, code = blocks[index]
    app.copy_to_clipboard(code)
    kind = f"{language} " if language else ""
    app.notify(
        f"Copied {kind}code block {index + 1} of {len(blocks)} to the clipboard ({_size(code)}).",
        markup=False,
    )
    return index


def _size(text: str) -> str:
    lines = text.count("\n") + (not text.endswith("\n"))
    return f"{lines:,} line{'s' if lines != 1 else ''}, {len(text):,} characters"
