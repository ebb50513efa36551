"""ollama-tui: a keyboard-driven terminal chat client for Ollama."""

__version__ = "0.1.0"
