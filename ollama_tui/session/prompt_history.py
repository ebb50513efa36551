"""The prompts sent before, across conversations and restarts, for recalling with alt+up.

Kept in a small JSON file beside the app's state file: private (0600), written atomically, read
leniently (it is untrusted like every file: a wrong type, a huge file or damage means no history,
never an error).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ollama_tui.atomic import write_atomic

log = logging.getLogger(__name__)

LIMIT = 1000
"""Prompts kept, the newest ones."""

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_PROMPT_CHARS = 100_000
"""A longer prompt is sent, but not kept for recalling."""


class PromptHistory:
    """Prompts sent before, oldest first; `entries` is shared with the prompt box."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: list[str] = _read(path)

    def add(self, text: str) -> None:
        """Remember a prompt just sent (not twice in a row); a write failure is only logged."""
        if not text.strip() or len(text) > MAX_PROMPT_CHARS:
            return
        if self.entries and self.entries[-1] == text:
            return
        self.entries.append(text)
        del self.entries[: max(0, len(self.entries) - LIMIT)]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, json.dumps(self.entries, ensure_ascii=False).encode("utf-8"))
        except OSError as error:
            log.warning("prompt history not saved to %s: %s", self.path, error)


def _read(path: Path) -> list[str]:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return []
    except OSError as error:
        log.warning("prompt history %s not read: %s", path, error)
        return []
    if len(data) > MAX_FILE_BYTES:
        log.warning("prompt history %s ignored: larger than %d bytes", path, MAX_FILE_BYTES)
        return []
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        log.warning("prompt history %s ignored: %s", path, error)
        return []
    if not isinstance(value, list):
        return []
    prompts = [item for item in value if isinstance(item, str) and item.strip()]
    return [item for item in prompts if len(item) <= MAX_PROMPT_CHARS][-LIMIT:]
