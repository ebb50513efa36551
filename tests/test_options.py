"""The options type: stop sequences as typed, saved and sent, and min_p."""

from __future__ import annotations

import pytest

from ollama_tui.chat.options import Options, format_stop, parse_stop, stop_sequences


@pytest.mark.parametrize(
    ("typed", "sequences"),
    [
        ("", None),
        (" , ,", None),
        ("User:", ("User:",)),
        ("User:, Assistant:", ("User:", "Assistant:")),
        (r"\n\n, ###", ("\n\n", "###")),
        (r"a\,b", ("a,b",)),
        (r"back\\slash, \ttab", ("back\\slash", "\ttab")),
    ],
)
def test_stop_as_typed(typed: str, sequences: tuple[str, ...] | None) -> None:
    assert parse_stop(typed) == sequences
    if sequences is not None:
        assert parse_stop(format_stop(sequences)) == sequences


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        (r"a\q", r"unknown escape \q"),
        ("a\\", "a lone \\ at the end"),
        (",".join("x" * 17), "at most 16 sequences"),
        ("y" * 201, "a sequence of at most 200 characters"),
    ],
)
def test_malformed_stop_is_a_reason(typed: str, problem: str) -> None:
    with pytest.raises(ValueError, match="^" + problem.replace("\\", "\\\\") + "$"):
        parse_stop(typed)


def test_stop_and_min_p_are_sent_and_read_back() -> None:
    options = Options(min_p=0.05, stop=("<|im_end|>", "\n"))
    sent = options.to_request()
    assert sent == {"min_p": 0.05, "stop": ["<|im_end|>", "\n"]}
    assert Options.from_dict(sent) == options


@pytest.mark.parametrize(
    "saved", [[], "User:", [1, 2], ["ok", ""], ["z" * 201], ["s"] * 17, {"a": "b"}, None]
)
def test_saved_stop_of_the_wrong_shape_is_ignored(saved: object) -> None:
    assert stop_sequences(saved) is None
    assert Options.from_dict({"stop": saved, "min_p": True}) == Options()
