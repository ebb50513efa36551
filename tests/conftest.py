"""Fixtures shared by every test: a fake Ollama server and a URL where nothing listens."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

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
def unused_url() -> str:
    """A loopback URL on which nothing listens, so connecting is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
