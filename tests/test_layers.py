"""The client, the domain and the config never depend on the UI (or the domain on HTTP)."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("ollama_tui.ollama", ("textual",)),
        ("ollama_tui.chat.store", ("textual", "httpx")),
        ("ollama_tui.chat.context", ("textual", "httpx")),
        ("ollama_tui.chat.search", ("textual", "httpx")),
        ("ollama_tui.chat.export", ("textual", "httpx")),
        ("ollama_tui.chat.intake", ("textual", "httpx", "PIL")),
        ("ollama_tui.chat.attachment_store", ("textual", "httpx", "PIL")),
        ("ollama_tui.config", ("textual",)),
        ("ollama_tui.cli", ("textual",)),
    ],
)
def test_module_does_not_import(module: str, forbidden: tuple[str, ...]) -> None:
    code = f"import sys, {module}; print(','.join(m for m in {forbidden!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
