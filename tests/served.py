"""`ollama-tui serve` in a subprocess on a free loopback port, for the serve and browser tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from ollama_tui.chat.conversation import Conversation
from ollama_tui.chat.store import ConversationStore


def saved(data_dir: Path) -> list[Conversation]:
    """The conversations saved in `data_dir`, as a fresh store reads them."""
    store = ConversationStore(data_dir)
    return [store.load(summary.id) for summary in store.list()]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Served:
    """`python -m ollama_tui --host OLLAMA [--model M] serve --port P --data-dir DATA ARGS`, with
    its config in `home`; entering waits until the server answers, leaving stops it (SIGTERM)."""

    def __init__(
        self, home: Path, ollama_url: str, *args: str, model: str = "", token_env: str = ""
    ) -> None:
        self.port = free_port()
        self.data_dir = home / "data"
        self.base = f"http://127.0.0.1:{self.port}"
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("OLLAMA_", "TEXTUAL"))}
        environ |= {"XDG_CONFIG_HOME": str(home / "config"), "XDG_DATA_HOME": str(home / "xdg")}
        if token_env:
            environ["OLLAMA_TUI_TOKEN"] = token_env
        self.log = home / "serve.log"
        argv = ["--host", ollama_url, *(["--model", model] if model else [])]
        argv += ["serve", "--port", str(self.port)]
        argv += ["--data-dir", str(self.data_dir), *args]
        self._log_file = self.log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ollama_tui", *argv],
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=environ,
        )

    def __enter__(self) -> Served:
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited: {self.log.read_text()}")
            try:
                httpx.get(f"{self.base}/static/css/xterm.css", timeout=2)
                return self
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"serve did not answer: {self.log.read_text()}") from None
                time.sleep(0.05)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop the server as Ctrl+C does, and wait for it (killed after 20 s)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_file.close()

    @property
    def link(self) -> str:
        """The link the server printed for the user."""
        for line in self.log.read_text().splitlines():
            if line.startswith("ollama-tui in a browser: "):
                return line.split(": ", 1)[1].split(" ", 1)[0]
        raise AssertionError(f"no link printed: {self.log.read_text()}")
