"""What every settings check shares: the error the user sees, the error a value check raises,
and how a value is named in a message (short, on one line, as TOML would show it)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from typing import Any

from ollama_tui.sanitize import sanitize


class ConfigError(Exception):
    """A settings problem, described in one line the user can act on."""

    def __init__(self, message: str) -> None:
        # Key names and values come from the file: no control character reaches the terminal.
        super().__init__(" ".join(sanitize(message).splitlines()))


class InvalidValue(ValueError):
    """Raised by a value check with what was expected; the caller adds the key and the value."""

    def __init__(self, expected: str, reason: str = "") -> None:
        super().__init__(f"expected {expected}")
        self.expected = expected
        self.reason = reason


Check = Callable[[object], object]


def string(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidValue("a string")
    return value


def non_empty_string(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue("a non-empty string")
    return value


def boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidValue("true or false")
    return value


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


def named_tables(
    kind: str,
    value: object,
    checks: Mapping[str, Check],
    *,
    example: str,
    required: tuple[str, str],
    fail: Callable[[str], ConfigError],
) -> dict[str, dict[str, Any]]:
    """`[kind.NAME]` tables (e.g. [hosts.gpu-box]), each checked key by key.

    `example` is a NAME for messages; `required` is the key every table needs and an example
    of it. Raises `fail(message)` naming the dotted key of the first problem.
    """
    if not isinstance(value, dict):
        raise fail(f"{kind}: expected tables such as [{kind}.{example}], got {describe(value)}")
    tables: dict[str, dict[str, Any]] = {}
    for name, table in value.items():
        if not isinstance(table, dict):
            raise fail(f"{kind}.{name}: expected a table ([{kind}.{name}]), got {describe(table)}")
        key, key_example = required
        if key not in table:
            raise fail(f"{kind}.{name}: missing {key}, e.g. {key} = {key_example}")
        checked: dict[str, Any] = {}
        for key, item in table.items():
            if key not in checks:
                raise fail(f"{kind}.{name}.{key}: unknown key (known: {', '.join(checks)})")
            try:
                checked[key] = checks[key](item)
            except InvalidValue as invalid:
                raise fail(problem(f"{kind}.{name}.{key}", item, invalid)) from None
        tables[name] = checked
    return tables
