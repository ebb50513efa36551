"""The `ollama-tui` command: parse arguments, build Settings, run the app.

Textual is imported only when the app is built, so --help, --version and config errors are fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ollama_tui import __version__
from ollama_tui.config import ConfigError, Settings, default_config_path, load_settings

if TYPE_CHECKING:
    from ollama_tui.ui.app import OllamaTUI

_KEYS = """\
keys:
  enter      send the message         ctrl+j     new line in the message
  escape     stop the reply           ctrl+n     new conversation
  ctrl+l     choose the model         ctrl+b     show/hide the sidebar
  ctrl+r     show/hide parameters     F1         help
  ctrl+p     command palette          ctrl+q     quit
"""


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface; the epilog lists the main keys and where settings come from."""
    epilog = (
        f"{_KEYS}\n"
        "The server address comes from --host, else the OLLAMA_HOST environment variable,\n"
        "else the config file, else http://127.0.0.1:11434.\n"
        f"Config file: {default_config_path()} (see config.example.toml)."
    )
    parser = argparse.ArgumentParser(
        prog="ollama-tui",
        description="A keyboard-driven terminal chat client for Ollama.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--host", metavar="URL", help="Ollama server address, written as OLLAMA_HOST is"
    )
    parser.add_argument("--model", metavar="NAME", help="model for new conversations")
    parser.add_argument(
        "--config", metavar="FILE", type=Path, help="config file to read instead of the default"
    )
    parser.add_argument(
        "--data-dir", metavar="DIR", type=Path, help="folder for saved conversations"
    )
    parser.add_argument("--version", action="version", version=f"ollama-tui {__version__}")
    return parser


def make_app(settings: Settings) -> OllamaTUI:
    """Build the app exactly as the command does; tests use this too."""
    from ollama_tui.ui.app import OllamaTUI

    return OllamaTUI(settings)


def main(argv: list[str] | None = None) -> int:
    """Run ollama-tui; the exit status is 2 for a usage or config error."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # --help, --version, or a usage error already printed
        return int(exit_.code or 0)
    try:
        settings = load_settings(
            config_path=args.config, host=args.host, model=args.model, data_dir=args.data_dir
        )
    except ConfigError as error:
        print(f"ollama-tui: {error}", file=sys.stderr)
        return 2
    app = make_app(settings)
    app.run()
    return app.return_code or 0
