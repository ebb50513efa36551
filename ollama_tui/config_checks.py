"""What every settings check shares: the error the user sees, the error a value check raises,
and how a value is named in a message (short, on one line, as TOML would show it)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, time

from ollama_tui.sanitize import sanitize


class ConfigError(Exception):
    """A settings problem, described in one line the user can act on."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.splitlines()))


class InvalidValue(ValueError):
    """Raised by a value check with what was expected; the caller adds the key and the value."""

    def __init__(self, expected: str, reason: str = "") -> None:
        super().__init__(f"expected {expected}")
        self.expected = expected
        self.reason = reason


Check = Callable[[object], object]


def describe(value: object) -> str:
    """A value as TOML would show it, short and on one line, for error messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:39] + "…"
        return sanitize(json.dumps(shown, ensure_ascii=False))
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, datetime | date | time):
        return "a date/time"
    return type(value).__name__


def problem(key: str, value: object, invalid: InvalidValue) -> str:
    """`key: expected …, got …` and the reason, when there is one."""
    message = f"{key}: expected {invalid.expected}, got {describe(value)}"
    return f"{message} ({invalid.reason})" if invalid.reason else message
