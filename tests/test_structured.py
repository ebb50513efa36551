"""Structured output: formats as the user writes them, schema checks, and replies checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ollama_tui.chat.conversation import Conversation
from ollama_tui.chat.structured import (
    SchemaError,
    check_schema,
    parse_format,
    read_format_file,
    reply_problem,
)

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["name"],
}


def test_formats_as_written() -> None:
    assert parse_format("") is None
    assert parse_format(" None ") is None
    assert parse_format("JSON") == "json"
    assert parse_format(json.dumps(SCHEMA)) == SCHEMA


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{nope", "the schema is not JSON: Expecting property name enclosed in double quotes"),
        ("[1, 2]", "a schema must be a JSON object"),
        ('{"type": "objekt"}', "invalid schema at $.type: 'objekt' is not valid under any"),
        (
            '{"properties": {"a": {"minimum": "x"}}}',
            "invalid schema at $.properties.a.minimum: 'x' is not of type 'number'",
        ),
    ],
)
def test_invalid_schemas_are_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(SchemaError) as refused:
        parse_format(text)
    assert str(refused.value).startswith(reason)
    assert "\n" not in str(refused.value)


def test_a_schema_file_names_itself_in_its_errors(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(SCHEMA))
    assert read_format_file(good) == SCHEMA
    bad = tmp_path / "bad.json"
    bad.write_text('{"required": "name"}')
    with pytest.raises(SchemaError, match=r"bad\.json: invalid schema at \$\.required"):
        read_format_file(bad)
    with pytest.raises(SchemaError, match=r"cannot read the schema .*missing\.json"):
        read_format_file(tmp_path / "missing.json")


def test_the_reply_says_where_it_departs_from_the_format() -> None:
    assert reply_problem("anything", None) is None
    assert reply_problem('{"a": 1}', "json") is None
    assert reply_problem("Sure! {", "json") == (
        "the reply is not JSON: Expecting value: line 1 column 1 (char 0)"
    )
    assert reply_problem('{"name": "x", "tags": ["a"]}', SCHEMA) is None
    assert reply_problem('{"name": "x", "tags": ["a", 2]}', SCHEMA) == (
        "the reply does not match the schema at $.tags[1]: 2 is not of type 'string'"
    )
    assert reply_problem('{"tags": []}', SCHEMA) == (
        "the reply does not match the schema at $: 'name' is a required property"
    )


def test_the_format_is_saved_with_the_conversation() -> None:
    for value in (None, "json", SCHEMA):
        conversation = Conversation(model="llama3.2", format=value)
        assert Conversation.from_dict(json.loads(conversation.to_json())).format == value
    check_schema(SCHEMA)
