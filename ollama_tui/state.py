"""The app's own state file: what the user chose in the app, kept apart from their config.

It is written only by the app (TOML through tomli-w, atomically) and read leniently: a state
file that cannot be read or parsed counts as empty, since nothing in it is the user's writing.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ollama_tui.atomic import write_atomic
from ollama_tui.chat.migrations import FormatError
from ollama_tui.chat.validation import clean_tree
from ollama_tui.config_checks import InvalidValue, boolean, non_empty_string, problem, string

log = logging.getLogger(__name__)

MAX_STATE_BYTES = 64 * 1024
"""A state file larger than this was not written by the app; it is ignored."""


def read_state(path: Path) -> dict[str, Any]:
    """The state file's top-level values; {} when it is missing, unreadable or not TOML."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_STATE_BYTES + 1)
    except FileNotFoundError:
        return {}
    except OSError as error:
        log.warning("state file %s not read: %s", path, error)
        return {}
    if len(data) > MAX_STATE_BYTES:
        log.warning("state file %s ignored: larger than %d bytes", path, MAX_STATE_BYTES)
        return {}
    try:
        # Shown in the app (a model's name, a theme): cleaned like everything read from disk.
        return clean_tree(tomllib.loads(data.decode("utf-8")), finite=False)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError, FormatError) as error:
        log.warning("state file %s ignored: %s", path, error)
        return {}


def write_state(path: Path, values: dict[str, Any]) -> None:
    """Replace the state file with `values`; OSError when it cannot be written."""
    import tomli_w  # only here: nothing else writes TOML, and not before the first frame

    path = path.resolve()  # write through a symlinked state file (dotfile managers), not over it
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "# Written by ollama-tui: the choices made in the app. Settings go in config.toml.\n"
    write_atomic(path, (header + tomli_w.dumps(values)).encode("utf-8"))


# What save_preferences may write to the state file (flat keys, as the Settings attributes).
_PREFERENCES: dict[str, Callable[[object], object]] = {
    "model": string,
    "theme": non_empty_string,
    "show_sidebar": boolean,
    "show_parameters": boolean,
    "last_conversation": string,
}


def preferences(state_path: Path) -> dict[str, object]:
    """The valid choices kept in the state file; a damaged or foreign value is left out."""
    kept: dict[str, object] = {}
    for name, value in read_state(state_path).items():
        check = _PREFERENCES.get(name)
        if check is None:
            continue
        try:
            kept[name] = check(value)
        except InvalidValue:
            continue
    return kept


def save_preferences(state_path: Path, **changes: str | bool) -> None:
    """Keep the user's choices (see _PREFERENCES) in the app's state file.

    Only those keys change; the user's config file is never written. Raises TypeError for a key
    that is not a preference, ValueError for a bad value, and OSError when the file cannot be
    written.
    """
    unknown = sorted(set(changes) - set(_PREFERENCES))
    if unknown:
        raise TypeError(f"not a saved preference: {', '.join(unknown)}")
    for name, value in changes.items():
        try:
            _PREFERENCES[name](value)
        except InvalidValue as invalid:
            raise ValueError(problem(name, value, invalid)) from None
    current = preferences(state_path)
    if any(current.get(name) != value for name, value in changes.items()):
        write_state(state_path, {**current, **changes})
