"""Saved conversations of older schema versions, brought up to the current one step by step.

Each step writes the values of its own time as plain strings: a later rename in the domain
must not change what an old document is read as.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SCHEMA_VERSION = 4


class FormatError(ValueError):
    """A conversation document that cannot be read as this schema."""


def _v1_to_v2(document: dict[str, Any]) -> dict[str, Any]:
    """Version 2 gives each conversation a memory strategy (version 1 always sent everything,
    and left it to the server to cut) and each message an explicit state."""
    messages = [
        {"state": "complete", **message} if isinstance(message, dict) else message
        for message in document.get("messages", [])
    ]
    return {**document, "schema_version": 2, "memory": "summary", "messages": messages}


def _v2_to_v3(document: dict[str, Any]) -> dict[str, Any]:
    """Version 3 lets a version of a message carry the rest of its branch (`following`) and
    remember which version is shown (`version_index`). Nothing to convert, but a version-2
    reader would drop both when saving, so such files must not reach one."""
    return {**document, "schema_version": 3}


def _v3_to_v4(document: dict[str, Any]) -> dict[str, Any]:
    """Version 4 adds, all optional and empty in older files: `attachments` on a user's message
    (files stored under the data dir by content hash); the document collections a conversation
    searches (`collections`) and the passages a reply was sent (`sources`); tool calls
    (`tool_calls` on replies, messages of role "tool", the tools a conversation offers and
    those allowed always) and a reply `format`; the host that wrote a reply (`host`, for a
    conversation on a pool of hosts). Nothing to convert, but a version-3 reader would drop
    them all when saving."""
    return {**document, "schema_version": 4}


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    1: _v1_to_v2,
    2: _v2_to_v3,
    3: _v3_to_v4,
}
"""One step per version: MIGRATIONS[n] turns a version-n document into version n + 1."""


def migrate(document: dict[str, Any]) -> dict[str, Any]:
    """Bring a saved document up to SCHEMA_VERSION, one step at a time."""
    version = document.get("schema_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise FormatError(f"no valid schema_version ({version!r})")
    if version > SCHEMA_VERSION:
        raise FormatError(f"schema_version {version} is from a newer ollama-tui")
    while version < SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise FormatError(f"unsupported schema_version {version}")
        document = step(document)
        version = document["schema_version"]
    return document
