"""A one-line message for the user, as the session reports it and the UI shows it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["information", "warning", "error"]


@dataclass(frozen=True, slots=True)
class Notice:
    """What happened and what to do, in one line; `title` names a failed action."""

    text: str
    severity: Severity = "information"
    title: str = ""


Notify = Callable[[Notice], None]
"""Where the session sends its notices (the app shows them as toasts)."""
