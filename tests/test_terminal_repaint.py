"""What a real terminal shows is what a full repaint shows.

While a reply streams, the app repaints only the lines that changed (a paragraph's last lines,
rendered alone). A line left stale would stay on screen until the next full repaint: here the
app runs in tmux against the fake Ollama, a long reply with Markdown streams in and is then
scrolled through, and at each step the screen tmux holds (its text, and its colours and
attributes) is compared with the screen after tmux has made the app repaint everything (by
resizing the window and back).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

from tests.fake_ollama import FakeOllama
from tests.fake_ollama.replies import tokenize

WIDTH, HEIGHT = 140, 45
PARAGRAPH = (
    "Streaming text **grows** at the end of a paragraph, now and then with `inline code`, "
    "*emphasis* or a [link](https://example.com), and the lines above its last one stay as "
    "they were drawn. "
)
REPLY = "\n\n".join(
    f"## Part {n}\n\n" + PARAGRAPH * (2 + n % 3) + ("\n\n- one\n- two" if n % 4 == 0 else "")
    for n in range(12)
)


class Screen(NamedTuple):
    text: str
    colours: str

    def __eq__(self, other: object) -> bool:
        """Alike in text, and in colours but on the prompt's line, where the cursor blinks."""
        if not isinstance(other, Screen):
            return NotImplemented
        return self.text == other.text and self._colours_but_prompt() == other._colours_but_prompt()

    __hash__ = None  # type: ignore[assignment]

    def _colours_but_prompt(self) -> list[str]:
        """The lines with their colours, but the prompt's (found in the text: a lit cursor
        splits the placeholder's words with escape sequences)."""
        prompt = {n for n, line in enumerate(self.text.splitlines()) if "Enter sends" in line}
        return [line for n, line in enumerate(self.colours.splitlines()) if n not in prompt]


class Terminal:
    """The app in a tmux window of its own tmux server."""

    def __init__(self, url: str, home: Path) -> None:
        self.tmux = ["tmux", "-L", f"ollama-tui-test-{os.getpid()}"]
        environment = {
            key: value for key, value in os.environ.items() if not key.startswith("XDG_")
        }
        environment |= {"HOME": str(home), "TERM": "xterm-256color"}
        command = shlex.join([sys.executable, "-m", "ollama_tui", "--host", url])
        size = ["-x", str(WIDTH), "-y", str(HEIGHT)]
        subprocess.run(
            [*self.tmux, "new-session", "-d", "-s", "app", *size, command],
            check=True,
            env=environment,
            cwd=Path(__file__).resolve().parent.parent,
        )

    def screen(self, colours: bool = False) -> str:
        """The screen's text, or its text with colours and attributes (escape sequences)."""
        return subprocess.run(
            [*self.tmux, "capture-pane", "-p", *(["-e"] if colours else []), "-t", "app"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not on screen within {timeout} s:\n{self.screen()}")

    def keys(self, *keys: str) -> None:
        subprocess.run([*self.tmux, "send-keys", "-t", "app", *keys], check=True)

    def quiet_screen(self) -> Screen:
        """The screen once it has stopped changing, with and without its colours."""
        last = self.screen()
        while True:
            time.sleep(0.4)
            screen = self.screen()
            if screen == last:
                return Screen(screen, self.screen(colours=True))
            last = screen

    def repainted(self) -> Screen:
        """The screen after the app has drawn all of it again."""
        subprocess.run([*self.tmux, "resize-window", "-t", "app", "-x", str(WIDTH - 10)])
        self.wait_for("Quit")
        time.sleep(0.3)
        subprocess.run([*self.tmux, "resize-window", "-t", "app", "-x", str(WIDTH)])
        time.sleep(0.3)
        return self.quiet_screen()

    def close(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], capture_output=True)


def test_the_screen_after_streaming_and_scrolling_is_what_a_full_repaint_draws(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    assert shutil.which("tmux"), "tmux is needed for this test (.ci/run installs it)"
    fake_ollama.queue_reply(REPLY)
    fake_ollama.token_delay = 0.004
    release = fake_ollama.hold(n=len(tokenize(REPLY)) * 2 // 3)  # in the middle of a paragraph
    terminal = Terminal(fake_ollama.url, tmp_path)
    try:
        terminal.wait_for("Ollama 0.")  # connected
        terminal.keys("Stream a long reply, please", "Enter")
        terminal.wait_for("Part 7")
        streaming = terminal.quiet_screen()  # the server holds the rest back
        assert " Stop " in streaming.text  # the footer, while a reply streams
        assert streaming == terminal.repainted()

        release.set()
        terminal.wait_for("tok/s")  # the reply's header once it has ended
        streamed = terminal.quiet_screen()
        assert "Part 11" in streamed.text
        assert streamed == terminal.repainted()

        terminal.keys("Escape")
        terminal.keys("PageUp", "Up", "Up")  # the message list, scrolled up
        scrolled = terminal.quiet_screen()
        assert scrolled != streamed
        assert scrolled == terminal.repainted()
    finally:
        terminal.close()
