"""Fixtures shared by every test: a fake Ollama server, a client of it, and a URL where
nothing listens."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from ollama_tui.ollama import OllamaClient
from tests.fake_ollama import FakeOllama


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the user's own config, state, log and data out of reach of every test."""
    for kind in ("CONFIG", "DATA", "STATE", "CACHE"):
        monkeypatch.setenv(f"XDG_{kind}_HOME", str(tmp_path / f"xdg-{kind.lower()}"))


@pytest.fixture
def fake_ollama() -> Iterator[FakeOllama]:
    """A running fake Ollama on a free loopback port, stopped after the test."""
    with FakeOllama() as server:
        yield server


@pytest.fixture
async def client(fake_ollama: FakeOllama) -> AsyncIterator[OllamaClient]:
    """A client of the fake Ollama, which answers quickly (1 ms a token)."""
    fake_ollama.token_delay = 0.001
    async with OllamaClient(fake_ollama.url, stall_timeout=5) as client:
        yield client


@pytest.fixture
def unused_url() -> str:
    """A loopback URL on which nothing listens, so connecting is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
