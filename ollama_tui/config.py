"""Settings: defaults < config.toml < environment < command-line flags.

The file is read with tomllib and validated strictly: anything unknown, mistyped or out of range
is a ConfigError with a one-line message naming the file and the dotted key. The user's file is
only ever read: what the user chooses in the app (model, theme, panels, the last conversation)
goes to a state file of the app's own (`state.save_preferences`), layered under the config file.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from ollama_tui.chat.conversation import MemoryStrategy
from ollama_tui.chat.intake import DEFAULT_MAX_IMAGE_SIDE, DEFAULT_MAX_TEXT_BYTES, AttachLimits
from ollama_tui.chat.migrations import FormatError
from ollama_tui.chat.options import (
    MAX_STOP_LENGTH,
    MAX_STOP_SEQUENCES,
    OPTION_SPECS,
    Options,
    OptionSpec,
    stop_sequences,
)
from ollama_tui.chat.validation import clean_tree
from ollama_tui.config_checks import Check as _Check
from ollama_tui.config_checks import ConfigError, InvalidValue, named_tables
from ollama_tui.config_checks import boolean as _boolean
from ollama_tui.config_checks import describe as _describe
from ollama_tui.config_checks import non_empty_string as _non_empty_string
from ollama_tui.config_checks import problem as _problem
from ollama_tui.config_checks import string as _string
from ollama_tui.config_pools import PoolSettings, check_pools, pool_tables
from ollama_tui.keymap import COMMANDS, is_command, is_key_list
from ollama_tui.ollama.host import DEFAULT_HOST, parse_ollama_host
from ollama_tui.state import preferences
from ollama_tui.tools import settings as tool_settings
from ollama_tui.tools.settings import McpServerSettings, ToolSettings

APP_NAME = "ollama-tui"


def default_config_path() -> Path:
    """Where the config file lives when --config is not given (per-platform user config dir)."""
    return platformdirs.user_config_path(APP_NAME) / "config.toml"


def default_state_path() -> Path:
    """Where the app keeps what the user chose in it (per-platform user state dir)."""
    return platformdirs.user_state_path(APP_NAME) / "state.toml"


def default_data_dir() -> Path:
    """Where conversations are stored when no data_dir is configured."""
    return platformdirs.user_data_path(APP_NAME)


@dataclass
class ConversationDefaults:
    """What a new conversation starts with; an option left None keeps the model's default."""

    system_prompt: str = ""
    memory: str = "summary"
    options: Options = field(default_factory=Options)
    tools: list[str] = field(default_factory=list)
    """Names of the [mcp.NAME] servers whose tools new conversations offer."""


@dataclass
class HostSettings:
    """One Ollama server and how to reach it."""

    name: str
    url: str
    api_key: str = field(default="", repr=False)
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    verify_tls: bool = True
    ca_bundle: Path | None = None


@dataclass
class Settings:
    """Everything the app is configured with, after all sources have been merged."""

    host: str = DEFAULT_HOST
    model: str = ""
    theme: str = "textual-dark"
    show_sidebar: bool = True
    show_parameters: bool = True
    reopen_last: bool = True
    """Start with the conversation open when the app last quit ([ui] reopen_last)."""
    connect_timeout: float = 5.0
    stall_timeout: float = 60.0
    verify_tls: bool = True
    ca_bundle: Path | None = None
    api_key: str = field(default="", repr=False)
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    keys: dict[str, str] = field(default_factory=dict)
    hosts: dict[str, HostSettings] = field(default_factory=dict)
    """Named servers from [hosts.NAME]; `host` above is the one used unless default_host says."""
    pools: dict[str, PoolSettings] = field(default_factory=dict)
    """Pools from [pools.NAME]; default_host may name one."""
    default_host: str = ""
    host_from_environment: bool = False
    reply_reserve: int = 0
    summary_model: str = ""
    data_dir: Path = field(default_factory=default_data_dir)
    config_path: Path = field(default_factory=default_config_path)
    state_path: Path = field(default_factory=default_state_path)
    last_conversation: str = ""
    """The conversation open when the app last quit, reopened at start-up."""
    defaults: ConversationDefaults = field(default_factory=ConversationDefaults)
    mcp: dict[str, McpServerSettings] = field(default_factory=dict)  # [mcp.NAME], in order
    tools: ToolSettings = field(default_factory=ToolSettings)
    max_image_side: int = DEFAULT_MAX_IMAGE_SIDE
    """Attached images are downscaled to this many pixels on their longest side."""
    max_text_kb: int = DEFAULT_MAX_TEXT_BYTES // 1000
    """Attached text files larger than this many kilobytes (1,000 bytes) are refused."""

    @property
    def attach_limits(self) -> AttachLimits:
        return AttachLimits(
            max_image_side=self.max_image_side, max_text_bytes=self.max_text_kb * 1000
        )


def active_host(settings: Settings) -> HostSettings:
    """The server to start with: OLLAMA_HOST or --host when given, else default_host, else
    the top-level `host` with the [network] settings. For a pool, its first host."""
    if settings.default_host and not settings.host_from_environment:
        pool = settings.pools.get(settings.default_host)
        return settings.hosts[pool.hosts[0] if pool else settings.default_host]
    name = "default" if not settings.host_from_environment else settings.host.split("://")[-1]
    return HostSettings(
        name=name,
        url=settings.host,
        api_key=settings.api_key,
        headers=dict(settings.headers),
        verify_tls=settings.verify_tls,
        ca_bundle=settings.ca_bundle,
    )


def all_hosts(settings: Settings) -> list[HostSettings]:
    """Every server the user can switch to: the starting one first, then the named ones."""
    first = active_host(settings)
    return [first, *(host for name, host in settings.hosts.items() if name != first.name)]


def _host(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidValue("a string")
    try:
        return parse_ollama_host(value)
    except ValueError as error:
        raise InvalidValue(f"an Ollama address such as {DEFAULT_HOST}", str(error)) from error


def _as_float(value: object, expected: str) -> float:
    """Ints are accepted where a float is wanted; bools and nan/inf are not."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidValue(expected)
    number = float(value)
    if not math.isfinite(number):
        raise InvalidValue(expected)
    return number


_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _headers(value: object) -> dict[str, str]:
    """Extra HTTP headers for a reverse proxy: names are HTTP tokens, values one line of text."""
    expected = 'a table of header names to one-line strings, e.g. { "X-Team" = "ml" }'
    if not isinstance(value, dict):
        raise InvalidValue(expected)
    for name, text in value.items():
        if not _HEADER_NAME.fullmatch(name) or not isinstance(text, str):
            raise InvalidValue(expected)
        if "\r" in text or "\n" in text:
            raise InvalidValue(expected)
    return dict(value)


def _memory(value: object) -> str:
    names = [strategy.value for strategy in MemoryStrategy]
    if value not in names:
        raise InvalidValue(" or ".join(f'"{name}"' for name in names))
    return str(value)


def _reserve(value: object) -> int:
    expected = "a whole number of tokens, 0 or more (0 = automatic)"
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidValue(expected)
    return value


def _checked(check: Callable[[object], Any]) -> _Check:
    """A check from another module, whose ValueError says what was expected."""

    def run(value: object) -> Any:
        try:
            return check(value)
        except ValueError as error:
            raise InvalidValue(str(error)) from None

    return run


def _whole_at_least(minimum: int, unit: str) -> _Check:
    expected = f"a whole number of {unit}, {minimum} or more"

    def check(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise InvalidValue(expected)
        return value

    return check


def _positive(value: object) -> float:
    number = _as_float(value, "a number greater than 0")
    if number <= 0:
        raise InvalidValue("a number greater than 0")
    return number


def _option(spec: OptionSpec) -> _Check:
    """The check for one generation option, from its shared spec (ranges live in one place)."""
    expected = spec.describe()

    def check(value: object) -> int | float:
        if spec.kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidValue(expected)
            number: int | float = value
        else:
            number = _as_float(value, expected)
        if not spec.accepts(number):
            raise InvalidValue(expected)
        return number

    return check


def _stop(value: object) -> tuple[str, ...]:
    sequences = stop_sequences(value)
    if sequences is None:
        raise InvalidValue(
            f"an array of 1 to {MAX_STOP_SEQUENCES} non-empty strings "
            f"(each at most {MAX_STOP_LENGTH} characters)"
        )
    return sequences


OPTION_CHECKS: dict[str, _Check] = {spec.name: _option(spec) for spec in OPTION_SPECS}
OPTION_CHECKS["stop"] = _stop

# Tables and their keys; "" is the top level. Key names match the Settings attributes.
_SCHEMA: dict[str, dict[str, _Check]] = {
    "": {
        "host": _host,
        "default_host": _string,
        "model": _string,
        "theme": _non_empty_string,
        "data_dir": _string,
    },
    "ui": {"show_sidebar": _boolean, "show_parameters": _boolean, "reopen_last": _boolean},
    "network": {
        "connect_timeout": _positive,
        "stall_timeout": _positive,
        "verify_tls": _boolean,
        "ca_bundle": _string,
        "api_key": _string,
        "headers": _headers,
    },
    "memory": {"reply_reserve": _reserve, "summary_model": _string},
    "attachments": {
        "max_image_side": _whole_at_least(64, "pixels"),
        "max_text_kb": _whole_at_least(1, "kilobytes"),
    },
    "defaults": {"system_prompt": _string, "memory": _memory, **OPTION_CHECKS}
    | {"tools": _checked(tool_settings.server_names)},
    "tools": {name: _checked(check) for name, check in tool_settings.TOOL_CHECKS.items()},
}


def _validate(document: Mapping[str, Any], path: Path) -> dict[str, object]:
    """Check a parsed file against the schema; the checked values keyed by dotted name."""
    checked: dict[str, object] = {}

    def fail(message: str) -> ConfigError:
        return ConfigError(f"config error in {path}: {message}")

    top_level = [
        *_SCHEMA[""],
        *(f"[{name}]" for name in _SCHEMA if name),
        "[keys]",
        "[hosts.NAME]",
        "[pools.NAME]",
        "[mcp.NAME]",
    ]
    for key, value in document.items():
        if key == "keys":
            checked["keys"] = _keymap(value, fail)
            continue
        if key == "mcp":
            try:
                checked["mcp"] = tool_settings.mcp_servers(value, path.parent)
            except ValueError as error:
                raise fail(str(error)) from None
            continue
        if key == "hosts":
            checked["hosts"] = _host_tables(value, fail)
            continue
        if key == "pools":
            checked["pools"] = pool_tables(value, fail)
            continue
        if key in _SCHEMA[""]:
            entries, prefix = {key: value}, ""
            checks = _SCHEMA[""]
        elif key in _SCHEMA:
            if not isinstance(value, dict):
                raise fail(f"{key}: expected a table ([{key}]), got {_describe(value)}")
            entries, prefix = value, f"{key}."
            checks = _SCHEMA[key]
        else:
            raise fail(f"{key}: unknown key (known: {', '.join(top_level)})")
        for name, item in entries.items():
            if name not in checks:
                raise fail(f"{prefix}{name}: unknown key (known: {', '.join(checks)})")
            try:
                checked[prefix + name] = checks[name](item)
            except InvalidValue as invalid:
                raise fail(_problem(prefix + name, item, invalid)) from None
    return checked


_HOST_KEYS: dict[str, _Check] = {
    "url": _host,
    "api_key": _string,
    "api_key_env": _string,
    "headers": _headers,
    "verify_tls": _boolean,
    "ca_bundle": _string,
}


def _host_tables(value: object, fail: Callable[[str], ConfigError]) -> dict[str, dict[str, Any]]:
    """`[hosts.NAME]` tables, checked key by key; `url` is required."""
    required = ("url", '"http://gpu-box:11434"')
    return named_tables("hosts", value, _HOST_KEYS, example="gpu-box", required=required, fail=fail)


def _keymap(value: object, fail: Callable[[str], ConfigError]) -> dict[str, str]:
    """`[keys]`: command id = keys. TOML reads `reply.stop = "x"` as a nested table; both
    that and the quoted form `"reply.stop" = "x"` are accepted."""
    if not isinstance(value, dict):
        raise fail(f"keys: expected a table ([keys]), got {_describe(value)}")
    keymap: dict[str, str] = {}
    pending = [(f"{name}", item) for name, item in value.items()]
    while pending:
        name, item = pending.pop(0)
        if isinstance(item, dict):
            pending += [(f"{name}.{inner}", inner_item) for inner, inner_item in item.items()]
            continue
        if not is_command(name):
            known = ", ".join(command.id for command in COMMANDS)
            raise fail(f"keys.{name}: unknown command (known: {known})")
        if not isinstance(item, str) or not is_key_list(item):
            raise fail(
                f'keys.{name}: expected key names such as "ctrl+s" or "f10,ctrl+s", '
                f"got {_describe(item)}"
            )
        keymap[name] = item
    return keymap


def _read_document(path: Path, *, required: bool) -> dict[str, Any]:
    """The parsed file; {} when it is missing and not required. Other OSErrors propagate."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        if required:
            raise ConfigError(f"config error in {path}: file not found") from None
        return {}
    except UnicodeDecodeError:
        raise ConfigError(f"config error in {path}: not valid UTF-8 text") from None
    try:
        # Numbers are checked key by key below, with messages naming the key.
        return clean_tree(tomllib.loads(text), finite=False)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"config error in {path}: invalid TOML: {error}") from None
    except (RecursionError, FormatError) as error:
        reason = str(error) if isinstance(error, FormatError) else "nested too deeply"
        raise ConfigError(f"config error in {path}: {reason}") from None


def _host_from(source: str, value: str) -> str:
    """A host given outside the file (OLLAMA_HOST or --host), parsed; ConfigError names `source`."""
    try:
        return _host(value)
    except InvalidValue as invalid:
        raise ConfigError(_problem(source, value, invalid)) from None


def load_settings(
    *,
    config_path: Path | None = None,
    environ: Mapping[str, str] = os.environ,
    host: str | None = None,
    model: str | None = None,
    data_dir: Path | None = None,
    state_path: Path | None = None,
) -> Settings:
    """Merge defaults, the app's state, the config file, OLLAMA_HOST and the command-line
    values, in that order.

    A missing file is fine at the default location but an error when named explicitly.
    """
    path = default_config_path() if config_path is None else config_path
    settings = Settings(config_path=path)
    if state_path is not None:
        settings.state_path = state_path
    for name, value in preferences(settings.state_path).items():
        setattr(settings, name, value)
    named: dict[str, dict[str, Any]] = {}
    try:
        document = _read_document(path, required=config_path is not None)
    except OSError as error:
        reason = error.strerror or str(error)
        raise ConfigError(f"config error in {path}: cannot read: {reason}") from None
    for dotted, value in _validate(document, path).items():
        table, _, name = dotted.rpartition(".")
        if dotted == "keys":
            settings.keys = dict(value)  # type: ignore[call-overload]
        elif dotted == "hosts":
            named = value  # type: ignore[assignment]  # completed once [network] is known
        elif dotted == "pools":
            settings.pools = value  # type: ignore[assignment]  # checked once hosts are known
        elif dotted == "mcp":
            settings.mcp = value  # type: ignore[assignment]
        elif table == "tools":
            setattr(settings.tools, name, value)
        elif dotted == "default_host":
            settings.default_host = str(value)
        elif dotted == "data_dir":
            if value:
                # Relative to the file's folder, so the file means the same from anywhere.
                settings.data_dir = path.parent / Path(str(value)).expanduser()
        elif dotted == "network.ca_bundle":
            if value:
                settings.ca_bundle = _ca_bundle(path, str(value))
        elif table == "defaults" and name in OPTION_CHECKS:
            setattr(settings.defaults.options, name, value)
        else:
            setattr(settings.defaults if table == "defaults" else settings, name, value)

    if environ.get("OLLAMA_API_KEY", "").strip():
        settings.api_key = environ["OLLAMA_API_KEY"].strip()
    settings.hosts = {
        name: _named_host(name, table, settings, path, environ) for name, table in named.items()
    }
    check_pools(settings.pools, settings.hosts, path)
    targets = [*settings.hosts, *settings.pools]
    if settings.default_host and settings.default_host not in targets:
        known = ", ".join(targets) or "none defined"
        raise ConfigError(
            f"config error in {path}: default_host: expected the name of a [hosts.NAME] or "
            f"[pools.NAME] table ({known}), got {_describe(settings.default_host)}"
        )
    try:
        tool_settings.check_default_tools(settings.defaults.tools, settings.mcp)
    except ValueError as error:
        raise ConfigError(f"config error in {path}: {error}") from None
    env_host = environ.get("OLLAMA_HOST", "")
    if env_host.strip(" \t\r\n\"'"):  # set to only spaces and quotes counts as unset
        settings.host = _host_from("OLLAMA_HOST", env_host)
        settings.host_from_environment = True
    if host is not None:
        settings.host = _host_from("--host", host)
        settings.host_from_environment = True
    if model is not None:
        settings.model = model
    if data_dir is not None:
        settings.data_dir = data_dir.expanduser()
    return settings


def _named_host(
    name: str,
    table: dict[str, Any],
    settings: Settings,
    path: Path,
    environ: Mapping[str, str],
) -> HostSettings:
    """A [hosts.NAME] table over the [network] defaults; the key may come from a variable."""
    api_key = str(table.get("api_key", settings.api_key))
    if table.get("api_key_env"):
        api_key = environ.get(str(table["api_key_env"]), "").strip() or api_key
    bundle = table.get("ca_bundle")
    return HostSettings(
        name=name,
        url=str(table["url"]),
        api_key=api_key,
        headers={**settings.headers, **table.get("headers", {})},
        verify_tls=bool(table.get("verify_tls", settings.verify_tls)),
        ca_bundle=_ca_bundle(path, str(bundle)) if bundle else settings.ca_bundle,
    )


def _ca_bundle(config_path: Path, value: str) -> Path:
    bundle = config_path.parent / Path(value).expanduser()
    if not bundle.is_file():
        raise ConfigError(
            f"config error in {config_path}: network.ca_bundle: expected a PEM file of "
            f"certificate authorities, got {_describe(value)} (no such file)"
        )
    return bundle
