"""A document store in a temp folder and a client of the fake Ollama."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from ollama_tui.docs.indexer import Indexer
from ollama_tui.docs.store import DocumentStore
from ollama_tui.ollama.client import OllamaClient
from tests.fake_ollama import FakeOllama

EMBEDDER = "nomic-embed-text:latest"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DocumentStore]:
    store = DocumentStore(tmp_path / "data" / "documents.sqlite3")
    yield store
    store.close()


@pytest.fixture
async def client(fake_ollama: FakeOllama) -> AsyncIterator[OllamaClient]:
    async with OllamaClient(fake_ollama.url, stall_timeout=5) as client:
        yield client


@pytest.fixture
def indexer(store: DocumentStore, client: OllamaClient, tmp_path: Path) -> Indexer:
    return Indexer(store, client, tmp_path / "data" / "locks", batch_size=2)
