"""The load boundary: everything read from disk is checked here before the app uses it.

Files in the data folder and the config may have been written by hand, synced from another
machine, imported, or crafted. Every JSON document is read by `parse_json` and every TOML one
goes through `clean_tree`: nesting depth, finite numbers, and every string, keys included,
cleaned of terminal control characters. A conversation also passes `check_conversation`, which
checks every field's type and range and how deep its branches nest. A
document that fails raises FormatError (a ValueError) with a one-line reason naming the field,
and the caller sets the file aside; nothing malformed reaches the rest of the app.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

from ollama_tui.chat.conversation import Conversation, MessageState, Role, is_valid_id
from ollama_tui.chat.migrations import FormatError, migrate
from ollama_tui.chat.options import OPTION_SPECS
from ollama_tui.sanitize import UNSAFE, sanitize

MAX_DEPTH = 200
"""Deepest nesting of arrays and tables accepted in TOML (JSON deeper than the decoder allows is
refused as it is decoded)."""

MAX_BRANCH_DEPTH = 90
"""Deepest nesting of a conversation's branches (a version holding the messages that followed
it, one of which has versions…): every later walk (reading, writing, merging) recurses once or
twice per level, so this keeps them all far from Python's recursion limit."""

MESSAGE_TEXT = frozenset({"content", "thinking"})
"""The words of a message are kept exactly as written (nothing typed may be lost); they are
shown only through Markdown or `inert`, which remove control characters at the screen."""

MAX_IMPORT_BYTES = 64 * 1024 * 1024
"""Largest file `import` reads; a conversation of a million words is about 6 MB."""

_OPTION_SPECS = {spec.name: spec for spec in OPTION_SPECS}
_STATES = {state.value for state in MessageState}
_ROLES = {role.value for role in Role}


def parse_json(raw: bytes | str, *, verbatim: frozenset[str] = frozenset()) -> Any:
    """A JSON document from disk, cleaned as `clean_tree` does (as it is decoded, which costs
    a third of a walk afterwards); FormatError if it is not one."""
    clean = _already_clean(raw)
    if clean is not None:
        return clean
    return _parse_and_clean(raw, verbatim)


_ESCAPES_TO_CLEAN = re.compile(r"\\[bfru]")
"""JSON escapes that may decode to a character `sanitize` removes (also some that do not, as
in an escaped backslash before a letter: those only take the slower path)."""


class _NotFinite(Exception):
    """A number too large for a float: the slower path names where it is."""


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite
    return value


def _already_clean(raw: bytes | str) -> Any:
    """The document decoded as is, when nothing in it could need cleaning: no character that
    `sanitize` removes, raw or escaped, and no number out of range (the common case, decoded
    in C: ~10x faster than cleaning as it decodes). None when it needs the cleaning path,
    which also reports every error."""
    try:
        text = raw.decode() if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        return None
    if text.startswith("\ufeff") or UNSAFE.search(text) or _ESCAPES_TO_CLEAN.search(text):
        return None
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except (ValueError, RecursionError, _NotFinite):
        return None


def _parse_and_clean(raw: bytes | str, verbatim: frozenset[str]) -> Any:
    def cleaned_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        cleaned: dict[str, Any] = {}
        for key, value in pairs:
            name = sanitize(key)
            if isinstance(value, str):
                cleaned[name] = value if name in verbatim else sanitize(value)
            elif isinstance(value, float) and not math.isfinite(value):
                raise FormatError(f"{name[:40]}: a number out of range ({value})")
            else:
                cleaned[name] = _cleaned_list(value, name) if isinstance(value, list) else value
        return cleaned

    try:
        document = json.loads(raw, object_pairs_hook=cleaned_object, parse_constant=_no_constant)
    except FormatError:
        raise
    except RecursionError:
        raise FormatError("nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, too many digits
        raise FormatError(f"not JSON ({_first_line(error)})") from None
    if isinstance(document, list):
        return _cleaned_list(document, "")
    return sanitize(document) if isinstance(document, str) else document


def _cleaned_list(items: list[Any], name: str) -> list[Any]:
    """`items` as decoded, with its strings (and those of lists within) cleaned in place; the
    objects in it were cleaned as they were decoded."""
    pending = [items]
    while pending:
        current = pending.pop()
        for index, item in enumerate(current):
            if isinstance(item, str):
                current[index] = sanitize(item)
            elif isinstance(item, list):
                pending.append(item)
            elif isinstance(item, float) and not math.isfinite(item):
                raise FormatError(f"{name[:40]}: a number out of range ({item})")
    return items


def clean_tree(value: Any, *, finite: bool = True) -> Any:
    """`value` (a parsed TOML document) with every string and key cleaned of terminal control
    characters; FormatError naming the place of nesting deeper than MAX_DEPTH, or (`finite`) of
    a number that is not finite."""
    try:
        return _clean(value, 0, finite)
    except _BadValue as bad:
        where = "".join(reversed(bad.path)).lstrip(".")
        where = where if len(where) <= 80 else where[:79] + "…"
        raise FormatError(f"{where}: {bad.reason}" if where else bad.reason) from None


class _BadValue(Exception):
    """Raised deep in `_clean`; each level on the way up adds its key to `path`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path: list[str] = []


def _clean(value: Any, depth: int, finite: bool) -> Any:
    if isinstance(value, str):
        return sanitize(value)
    if finite and isinstance(value, float) and not math.isfinite(value):
        raise _BadValue(f"a number out of range ({value})")
    if not isinstance(value, dict | list):
        return value
    if depth >= MAX_DEPTH:
        raise _BadValue(f"nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, list):
        items = []
        for index, item in enumerate(value):
            try:
                items.append(_clean(item, depth + 1, finite))
            except _BadValue as bad:
                bad.path.append(f"[{index}]")
                raise
        return items
    cleaned = {}
    for key, item in value.items():
        name = sanitize(str(key))
        try:
            cleaned[name] = _clean(item, depth + 1, finite)
        except _BadValue as bad:
            bad.path.append(f".{name[:40]}")
            raise
    return cleaned


def conversation_from_json(raw: bytes | str) -> Conversation:
    """A conversation from its file's bytes (or an export's text), checked field by field."""
    return conversation_from_document(parse_json(raw, verbatim=MESSAGE_TEXT))


def conversation_from_document(document: Any) -> Conversation:
    """A conversation from a document `parse_json` returned, checked field by field."""
    if not isinstance(document, dict):
        raise FormatError("not a JSON object")
    document = migrate(document)
    check_conversation(document)
    return Conversation.from_dict(document)


def check_conversation(document: dict[str, Any]) -> None:
    """Raise FormatError naming the first field whose type or range is not what the current
    schema writes. Optional fields may be absent or null."""
    _require(document, "id", _string, "id")
    if not is_valid_id(document["id"]):
        raise FormatError(f"invalid id {document['id'][:40]!r}")
    _require(document, "created_at", _string, "created_at")
    for name in ("title", "updated_at", "model", "system_prompt", "host", "keep_alive", "memory"):
        _optional(document, name, _string, name)
    _optional(document, "pinned", _boolean, "pinned")
    think = document.get("think")
    if think is not None and not isinstance(think, bool | str):
        raise FormatError(f"think: expected true, false or a level, got {_kind(think)}")
    for name in ("deleted", "tools", "always_allowed", "collections"):
        _optional(document, name, _strings, name)
    options = document.get("options")
    if options is not None:
        if not isinstance(options, dict):
            raise FormatError(f"options: expected an object, got {_kind(options)}")
        for name, value in options.items():
            _check_option(name, value)
    summary = document.get("summary")
    if summary is not None:
        if not isinstance(summary, dict):
            raise FormatError(f"summary: expected an object, got {_kind(summary)}")
        _require(summary, "text", _string, "summary.text")
        _require(summary, "covers_until", _string, "summary.covers_until")
        _optional(summary, "covered_count", _count, "summary.covered_count")
        _optional(summary, "model", _string, "summary.model")
        _optional(summary, "created_at", _string, "summary.created_at")
    _check_messages(document.get("messages", []), "messages")


def _check_messages(messages: Any, where: str, depth: int = 0) -> None:
    if not isinstance(messages, list):
        raise FormatError(f"{where}: expected a list, got {_kind(messages)}")
    if depth > MAX_BRANCH_DEPTH:
        raise FormatError(f"branches nested more than {MAX_BRANCH_DEPTH} levels deep")
    for index, message in enumerate(messages):
        _check_message(message, f"{where}[{index}]", depth)


def _check_message(message: Any, where: str, depth: int) -> None:
    if not isinstance(message, dict):
        raise FormatError(f"{where}: expected an object, got {_kind(message)}")
    for name in ("id", "content", "created_at"):
        _require(message, name, _string, f"{where}.{name}")
    role = message.get("role")
    if role not in _ROLES:
        raise FormatError(f"{where}.role: expected user, assistant or tool, got {_shown(role)}")
    state = message.get("state")
    if state is not None and state not in _STATES:
        raise FormatError(f"{where}.state: unknown state {_shown(state)}")
    for name in ("model", "thinking", "error", "done_reason", "tool_name", "tool_call_id"):
        _optional(message, name, _string, f"{where}.{name}")
    calls = message.get("tool_calls")
    if calls is not None and not (
        isinstance(calls, list) and all(isinstance(call, dict) for call in calls)
    ):
        raise FormatError(f"{where}.tool_calls: expected a list of objects, got {_kind(calls)}")
    _optional(message, "version_index", _count, f"{where}.version_index")
    stats = message.get("stats")
    if stats is not None:
        if not isinstance(stats, dict):
            raise FormatError(f"{where}.stats: expected an object, got {_kind(stats)}")
        for name, value in stats.items():
            if not _count(value):
                raise FormatError(f"{where}.stats.{name}: expected a count, got {_shown(value)}")
    for name in ("versions", "following"):
        if message.get(name) is not None:
            _check_messages(message[name], f"{where}.{name}", depth + 1)


def _check_option(name: str, value: Any) -> None:
    if name == "stop":
        if value is not None and not _strings(value):
            raise FormatError(f"options.stop: expected a list of strings, got {_kind(value)}")
        return
    spec = _OPTION_SPECS.get(name)
    if spec is None:
        return  # an option this version does not know is ignored, as Ollama does
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FormatError(f"options.{name}: expected {spec.describe()}, got {_kind(value)}")
    if (spec.kind is int and value != int(value)) or not spec.accepts(value):
        raise FormatError(f"options.{name}: expected {spec.describe()}, got {_shown(value)}")


def _string(value: Any) -> bool:
    return isinstance(value, str)


def _boolean(value: Any) -> bool:
    return isinstance(value, bool)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


_EXPECTED: dict[Callable[[Any], bool], str] = {
    _string: "a string",
    _boolean: "true or false",
    _count: "a whole number of at least 0",
    _strings: "a list of strings",
}


def _require(data: dict[str, Any], name: str, check: Callable[[Any], bool], where: str) -> None:
    if name not in data:
        raise FormatError(f"{where}: missing")
    _optional(data, name, check, where)
    if data[name] is None:
        raise FormatError(f"{where}: expected {_EXPECTED[check]}, got null")


def _optional(data: dict[str, Any], name: str, check: Callable[[Any], bool], where: str) -> None:
    value = data.get(name)
    if value is not None and not check(value):
        raise FormatError(f"{where}: expected {_EXPECTED[check]}, got {_kind(value)}")


def _kind(value: Any) -> str:
    """What a JSON value is, for error messages (never the value itself, which may be huge)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    return "null"


def _shown(value: Any) -> str:
    """A short form of a scalar value for error messages."""
    if isinstance(value, str):
        return repr(value[:40])
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = f"{value:g}" if isinstance(value, float) else str(value)
        return text if len(text) <= 40 else text[:39] + "…"
    return _kind(value)


def _no_constant(name: str) -> Any:
    raise FormatError(f"a number out of range ({name})")


def _first_line(error: Exception) -> str:
    return " ".join(str(error).split())[:200]
