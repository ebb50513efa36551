"""`python -m ollama_tui` runs the command-line entry point."""

from ollama_tui.cli import main

raise SystemExit(main())
