"""A model-written summary of a conversation's older messages, saved with it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ollama_tui.chat.migrations import FormatError

_clock_lock = threading.Lock()
_last_stamp = datetime.min.replace(tzinfo=UTC)


def now_iso() -> str:
    """The current UTC time as an ISO 8601 string, to the microsecond.

    Stamps from one process strictly increase, so two things done within one tick of the clock
    (a message and its reply, two conversations saved back to back) still sort in the order
    they happened; a microsecond apart, they never run measurably ahead of the clock, so they
    also sort rightly against stamps from another process.
    """
    global _last_stamp
    with _clock_lock:
        _last_stamp = max(datetime.now(UTC), _last_stamp + timedelta(microseconds=1))
        return _last_stamp.isoformat(timespec="microseconds")


@dataclass
class Summary:
    """A model-written summary of the conversation's messages up to and including one of them."""

    text: str
    covers_until: str
    """Id of the last message the summary covers; every earlier message is covered too."""
    covered_count: int
    model: str
    created_at: str = field(default_factory=now_iso)

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "covers_until": self.covers_until,
            "covered_count": self.covered_count,
            "model": self.model,
            "created_at": self.created_at,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Summary:
        try:
            text, covers_until = data["text"], data["covers_until"]
            count = data.get("covered_count", 0)
            if not isinstance(text, str) or not isinstance(covers_until, str):
                raise TypeError("text and covers_until must be strings")
            return cls(
                text=text,
                covers_until=covers_until,
                covered_count=count if isinstance(count, int) and count >= 0 else 0,
                model=str(data.get("model") or ""),
                created_at=str(data.get("created_at") or now_iso()),
            )
        except (KeyError, TypeError, AttributeError) as error:
            raise FormatError(f"bad summary: {error}") from error


def read_summary(value: Any) -> Summary | None:
    """A saved summary; a damaged one is dropped (it can be made again from the messages)."""
    if value is None:
        return None
    try:
        return Summary.from_dict(value)
    except FormatError:
        return None
