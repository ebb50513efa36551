"""Chat with your documents: collections of files, chunked, embedded by Ollama and searched.

No Textual and no httpx here: the indexer and retrieval take an OllamaClient from the caller.
The store needs numpy (vectors) and PDFs need pypdf, both in the `docs` extra;
`missing_extra()` says in one line how to install them when they are absent.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ollama_tui.config import Settings

DATABASE_NAME = "documents.sqlite3"
LOCK_FOLDER_NAME = "documents.locks"
INSTALL_HINT = "pip install 'ollama-tui[docs]'"


def missing_extra() -> str | None:
    """None when the documents feature can run, else a one-line message saying how to install."""
    missing = [name for name in ("numpy", "pypdf") if find_spec(name) is None]
    if not missing:
        return None
    return f"documents need {' and '.join(missing)}, which are not installed: {INSTALL_HINT}"


def database_path(settings: Settings) -> Path:
    """Where every collection is stored: one SQLite file in the data dir."""
    return settings.data_dir / DATABASE_NAME


def lock_folder(settings: Settings) -> Path:
    """Where indexing runs take their per-collection locks."""
    return settings.data_dir / LOCK_FOLDER_NAME
