"""Fixtures shared by every test: a fake Ollama server and a URL where nothing listens."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.fake_ollama import FakeOllama


@pytest.fixture
def fake_ollama() -> Iterator[FakeOllama]:
    """A running fake Ollama on a free loopback port, stopped after the test."""
    with FakeOllama() as server:
        yield server


@pytest.fixture
def unused_url() -> str:
    """A loopback URL on which nothing listens, so connecting is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
