"""OllamaClient.embed against the fake Ollama over loopback: shapes, errors and faults."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator

import httpx
import pytest

from ollama_tui.ollama import (
    ModelNotFound,
    NotAnEmbeddingModel,
    OllamaClient,
    ServerError,
    Stalled,
    StreamBroken,
)
from ollama_tui.ollama.embeddings import embedding_vectors
from tests.fake_ollama import NOT_AN_EMBEDDING_MODEL, FakeOllama, word_vector

EMBEDDER = "nomic-embed-text:latest"


@pytest.fixture
async def client(fake_ollama: FakeOllama) -> AsyncIterator[OllamaClient]:
    async with OllamaClient(fake_ollama.url, stall_timeout=5) as client:
        yield client


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


async def test_one_normalised_vector_per_text_of_the_models_dimensions(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    texts = ["install the server", "installing a server", "bake sourdough bread"]
    vectors = await client.embed(EMBEDDER, texts)
    assert [len(v) for v in vectors] == [768, 768, 768]
    assert all(math.isclose(math.sqrt(cosine(v, v)), 1.0, rel_tol=1e-5) for v in vectors)
    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2])
    assert vectors[0] == word_vector(texts[0], 768)
    assert fake_ollama.embed_inputs() == texts  # one request carries the whole batch
    assert sum(r.path == "/api/embed" for r in fake_ollama.requests) == 1


async def test_the_fake_answers_as_ollama_does(fake_ollama: FakeOllama) -> None:
    async with httpx.AsyncClient(base_url=fake_ollama.url) as http:
        empty = await http.post("/api/embed", json={"model": EMBEDDER, "input": []})
        assert empty.json() == {"model": EMBEDDER, "embeddings": []}
        single = await http.post("/api/embed", json={"model": EMBEDDER, "input": "hello"})
        assert list(single.json()) == [
            "model",
            "embeddings",
            "total_duration",
            "load_duration",
            "prompt_eval_count",
        ]
        bad = await http.post("/api/embed", json={"model": EMBEDDER, "input": [1, 2]})
        assert (bad.status_code, bad.json()) == (400, {"error": "invalid input type"})
        unnamed = await http.post("/api/embed", json={"input": "x"})
        assert (unnamed.status_code, unnamed.json()) == (404, {"error": "model '' not found"})
        chat_model = await http.post("/api/embed", json={"model": "llama3.2", "input": "x"})
        assert (chat_model.status_code, chat_model.json()) == (
            501,
            {"error": NOT_AN_EMBEDDING_MODEL},
        )
        shorter = await http.post(
            "/api/embed", json={"model": EMBEDDER, "input": "x", "dimensions": 64}
        )
        assert len(shorter.json()["embeddings"][0]) == 64
        assert json.loads(shorter.content)["model"] == EMBEDDER


async def test_a_model_not_installed_says_to_pull_it(client: OllamaClient) -> None:
    with pytest.raises(ModelNotFound) as caught:
        await client.embed("mxbai-embed-large", ["text"])
    assert "ollama pull mxbai-embed-large" in str(caught.value)


async def test_a_chat_model_is_not_an_embedding_model(client: OllamaClient) -> None:
    with pytest.raises(NotAnEmbeddingModel) as caught:
        await client.embed("llama3.2:latest", ["text"])
    assert "not an embedding model" in str(caught.value)
    assert "\n" not in str(caught.value)


async def test_faults_become_typed_errors(fake_ollama: FakeOllama) -> None:
    fake_ollama.queue_embed("error")
    fake_ollama.queue_embed("dims")
    fake_ollama.queue_embed("drop")
    fake_ollama.queue_embed("slow")
    async with OllamaClient(fake_ollama.url, stall_timeout=0.3) as client:
        with pytest.raises(ServerError) as failed:
            await client.embed(EMBEDDER, ["a"])
        assert failed.value.status == 500
        vectors = await client.embed(EMBEDDER, ["a"])  # the client passes them on…
        assert len(vectors[0]) == 384  # …and the index checks the dimensions it expects
        with pytest.raises(StreamBroken):
            await client.embed(EMBEDDER, ["a"])
        with pytest.raises(Stalled):
            await client.embed(EMBEDDER, ["a"])
        assert len((await client.embed(EMBEDDER, ["a"]))[0]) == 768


@pytest.mark.parametrize(
    "answer",
    [
        {"embeddings": [[0.1, 0.2]]},
        {"embeddings": [[0.1, 0.2], [0.3]]},
        {"embeddings": [[0.1, "x"], [0.3, 0.4]]},
        {"embeddings": [[], []]},
        {"model": "m"},
    ],
)
def test_an_answer_that_does_not_match_the_inputs_is_malformed(answer: dict) -> None:
    with pytest.raises(StreamBroken) as caught:
        embedding_vectors(answer, 2)
    assert caught.value.kind == "malformed"
