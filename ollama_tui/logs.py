"""The log file: a rotating file in the platform's log dir, quiet unless asked.

Warnings and errors (with tracebacks) are always written there; `--debug` or
OLLAMA_TUI_LOG_LEVEL=DEBUG adds each request's method, path, status and timing. Message text
and request bodies are logged only with OLLAMA_TUI_LOG_BODIES=1; keys and headers never.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from collections.abc import Mapping
from pathlib import Path

import platformdirs

APP_NAME = "ollama-tui"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
MAX_BYTES = 2 * 1024 * 1024
BACKUPS = 3


def default_log_path() -> Path:
    """Where the log file is written (per-platform user log dir)."""
    return platformdirs.user_log_path(APP_NAME) / "ollama-tui.log"


def log_level(*, debug: bool, environ: Mapping[str, str] = os.environ) -> int:
    """DEBUG with --debug, else OLLAMA_TUI_LOG_LEVEL when it names a level, else WARNING."""
    if debug:
        return logging.DEBUG
    named = environ.get("OLLAMA_TUI_LOG_LEVEL", "").strip().upper()
    return getattr(logging, named) if named in LEVELS else logging.WARNING


def log_bodies(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether request bodies (and so message text) may be logged: OLLAMA_TUI_LOG_BODIES=1."""
    return environ.get("OLLAMA_TUI_LOG_BODIES", "").strip() == "1"


class _LazyRotatingFile(logging.handlers.RotatingFileHandler):
    """Creates the folder and the file only when the first record is written."""

    def _open(self):  # type: ignore[no-untyped-def]
        Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        return super()._open()


_configured: Path | None = None


def current_log_path() -> Path:
    """The log file records go to: the one configure_logging set up, else the default."""
    return _configured or default_log_path()


def configure_logging(level: int, path: Path | None = None, *, bodies: bool = False) -> Path:
    """Send ollama-tui's records at `level` and above to the rotating log file; its path.

    Request bodies go to their own logger, silent unless `bodies` is set.
    """
    global _configured
    path = default_log_path() if path is None else path
    _configured = path
    root = logging.getLogger("ollama_tui")
    for handler in list(root.handlers):
        if isinstance(handler, _LazyRotatingFile):
            root.removeHandler(handler)
            handler.close()
    handler = _LazyRotatingFile(
        path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
    body_logger = logging.getLogger("ollama_tui.ollama.bodies")
    body_logger.setLevel(logging.DEBUG if bodies else logging.CRITICAL + 1)
    return path
