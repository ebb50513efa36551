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

    def to_request(self) -> dict[str, int | float]:
        """The `options` object for /api/chat: only the values that are set."""
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Options:
        """Read saved options, ignoring unknown keys and values of the wrong type."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            value = data.get(f.name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            values[f.name] = int(value) if str(f.type).startswith("int") else float(value)
        return cls(**values)


_DURATION = re.compile(r"-?((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+|-?\d+")


def is_keep_alive(text: str) -> bool:
    """Whether Ollama accepts `text` as keep_alive: whole seconds, or a Go duration."""
    return _DURATION.fullmatch(text) is not None


def keep_alive_value(text: str) -> int | str | None:
    """keep_alive as the request carries it: a number of seconds, a duration, or nothing."""
    if not text:
        return None
    return int(text) if text.lstrip("-").isdigit() else text
