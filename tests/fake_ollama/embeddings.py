"""POST /api/embed: request checks in Ollama's order, deterministic vectors, and faults.

Vectors are hashed word features: each lower-cased word adds ±1 to one of the model's
`embedding_length` dimensions (both chosen by a hash of the word), and the sum is L2-normalised,
as Ollama's vectors are. Texts that share words therefore point the same way, so retrieval
order on a small corpus is predictable; the same text always gives the same vector.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from typing import Any

from tests.fake_ollama.catalogue import FakeModel
from tests.fake_ollama.wire import ApiError, decode_body, typed

EMBED_FAULTS = frozenset({"error", "slow", "dims", "drop"})
NOT_AN_EMBEDDING_MODEL = "this model does not support embeddings"
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class EmbedScript:
    """How the next /api/embed request is answered (see FakeOllama.queue_embed)."""

    fault: str | None = None
    status: int = 500
    error: str | None = None


@dataclass(frozen=True)
class EmbedRequest:
    """The fields of an /api/embed body the fake acts on."""

    model: str
    inputs: list[str]
    dimensions: int | None


def parse_embed(body: bytes) -> EmbedRequest:
    """Decode the body as Ollama's EmbedHandler does, with its error texts."""
    data = decode_body(body, "EmbedRequest")
    model = typed(data, "model", str, "string", "EmbedRequest") or ""
    raw = data.get("input")
    if raw is None:
        inputs: list[str] = []
    elif isinstance(raw, str):
        inputs = [raw] if raw else []
    elif isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        inputs = list(raw)
    else:
        raise ApiError(400, "invalid input type")
    dimensions = typed(data, "dimensions", int, "int", "EmbedRequest")
    return EmbedRequest(model, inputs, dimensions)


def word_vector(text: str, dimensions: int) -> list[float]:
    """The normalised hashed-word-feature vector of `text` (see the module docs)."""
    vector = [0.0] * dimensions
    words = [_stem(word) for word in _WORD.findall(text.lower())] or [""]
    for word in words:
        number = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
        vector[number % dimensions] += 1.0 if number >> 63 else -1.0
    norm = math.sqrt(sum(value * value for value in vector)) or 1.0
    # Rounded as a float32 prints, near enough: Ollama sends float32 values.
    return [round(value / norm, 8) for value in vector]


def embed_answer(
    request: EmbedRequest, model: FakeModel, *, wrong_dimensions: bool = False
) -> dict[str, Any]:
    """The 200 answer: one vector per input, in order, with Ollama's metrics."""
    dimensions = model.embedding_length
    if request.dimensions is not None and 0 < request.dimensions < dimensions:
        dimensions = request.dimensions
    if wrong_dimensions:
        dimensions = max(2, dimensions // 2)
    vectors = [word_vector(text, dimensions) for text in request.inputs]
    if not vectors:
        return {"model": request.model, "embeddings": []}
    tokens = sum(max(1, len(text) // 4) for text in request.inputs)
    return {
        "model": request.model,
        "embeddings": vectors,
        "total_duration": 1_500_000 + tokens * 20_000,
        "load_duration": 1_000_000,
        "prompt_eval_count": tokens,
    }


def check_embedding_model(model: FakeModel) -> None:
    """Ollama answers 501 when asked to embed with a model that cannot."""
    if "embedding" not in model.capabilities:
        raise ApiError(501, NOT_AN_EMBEDDING_MODEL)


def _stem(word: str) -> str:
    """Plural and singular share a feature, so "files" finds "file"."""
    return word[:-1] if len(word) > 3 and word.endswith("s") else word
