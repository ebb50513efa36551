"""Generation options: the one type shared by the config's defaults, the parameter panel and
conversations, what each option accepts, and the keep_alive setting sent beside them."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """What one generation option accepts; shared by the config file and the parameter panel."""

    name: str
    label: str
    kind: type[int] | type[float]
    minimum: float | None
    maximum: float | None
    help: str

    def describe(self) -> str:
        """The accepted values, as a short phrase for error messages."""
        noun = "a whole number" if self.kind is int else "a number"
        if self.minimum is not None and self.maximum is not None:
            return f"{noun} from {self.minimum:g} to {self.maximum:g}"
        if self.minimum is not None:
            return f"{noun} of at least {self.minimum:g}"
        return noun

    def accepts(self, value: float) -> bool:
        low_ok = self.minimum is None or value >= self.minimum
        return low_ok and (self.maximum is None or value <= self.maximum)


OPTION_SPECS: tuple[OptionSpec, ...] = (
    OptionSpec("temperature", "Temperature", float, 0, 2, "higher is more creative"),
    OptionSpec("top_p", "Top P", float, 0, 1, "nucleus sampling cut-off"),
    OptionSpec("top_k", "Top K", int, 1, None, "sample from the K likeliest tokens"),
    OptionSpec("min_p", "Min P", float, 0, 1, "drop tokens less likely than this share of the top"),
    OptionSpec("num_ctx", "Context", int, 256, None, "tokens the model remembers"),
    OptionSpec("num_predict", "Max tokens", int, -2, None, "-1 no limit, -2 fill context"),
    OptionSpec("repeat_penalty", "Repeat pen.", float, 0, 2, "above 1 discourages repeats"),
    OptionSpec("seed", "Seed", int, None, None, "same seed + prompt gives the same reply"),
)


@dataclass
class Options:
    """Ollama generation options; None means "the model's own default" and is never sent."""

    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    num_ctx: int | None = None
    seed: int | None = None
    num_predict: int | None = None
    repeat_penalty: float | None = None
    min_p: float | None = None
    stop: tuple[str, ...] | None = None
    """Stop sequences: the reply ends before the first of them (as `/set parameter stop`)."""

    def to_request(self) -> dict[str, int | float | list[str]]:
        """The `options` object for /api/chat: only the values that are set."""
        request: dict[str, int | float | list[str]] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                request[f.name] = list(value) if f.name == "stop" else value
        return request

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Options:
        """Read saved options, ignoring unknown keys and values of the wrong type."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            value = data.get(f.name)
            if f.name == "stop":
                values["stop"] = stop_sequences(value)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                values[f.name] = int(value) if str(f.type).startswith("int") else float(value)
        return cls(**values)


MAX_STOP_SEQUENCES = 16
MAX_STOP_LENGTH = 200
STOP_HELP = "stop sequences, separated by commas; \\n is a new line, \\, a comma, \\\\ a backslash"


def stop_sequences(value: object) -> tuple[str, ...] | None:
    """Saved or configured stop sequences, when they are a list of a few non-empty strings."""
    if not isinstance(value, list | tuple) or not value or len(value) > MAX_STOP_SEQUENCES:
        return None
    if not all(isinstance(item, str) and 0 < len(item) <= MAX_STOP_LENGTH for item in value):
        return None
    return tuple(value)


_STOP_ESCAPES = {"n": "\n", "t": "\t", ",": ",", "\\": "\\"}


def parse_stop(text: str) -> tuple[str, ...] | None:
    """What the user typed in the Stop field: None when empty; ValueError when malformed."""
    sequences: list[str] = []
    current: list[str] = []
    characters = iter(text)
    for character in characters:
        if character == "\\":
            escaped = next(characters, "")
            if escaped not in _STOP_ESCAPES:
                raise ValueError(
                    f"unknown escape \\{escaped}" if escaped else "a lone \\ at the end"
                )
            current.append(_STOP_ESCAPES[escaped])
        elif character == ",":
            sequences.append("".join(current).strip(" "))
            current = []
        else:
            current.append(character)
    sequences.append("".join(current).strip(" "))
    kept = [sequence for sequence in sequences if sequence]
    if not kept:
        return None
    if len(kept) > MAX_STOP_SEQUENCES:
        raise ValueError(f"at most {MAX_STOP_SEQUENCES} sequences")
    if any(len(sequence) > MAX_STOP_LENGTH for sequence in kept):
        raise ValueError(f"a sequence of at most {MAX_STOP_LENGTH} characters")
    return tuple(kept)


def format_stop(stop: tuple[str, ...] | None) -> str:
    """Stop sequences as the Stop field shows them (parse_stop reads it back)."""
    if not stop:
        return ""
    escape = {"\n": "\\n", "\t": "\\t", ",": "\\,", "\\": "\\\\"}
    return ", ".join("".join(escape.get(c, c) for c in sequence) for sequence in stop)


_DURATION = re.compile(r"-?((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+|-?\d+")


def is_keep_alive(text: str) -> bool:
    """Whether Ollama accepts `text` as keep_alive: whole seconds, or a Go duration."""
    return _DURATION.fullmatch(text) is not None


def keep_alive_value(text: str) -> int | str | None:
    """keep_alive as the request carries it: a number of seconds, a duration, or nothing."""
    if not text:
        return None
    return int(text) if text.lstrip("-").isdigit() else text
