"""The `ollama-tui` command: parse arguments, build Settings, run the app or a subcommand.

Textual is imported only when the app is built, so --help, --version, config errors and the
subcommands (list, export, import, ask, serve) are fast and work without a terminal UI.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.util
import os
import shutil
import sys
import unicodedata
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ollama_tui import __version__, ask
from ollama_tui.chat.conversation import is_valid_id
from ollama_tui.chat.export import (
    FORMATS,
    ExportFormat,
    TransferError,
    dump_json,
    export_text,
    import_file,
    local_minute,
    write_export,
)
from ollama_tui.chat.store import ConversationStore, StoreError
from ollama_tui.config import ConfigError, Settings, default_config_path, load_settings
from ollama_tui.docs import commands as docs_commands
from ollama_tui.keymap import default_keys, describe, key_name
from ollama_tui.logs import configure_logging, default_log_path, log_bodies, log_level
from ollama_tui.sanitize import one_line

if TYPE_CHECKING:
    from ollama_tui.ui.app import OllamaTUI

SERVE_TOKEN_ENV = "OLLAMA_TUI_TOKEN"

_HELP_KEYS = (
    "prompt.send",
    "prompt.newline",
    "reply.stop",
    "reply.retry",
    "conversation.new",
    "conversation.rename",
    "conversation.search",
    "model.pick",
    "models.open",
    "sidebar.toggle",
    "parameters.toggle",
    "messages.focus",
    "app.help",
    "app.quit",
)
"""The keys --help lists: the ones a new user needs before F1 shows the rest."""


_HELP_TEXTS = {"app.help": "help: every key, and what it does where"}


def _shown(keys: str) -> str:
    """Keys as a user reads them, several separated by commas."""
    return ", ".join(key_name(key) for key in keys.split(","))


def keys_help() -> str:
    """The default keys of _HELP_KEYS, one per line, from the keymap itself."""
    rows = [
        (_shown(default_keys(command)), _HELP_TEXTS.get(command) or describe(command))
        for command in _HELP_KEYS
    ]
    rows.append(("ctrl+p", "command palette: every command by name"))
    width = max(len(keys) for keys, _ in rows)
    return "keys:\n" + "".join(f"  {keys:<{width}}  {text}\n" for keys, text in rows)


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface; the epilog lists the main keys and where settings come from."""
    epilog = (
        f"{keys_help()}\n"
        "Without a command the chat app starts. The commands list, export and import work on\n"
        "the saved conversations; ask prints one answer, for scripts; serve runs the app for\n"
        "web browsers (ollama-tui COMMAND --help tells more).\n\n"
        "The server address comes from --host, else the OLLAMA_HOST environment variable,\n"
        "else the config file, else http://127.0.0.1:11434.\n"
        f"Config file: {default_config_path()} (see config.example.toml).\n"
        f"Log file: {default_log_path()} (--debug, or OLLAMA_TUI_LOG_LEVEL, says more).\n"
        "ollama-tui paths prints every file and folder the app reads and writes."
    )
    usage = (
        "%(prog)s [--host URL] [--model NAME] [--config FILE] [--data-dir DIR]\n"
        "       %(prog)s list [--json] | export ID [--format md|json] [-o FILE] | import FILE\n"
        '       %(prog)s ask [--model NAME] [--format json|FILE] [--system S] [--save] "prompt"\n'
        "       %(prog)s paths [config|state|data|log]\n"
        "       %(prog)s serve [--host ADDRESS] [--port N] [--public-url URL] [--token T]\n"
        "       %(prog)s --version | --help"
    )
    parser = argparse.ArgumentParser(
        prog="ollama-tui",
        usage=usage,
        description="A keyboard-driven terminal chat client for Ollama.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--host", metavar="URL", help="Ollama server address, written as OLLAMA_HOST is"
    )
    parser.add_argument("--model", metavar="NAME", help="model for new conversations")
    config_help = "config file to read instead of the default"
    data_dir_help = "folder for saved conversations"
    parser.add_argument("--config", metavar="FILE", type=Path, help=config_help)
    parser.add_argument("--data-dir", metavar="DIR", type=Path, help=data_dir_help)
    parser.add_argument(
        "--debug",
        action="store_true",
        help="write requests and timings to the log file (see ollama-tui paths)",
    )
    parser.add_argument("--version", action="version", version=f"ollama-tui {__version__}")

    # --config and --data-dir may also follow the command; SUPPRESS keeps a value given
    # before the command from being reset to None by the subparser's default.
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument(
        "--config", metavar="FILE", type=Path, default=argparse.SUPPRESS, help=config_help
    )
    shared.add_argument(
        "--data-dir", metavar="DIR", type=Path, default=argparse.SUPPRESS, help=data_dir_help
    )
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", title="commands", prog="ollama-tui"
    )
    listing = commands.add_parser(
        "list", parents=[shared], help="print the saved conversations, newest first"
    )
    listing.add_argument("--json", action="store_true", help="as JSON, for scripts")
    export = commands.add_parser(
        "export", parents=[shared], help="print or write a conversation as Markdown or JSON"
    )
    export.add_argument("id", metavar="ID", help="the conversation's id (see ollama-tui list)")
    export.add_argument("--format", choices=FORMATS, default="md", help="default: md")
    export.add_argument(
        "-o", "--output", metavar="FILE", type=Path, help="write to FILE instead of stdout"
    )
    importing = commands.add_parser(
        "import",
        parents=[shared],
        help="add a conversation from a JSON export (a new id if its id is taken)",
    )
    importing.add_argument("file", metavar="FILE", type=Path, help="a JSON export")
    ask.add_parser(commands, shared)
    locating = commands.add_parser(
        "paths",
        parents=[shared],
        help="print where the config, state, conversations and log are",
    )
    locating.add_argument(
        "which", nargs="?", choices=PATH_NAMES, help="print only this path, for scripts"
    )
    docs_commands.register(commands, [shared])
    _add_serve_parser(commands, shared)
    return parser


def _add_serve_parser(commands: Any, shared: argparse.ArgumentParser) -> None:
    serving = commands.add_parser(
        "serve",
        parents=[shared],
        help="run the app for web browsers, one app per tab (needs ollama-tui[web])",
        description=(
            "Run the app for web browsers: every tab is its own app on the same conversations. "
            "It listens on 127.0.0.1 unless --host says otherwise; any other address (or a "
            "--public-url beyond this machine) needs a token, made up and printed in the link "
            f"unless --token or {SERVE_TOKEN_ENV} gives one, and requests without it are refused. "
            "Anyone with the link can read every "
            "conversation. The Ollama server is chosen as for the app: ollama-tui --host URL "
            "serve, OLLAMA_HOST or the config file."
        ),
    )
    serving.add_argument(
        "--host",
        dest="bind",
        metavar="ADDRESS",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1; 0.0.0.0 for every network)",
    )
    serving.add_argument(
        "--port", type=_port, default=8000, help="port to listen on (default: 8000)"
    )
    serving.add_argument(
        "--public-url",
        metavar="URL",
        help="the address browsers use, when it is not the one listened on (a TLS proxy)",
    )
    serving.add_argument(
        "--token",
        metavar="T",
        help=f"the secret every request must carry (also {SERVE_TOKEN_ENV})",
    )


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 1 to 65535, got {text!r}")
    return port


def make_app(settings: Settings) -> OllamaTUI:
    """Build the app exactly as the command does; tests use this too."""
    from ollama_tui.ui.app import OllamaTUI

    return OllamaTUI(settings)


def main(argv: list[str] | None = None) -> int:
    """Run ollama-tui or one of its commands; the exit status is 2 for a usage, config or
    command error."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # --help, --version, or a usage error already printed
        return int(exit_.code or 0)
    if args.command is not None:
        gc.enable()  # paused for the app's start (__main__.py); the app sets it going itself
    try:
        settings = load_settings(
            config_path=args.config, host=args.host, model=args.model, data_dir=args.data_dir
        )
    except ConfigError as error:
        return _fail(str(error))
    log_path = configure_logging(log_level(debug=args.debug), bodies=log_bodies())
    if args.command == "paths":
        return print_paths(settings, log_path, args.which)
    if args.command == "list":
        return list_conversations(settings, as_json=args.json)
    if args.command == "export":
        return export_conversation(settings, args.id, args.format, args.output)
    if args.command == "import":
        return import_conversation(settings, args.file)
    if args.command == "docs":
        return docs_commands.run(settings, args)
    if args.command == "ask":
        return ask.run(settings, args)
    if args.command == "serve":
        return serve_in_browser(args, settings)
    app = make_app(settings)
    detect_terminal_graphics(settings.data_dir / "attachments")
    app.run()
    if app.crash is not None:
        print(app.crash, file=sys.stderr)
    return app.return_code or 0


def detect_terminal_graphics(attachments: Path) -> None:
    """Let textual-image (the optional `images` extra) ask the terminal whether it draws Kitty
    or Sixel graphics, when there are images to draw.

    It asks as it is imported, and only a terminal the app does not own yet can answer, so this
    runs before the app starts; it costs 60–100 ms, so only when images were attached before.
    Images attached for the first time are drawn in half-blocks until the next start.
    """
    if sys.__stdout__ is None or not sys.__stdout__.isatty():
        return
    try:
        with os.scandir(attachments) as entries:
            if not any(entry.name.endswith((".png", ".jpg")) for entry in entries):
                return
    except OSError:
        return
    with contextlib.suppress(ImportError):
        import textual_image.widget  # noqa: F401


PATH_NAMES = ("config", "state", "data", "log")


def print_paths(settings: Settings, log_path: Path, which: str | None) -> int:
    """`ollama-tui paths`: every file and folder the app uses, and whether it exists yet."""
    paths = {
        "config": settings.config_path,
        "state": settings.state_path,
        "data": settings.data_dir,
        "log": log_path,
    }
    if which is not None:
        print(paths[which])
        return 0
    notes = {
        "config": "your settings; only ever read (see config.example.toml)",
        "state": "choices made in the app: model, theme, panels, last conversation",
        "data": "conversations, the trash and the search index",
        "log": "warnings, errors, and with --debug each request",
    }
    for name, path in paths.items():
        exists = "" if path.exists() else " (not created yet)"
        print(f"{name:<7}{path}{exists}")
        print(f"{'':<7}{notes[name]}")
    return 0


def list_conversations(settings: Settings, *, as_json: bool = False) -> int:
    """`ollama-tui list`: id, date, message count, model and title of each, newest first."""
    store = ConversationStore(settings.data_dir)
    try:
        summaries = store.list()
    except OSError as error:
        return _fail(f"cannot read {store.folder}: {error.strerror or error}")
    for notice in store.take_notices():
        _warn(notice)
    if as_json:
        return _output(dump_json([asdict(summary) for summary in summaries]))
    if not summaries:
        _warn(f"no saved conversations in {settings.data_dir}")
        return 0
    rows = [
        (
            summary.id,
            local_minute(summary.updated_at),
            str(summary.message_count),
            one_line(summary.model, 30),
            one_line(summary.title),
        )
        for summary in summaries
    ]
    header = ("ID", "UPDATED", "MSGS", "MODEL", "TITLE")
    widths = [max(_cells(row[column]) for row in [header, *rows]) for column in range(4)]
    width = _terminal_width()
    title_room = max(width - sum(widths) - 2 * 4, 10) if width else None
    lines = []
    for row in [header, *rows]:
        cells = [
            _pad(row[0], widths[0]),
            _pad(row[1], widths[1]),
            _pad(row[2], widths[2], right=True),
            _pad(row[3], widths[3]),
            _fit(row[4], title_room) if title_room else row[4],
        ]
        lines.append("  ".join(cells).rstrip() + "\n")
    return _output("".join(lines))


def export_conversation(
    settings: Settings, conversation_id: str, kind: ExportFormat, output: Path | None
) -> int:
    """`ollama-tui export`: Markdown or JSON to stdout or to a file (see `write_export`).

    A conversation that cannot be read exits 2; an output that cannot be written exits 1.
    """
    store = ConversationStore(settings.data_dir)
    if not is_valid_id(conversation_id) or not store.path_of(conversation_id).is_file():
        shown = one_line(conversation_id, 80)
        return _fail(f"no conversation with id '{shown}' (see ollama-tui list)")
    try:
        conversation = store.load(conversation_id)
    except StoreError as error:
        return _fail(str(error))
    if output is None:
        return _output(export_text(conversation, kind, store.attachments))
    try:
        write_export(conversation, output, kind, store.attachments)
    except TransferError as error:
        _warn(str(error))
        return 1
    return _output(f"wrote {one_line(str(output), 1000)}\n")


def import_conversation(settings: Settings, path: Path) -> int:
    """`ollama-tui import`: save a JSON export as a new conversation; print its id and title."""
    try:
        conversation = import_file(path, ConversationStore(settings.data_dir))
    except TransferError as error:
        return _fail(str(error))
    return _output(f"{conversation.id}  {one_line(conversation.title)}\n")


def serve_in_browser(args: argparse.Namespace, settings: Settings) -> int:
    """`ollama-tui serve`: textual-serve runs this command's app for each browser tab, with the
    same data dir, config file, server and model."""
    # Taken out of the environment the tabs' apps inherit.
    token_from_environment = os.environ.pop(SERVE_TOKEN_ENV, "") or None
    token = args.token if args.token is not None else token_from_environment
    if importlib.util.find_spec("textual_serve") is None:
        print(
            "ollama-tui: serve needs textual-serve: pip install 'ollama-tui[web]'", file=sys.stderr
        )
        return 1
    from ollama_tui import serve

    if token == "":
        return _fail("--token: expected a secret, got an empty string")
    if args.public_url and not args.public_url.startswith(("http://", "https://")):
        return _fail(f"--public-url: expected an http:// or https:// URL, got {args.public_url!r}")
    token = serve.demanded_token(args.bind, token, args.public_url)
    app_argv = ["--data-dir", str(settings.data_dir.absolute())]
    if args.config is not None:
        app_argv += ["--config", str(args.config.absolute())]
    if args.host is not None:
        app_argv += ["--host", args.host]
    if args.model is not None:
        app_argv += ["--model", args.model]
    if args.debug:
        app_argv.append("--debug")
    try:
        serve.serve(
            argv=app_argv, host=args.bind, port=args.port, public_url=args.public_url, token=token
        )
    except OSError as error:
        return _fail(f"cannot listen on {args.bind} port {args.port}: {error.strerror or error}")
    return 0


def _fail(message: str) -> int:
    _warn(message)
    return 2


def _warn(message: str) -> None:
    """One line on stderr; the message may name files or values, so it is made inert."""
    print(f"ollama-tui: {one_line(message, 2000)}", file=sys.stderr)


def _output(text: str) -> int:
    """Write a command's result to stdout: 0, or 1 with one line when it cannot be written
    (a full disk, a closed pipe)."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError as error:
        # Nothing more can reach stdout; point it at /dev/null so the exit does not fail again.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        _warn(f"could not write the output: {error.strerror or error}")
        return 1
    return 0


def _terminal_width() -> int | None:
    """Columns of the terminal; None when the output goes to a file or a pipe."""
    if "COLUMNS" in os.environ or sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


def _cells(text: str) -> int:
    """How many terminal columns `text` takes: wide characters two, combining marks none."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def _pad(text: str, width: int, *, right: bool = False) -> str:
    padding = " " * (width - _cells(text))
    return padding + text if right else text + padding


def _fit(text: str, width: int) -> str:
    """`text` cut to `width` columns, with "…" when it had to be cut."""
    if _cells(text) <= width:
        return text
    kept: list[str] = []
    used = 1  # the ellipsis
    for character in text:
        used += _cells(character)
        if used > width:
            break
        kept.append(character)
    return "".join(kept) + "…"
