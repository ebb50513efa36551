"""ollama-tui: a keyboard-driven terminal chat client for Ollama."""

import os

__version__ = "0.1.0"

# Textual reads its frame rate once, when it is first imported, and after a frame that took
# longer than one period it waits one to two periods more before the next. While a reply
# streams, frames take 15–40 ms, so at Textual's default 60 a key typed then waited up to
# ~33 ms extra for its frame; at 120 it waits at most ~17. A user's own setting wins.
os.environ.setdefault("TEXTUAL_FPS", "120")
