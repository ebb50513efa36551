"""Where a reply's reference material came from: a passage of a document, saved with the reply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ollama_tui.sanitize import sanitize


@dataclass(frozen=True, slots=True)
class Source:
    """A retrieved passage: its collection, file, lines, heading, text and rank (0–1)."""

    collection: str
    source: str
    start_line: int
    end_line: int
    heading: str
    text: str
    score: float

    @property
    def location(self) -> str:
        """`notes/setup.md:12–40`."""
        return f"{self.source}:{self.start_line}–{self.end_line}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "source": self.source,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "heading": self.heading,
            "text": self.text,
            "score": round(self.score, 4),
        }

    @classmethod
    def from_dict(cls, data: Any) -> Source | None:
        """A saved source, or None when it is damaged (a reply keeps the others)."""
        if not isinstance(data, dict):
            return None
        lines = (data.get("start_line"), data.get("end_line"))
        score = data.get("score")
        texts = [data.get(key) for key in ("collection", "source", "heading", "text")]
        if not all(isinstance(value, int) and not isinstance(value, bool) for value in lines):
            return None
        if not all(isinstance(value, str) for value in texts):
            return None
        if isinstance(score, bool) or not isinstance(score, int | float):
            return None
        collection, source, heading, text = (sanitize(str(value)) for value in texts)
        return cls(collection, source, int(lines[0]), int(lines[1]), heading, text, float(score))


def sources_from(value: Any) -> list[Source]:
    """The readable sources of a saved list (anything else reads as none)."""
    if not isinstance(value, list):
        return []
    return [source for item in value if (source := Source.from_dict(item)) is not None]


def collections_from(value: Any) -> list[str]:
    """Saved collection names; anything that is not a list of names reads as none."""
    if not isinstance(value, list):
        return []
    return [sanitize(item) for item in value if isinstance(item, str) and item]
