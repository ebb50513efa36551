"""Reading an /api/embed answer: one vector per input, all of one length, or an error."""

from __future__ import annotations

import json
import math
from typing import Any

from ollama_tui.ollama.errors import StreamBroken


def embedding_vectors(data: dict[str, Any], expected: int) -> list[list[float]]:
    """The `embeddings` of an answer, checked: `expected` vectors of finite numbers, one length."""
    vectors = data.get("embeddings")
    if not isinstance(vectors, list) or len(vectors) != expected:
        count = len(vectors) if isinstance(vectors, list) else "no"
        raise StreamBroken.malformed(f"{count} embeddings for {expected} inputs")
    width = len(vectors[0]) if vectors and isinstance(vectors[0], list) else 0
    checked: list[list[float]] = []
    for vector in vectors:
        if not isinstance(vector, list) or len(vector) != width or width == 0:
            raise StreamBroken.malformed(json.dumps(vector)[:80])
        numbers = [float(value) for value in vector if _is_number(value)]
        if len(numbers) != width:
            raise StreamBroken.malformed(json.dumps(vector)[:80])
        checked.append(numbers)
    return checked


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
