"""A session as the app opens one, on the fake Ollama, with its notices collected."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ollama_tui.config import Settings
from ollama_tui.session import Notice, Session
from tests.fake_ollama import FakeOllama


def settings_for(url: str, tmp_path: Path, **overrides: object) -> Settings:
    settings = Settings(
        host=url,
        model="llama3.2:latest",
        data_dir=tmp_path / "data",
        config_path=tmp_path / "config.toml",
        state_path=tmp_path / "state.toml",
    )
    for name, value in overrides.items():
        setattr(settings, name, value)
    return settings


@pytest.fixture
def notices() -> list[Notice]:
    return []


@pytest.fixture
async def session(
    fake_ollama: FakeOllama, tmp_path: Path, notices: list[Notice]
) -> AsyncIterator[Session]:
    opened = Session.open(settings_for(fake_ollama.url, tmp_path), notices.append)
    yield opened
    await opened.close()
