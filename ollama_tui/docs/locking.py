"""One indexer per collection across processes: an exclusive lock on a small file.

The operating system releases the lock when its holder exits, even by a crash, so a stale
lock never blocks the next run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import TracebackType

from ollama_tui.docs.errors import DocsError


class IndexLock:
    """Held while a collection is indexed; DocsError if another process holds it."""

    def __init__(self, folder: Path, name: str) -> None:
        self.path = folder / f"{name}.lock"
        self._fd: int | None = None

    def __enter__(self) -> IndexLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            _lock(fd)
        except OSError:
            os.close(fd)
            raise DocsError(
                f"collection '{self.path.stem}' is being indexed by another ollama-tui; "
                "wait for it to finish, then try again"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = None


if sys.platform == "win32":
    import msvcrt

    def _lock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
