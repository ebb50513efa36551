"""Reading an /api/embed answer: one vector per input, all of one length, or an error."""

from __future__ import annotations

import json
import math
from array import array
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
        try:
            numbers = array("d", vector)  # in C: a TypeError for anything but numbers
        except TypeError:
            raise StreamBroken.malformed(json.dumps(vector)[:80]) from None
        if not math.isfinite(sum(numbers)):  # a NaN or an infinity anywhere
            raise StreamBroken.malformed(json.dumps(vector)[:80])
        checked.append(numbers.tolist())
    return checked
