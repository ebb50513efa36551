"""Structured output: the `format` a conversation asks replies to follow, and checking a reply
against it. Schemas are checked with jsonschema, imported when first needed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ollama_tui.sanitize import one_line

ReplyFormat = str | dict[str, Any] | None
"""None = free text, "json" = any JSON, or a JSON Schema object."""


def saved_format(value: Any) -> ReplyFormat:
    """A format as saved: "json" or a schema object; anything else is free text."""
    return value if value == "json" or isinstance(value, dict) else None


class SchemaError(ValueError):
    """A format that cannot be used, with the reason in one line."""


def parse_format(text: str) -> ReplyFormat:
    """A format as the user writes it: "" or "none", "json", or a JSON Schema's text."""
    stripped = text.strip()
    if stripped.lower() in ("", "none"):
        return None
    if stripped.lower() == "json":
        return "json"
    try:
        schema = json.loads(stripped)
    except ValueError as error:
        raise SchemaError(f"the schema is not JSON: {error}") from None
    check_schema(schema)
    return schema


def read_format_file(path: Path) -> dict[str, Any]:
    """A JSON Schema from a file; SchemaError names the file and what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise SchemaError(f"cannot read the schema {path}: {reason}") from None
    try:
        schema = json.loads(text)
    except ValueError as error:
        raise SchemaError(f"{path} is not JSON: {error}") from None
    try:
        check_schema(schema)
    except SchemaError as error:
        raise SchemaError(f"{path}: {error}") from None
    return schema


def check_schema(schema: object) -> None:
    """Raise SchemaError unless `schema` is a JSON Schema object valid for its draft."""
    if not isinstance(schema, dict):
        raise SchemaError('a schema must be a JSON object, e.g. {"type": "object", …}')
    from jsonschema import SchemaError as InvalidSchema
    from jsonschema.validators import validator_for

    try:
        validator_for(schema).check_schema(schema)
    except InvalidSchema as error:
        where = _path(error.absolute_path)
        raise SchemaError(f"invalid schema at {where}: {one_line(error.message, 200)}") from None


def reply_problem(text: str, value: ReplyFormat) -> str | None:
    """Why a reply does not follow the format, in one line saying where; None when it does."""
    if value is None:
        return None
    try:
        data = json.loads(text)
    except ValueError as error:
        return f"the reply is not JSON: {error}"
    if not isinstance(value, dict):
        return None
    from jsonschema.validators import validator_for

    validator = validator_for(value)(value)
    error = next(iter(sorted(validator.iter_errors(data), key=lambda e: list(e.path))), None)
    if error is None:
        return None
    return f"the reply does not match the schema at {_path(error.absolute_path)}: " + one_line(
        error.message, 200
    )


def pretty_json(text: str) -> str | None:
    """The reply as indented JSON, or None when it is not JSON."""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return None


def _path(parts: Any) -> str:
    """A location in a JSON document as `$.a[0].b` (`$` is the whole document)."""
    where = "$"
    for part in parts:
        where += f"[{part}]" if isinstance(part, int) else f".{part}"
    return where
