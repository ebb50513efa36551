"""The store's two rankings at a size where the vector shortlist and word pruning apply."""

from __future__ import annotations

import numpy as np
import pytest

from ollama_tui.docs import store as store_module
from ollama_tui.docs.chunking import Chunk
from ollama_tui.docs.store import DocumentStore
from ollama_tui.docs.vectors import SHORTLIST
from tests.docs.conftest import EMBEDDER

DIMENSIONS = 64


def fill(store: DocumentStore, vectors: np.ndarray, texts: list[str]) -> None:
    store.add_collection("big", EMBEDDER, [])
    store.set_model("big", EMBEDDER, "digest", DIMENSIONS)
    for start in range(0, len(texts), 100):
        chunks = [Chunk(n + 1, n + 1, "", texts[n]) for n in range(start, start + 100)]
        path = f"/f{start}"
        store.replace_file("big", path, path, "0" * 64, 1, chunks, vectors[start : start + 100])


def test_nearest_ranks_a_shortlist_exactly(store: DocumentStore) -> None:
    rng = np.random.default_rng(4)
    vectors = rng.standard_normal((3 * SHORTLIST, DIMENSIONS)).astype(np.float32)
    fill(store, vectors, [f"chunk {n}" for n in range(len(vectors))])
    query = vectors[123] + 0.1 * rng.standard_normal(DIMENSIONS).astype(np.float32)
    found = store.nearest("big", query.tolist(), 5)
    first_id, first_score = found[0]
    assert store.chunks([first_id])[first_id].text == "chunk 123"
    assert first_score > 0.99
    scores = [score for _, score in found]
    assert scores == sorted(scores, reverse=True)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    exact = unit @ (query / np.linalg.norm(query))
    assert scores[0] == pytest.approx(float(exact.max()), abs=1e-5)


def test_words_in_most_chunks_are_left_out_of_the_keyword_ranking(
    store: DocumentStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "COMMON_FLOOR", 10)
    texts = [f"common words in chunk {n}" + (" rare" if n == 42 else "") for n in range(200)]
    fill(store, np.ones((200, DIMENSIONS), dtype=np.float32), texts)
    (only,) = store.keyword("big", "common rare", 10)
    assert store.chunks([only[0]])[only[0]].text.endswith("rare")
    assert store.keyword("big", "common", 10) == []  # ranked by its vector alone
    assert len(store.keyword("big", "the", 10)) == 0  # a stop word, common too
