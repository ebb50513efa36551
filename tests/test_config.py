"""Settings: precedence of the sources, strict validation, and writing preferences back."""

import re
import sys
import tomllib
from dataclasses import fields
from pathlib import Path

import pytest

from ollama_tui import config
from ollama_tui.chat.options import Options
from ollama_tui.config import (
    OPTION_CHECKS,
    ConfigError,
    ConversationDefaults,
    InvalidValue,
    PoolSettings,
    Settings,
    active_host,
    all_hosts,
    default_data_dir,
    load_settings,
)
from ollama_tui.keymap import COMMANDS
from ollama_tui.state import save_preferences

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"


@pytest.fixture(autouse=True)
def default_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the default config path into tmp so no test reads the real user config."""
    path = tmp_path / "default" / "config.toml"
    monkeypatch.setattr(config, "default_config_path", lambda: path)
    return path


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- defaults and the file ------------------------------------------------------------------


def test_defaults_when_default_file_is_missing(default_location: Path) -> None:
    settings = load_settings(environ={})
    assert settings == Settings(config_path=default_location)
    assert settings.host == "http://127.0.0.1:11434"
    assert settings.model == ""
    assert settings.theme == "textual-dark"
    assert settings.show_sidebar is settings.show_parameters is True
    assert (settings.connect_timeout, settings.stall_timeout) == (5.0, 60.0)
    assert settings.data_dir == default_data_dir()
    assert settings.defaults == ConversationDefaults()


def test_default_file_is_read(default_location: Path) -> None:
    default_location.parent.mkdir()
    default_location.write_text('model = "llama3.2"\n', encoding="utf-8")
    assert load_settings(environ={}).model == "llama3.2"


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as caught:
        load_settings(config_path=path, environ={})
    assert str(caught.value) == f"config error in {path}: file not found"


def test_every_key_is_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        host = "example.com:1234"
        model = "qwen3:8b"
        theme = "nord"
        data_dir = "/srv/chats"
        [ui]
        show_sidebar = false
        show_parameters = false
        [network]
        connect_timeout = 2.5
        stall_timeout = 30
        [defaults]
        system_prompt = '''Be brief.
        Answer in English.'''
        temperature = 0.7
        top_p = 0.5
        top_k = 20
        num_ctx = 8192
        seed = -1
        num_predict = -2
        repeat_penalty = 1.1
        """,
    )
    settings = load_settings(config_path=path, environ={})
    assert settings == Settings(
        host="http://example.com:1234",
        model="qwen3:8b",
        theme="nord",
        show_sidebar=False,
        show_parameters=False,
        connect_timeout=2.5,
        stall_timeout=30.0,
        data_dir=Path("/srv/chats"),
        config_path=path,
        defaults=ConversationDefaults(
            system_prompt="Be brief.\n        Answer in English.",
            options=Options(
                temperature=0.7,
                top_p=0.5,
                top_k=20,
                num_ctx=8192,
                seed=-1,
                num_predict=-2,
                repeat_penalty=1.1,
            ),
        ),
    )


def test_an_int_is_accepted_for_a_float_key(tmp_path: Path) -> None:
    path = write(tmp_path, "[defaults]\ntemperature = 1\n[network]\nstall_timeout = 10\n")
    settings = load_settings(config_path=path, environ={})
    assert settings.defaults.options.temperature == 1.0
    assert type(settings.defaults.options.temperature) is float
    assert type(settings.stall_timeout) is float


def test_data_dir_is_relative_to_the_config_folder(tmp_path: Path) -> None:
    path = write(tmp_path, 'data_dir = "chats"\n')
    assert load_settings(config_path=path, environ={}).data_dir == tmp_path / "chats"


def test_data_dir_expands_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("USERPROFILE", str(tmp_path / "home"))
    path = write(tmp_path, 'data_dir = "~/chats"\n')
    assert load_settings(config_path=path, environ={}).data_dir == tmp_path / "home" / "chats"


def test_empty_data_dir_means_the_platform_default(tmp_path: Path) -> None:
    path = write(tmp_path, 'data_dir = ""\n')
    assert load_settings(config_path=path, environ={}).data_dir == default_data_dir()


# --- precedence: defaults < file < OLLAMA_HOST < flags ---------------------------------------


@pytest.mark.parametrize(
    ("file_host", "env_host", "flag_host", "expected"),
    [
        (None, None, None, "http://127.0.0.1:11434"),
        ("10.0.0.1", None, None, "http://10.0.0.1:11434"),
        (None, "10.0.0.2", None, "http://10.0.0.2:11434"),
        ("10.0.0.1", "10.0.0.2", None, "http://10.0.0.2:11434"),
        (None, None, "10.0.0.3", "http://10.0.0.3:11434"),
        ("10.0.0.1", None, "10.0.0.3", "http://10.0.0.3:11434"),
        (None, "10.0.0.2", "10.0.0.3", "http://10.0.0.3:11434"),
        ("10.0.0.1", "10.0.0.2", "10.0.0.3", "http://10.0.0.3:11434"),
        # A set but empty OLLAMA_HOST (or only quotes and spaces) does not hide the file.
        ("10.0.0.1", "", None, "http://10.0.0.1:11434"),
        ("10.0.0.1", '  "" ', None, "http://10.0.0.1:11434"),
        # The environment and the flag are parsed the OLLAMA_HOST way too.
        (None, "https://example.com/ollama/", None, "https://example.com:443/ollama"),
        (None, None, ":8080", "http://127.0.0.1:8080"),
    ],
)
def test_host_precedence(
    tmp_path: Path,
    file_host: str | None,
    env_host: str | None,
    flag_host: str | None,
    expected: str,
) -> None:
    path = write(tmp_path, "" if file_host is None else f'host = "{file_host}"\n')
    environ = {} if env_host is None else {"OLLAMA_HOST": env_host}
    settings = load_settings(config_path=path, environ=environ, host=flag_host)
    assert settings.host == expected


@pytest.mark.parametrize(
    ("file_model", "flag_model", "expected"),
    [
        (None, None, ""),
        ("from-file", None, "from-file"),
        (None, "from-flag", "from-flag"),
        ("from-file", "from-flag", "from-flag"),
        ("from-file", "", ""),
    ],
)
def test_model_precedence(
    tmp_path: Path, file_model: str | None, flag_model: str | None, expected: str
) -> None:
    path = write(tmp_path, "" if file_model is None else f'model = "{file_model}"\n')
    assert load_settings(config_path=path, environ={}, model=flag_model).model == expected


@pytest.mark.parametrize(
    ("file_dir", "flag_dir", "expected"),
    [
        (None, None, None),
        ("from-file", None, "cfg/from-file"),
        (None, "from-flag", "from-flag"),
        ("from-file", "from-flag", "from-flag"),
    ],
)
def test_data_dir_precedence(
    tmp_path: Path, file_dir: str | None, flag_dir: str | None, expected: str | None
) -> None:
    (tmp_path / "cfg").mkdir()
    path = write(tmp_path, "" if file_dir is None else f'data_dir = "{file_dir}"\n', "cfg/c.toml")
    flag = None if flag_dir is None else tmp_path / flag_dir
    settings = load_settings(config_path=path, environ={}, data_dir=flag)
    assert settings.data_dir == (default_data_dir() if expected is None else tmp_path / expected)


def test_flag_data_dir_expands_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    settings = load_settings(environ={}, data_dir=Path("~/chats"))
    assert settings.data_dir == tmp_path / "chats"


def test_environment_only_sets_the_host(tmp_path: Path) -> None:
    path = write(tmp_path, 'model = "m"\ntheme = "nord"\n')
    settings = load_settings(config_path=path, environ={"OLLAMA_HOST": "10.0.0.2"})
    assert (settings.host, settings.model, settings.theme) == ("http://10.0.0.2:11434", "m", "nord")


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "10.9.8.7:1234")
    assert load_settings().host == "http://10.9.8.7:1234"


# --- validation: one line naming the file and the key ----------------------------------------

_ADDRESS = "an Ollama address such as http://127.0.0.1:11434"
_TOP_KEYS = (
    "host, default_host, model, theme, data_dir, [ui], [network], [memory], [attachments], "
    "[defaults], [tools], [keys], [hosts.NAME], [pools.NAME], [mcp.NAME]"
)


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        (
            '[defaults]\ntemperature = "hot"',
            'defaults.temperature: expected a number from 0 to 2, got "hot"',
        ),
        (
            "[defaults]\ntemperature = 2.5",
            "defaults.temperature: expected a number from 0 to 2, got 2.5",
        ),
        (
            "[defaults]\ntemperature = -0.1",
            "defaults.temperature: expected a number from 0 to 2, got -0.1",
        ),
        (
            "[defaults]\ntemperature = nan",
            "defaults.temperature: expected a number from 0 to 2, got nan",
        ),
        (
            "[defaults]\ntemperature = true",
            "defaults.temperature: expected a number from 0 to 2, got true",
        ),
        ("[defaults]\ntop_p = 1.5", "defaults.top_p: expected a number from 0 to 1, got 1.5"),
        ("[defaults]\ntop_k = 0", "defaults.top_k: expected a whole number of at least 1, got 0"),
        (
            "[defaults]\ntop_k = 4.0",
            "defaults.top_k: expected a whole number of at least 1, got 4.0",
        ),
        (
            "[defaults]\nnum_ctx = 128",
            "defaults.num_ctx: expected a whole number of at least 256, got 128",
        ),
        (
            "[defaults]\nnum_predict = -3",
            "defaults.num_predict: expected a whole number of at least -2, got -3",
        ),
        ("[defaults]\nseed = 1.5", "defaults.seed: expected a whole number, got 1.5"),
        ("[defaults]\nseed = false", "defaults.seed: expected a whole number, got false"),
        (
            "[defaults]\nrepeat_penalty = 3",
            "defaults.repeat_penalty: expected a number from 0 to 2, got 3",
        ),
        (
            "[defaults]\nsystem_prompt = 1979-05-27",
            "defaults.system_prompt: expected a string, got a date/time",
        ),
        (
            "[network]\nconnect_timeout = 0",
            "network.connect_timeout: expected a number greater than 0, got 0",
        ),
        (
            "[network]\nstall_timeout = -1.5",
            "network.stall_timeout: expected a number greater than 0, got -1.5",
        ),
        (
            "[network]\nstall_timeout = inf",
            "network.stall_timeout: expected a number greater than 0, got inf",
        ),
        (
            '[network]\nconnect_timeout = "5s"',
            'network.connect_timeout: expected a number greater than 0, got "5s"',
        ),
        ('[ui]\nshow_sidebar = "yes"', 'ui.show_sidebar: expected true or false, got "yes"'),
        ("[ui]\nshow_parameters = 1", "ui.show_parameters: expected true or false, got 1"),
        ('theme = ""', 'theme: expected a non-empty string, got ""'),
        ('theme = "  "', 'theme: expected a non-empty string, got "  "'),
        ("theme = 3", "theme: expected a non-empty string, got 3"),
        ("model = 3", "model: expected a string, got 3"),
        ("model = ['a', 'b']", "model: expected a string, got an array"),
        ("data_dir = false", "data_dir: expected a string, got false"),
        ("host = 11434", "host: expected a string, got 11434"),
        ("[host]\nname = 'x'", "host: expected a string, got a table"),
        (
            'host = "ftp://example.com"',
            f'host: expected {_ADDRESS}, got "ftp://example.com" '
            '(unsupported scheme "ftp"; use http or https)',
        ),
        (
            'host = "my server"',
            f'host: expected {_ADDRESS}, got "my server" (invalid host name "my server")',
        ),
        ('colour = "red"', f"colour: unknown key (known: {_TOP_KEYS})"),
        ("[plugins]\nx = 1", f"plugins: unknown key (known: {_TOP_KEYS})"),
        (
            "[ui]\ncolour = 1",
            "ui.colour: unknown key (known: show_sidebar, show_parameters, reopen_last)",
        ),
        (
            "[network]\ntimeout = 1",
            "network.timeout: unknown key (known: connect_timeout, stall_timeout, verify_tls, "
            "ca_bundle, api_key, headers)",
        ),
        (
            "[defaults]\nmirostat = 1",
            "defaults.mirostat: unknown key (known: system_prompt, memory, temperature, top_p, "
            "top_k, min_p, num_ctx, num_predict, repeat_penalty, seed, stop, tools)",
        ),
        ("[defaults]\nmin_p = 1.5", "defaults.min_p: expected a number from 0 to 1, got 1.5"),
        (
            '[defaults]\nstop = ["ok", ""]',
            "defaults.stop: expected an array of 1 to 16 non-empty strings (each at most 200 "
            "characters), got an array",
        ),
        ("ui = true", "ui: expected a table ([ui]), got true"),
        ("[[ui]]\nshow_sidebar = true", "ui: expected a table ([ui]), got an array"),
        # Values are shown escaped, on one line, and shortened.
        ('theme = "\\n"', r'theme: expected a non-empty string, got "\n"'),
        (
            f'[defaults]\ntemperature = "{"x" * 100}"',
            f'defaults.temperature: expected a number from 0 to 2, got "{"x" * 39}…"',
        ),
        # The first problem in file order is the one reported.
        ("model = 1\ntheme = 2", "model: expected a string, got 1"),
        # Syntax errors carry tomllib's location.
        ("host = ", "invalid TOML: Invalid value (at line 1, column 8)"),
        (
            "model = ''\n[ui\n",
            "invalid TOML: Expected ']' at the end of a table declaration (at line 2, column 4)",
        ),
    ],
)
def test_invalid_file_is_one_line_naming_file_and_key(
    tmp_path: Path, text: str, detail: str
) -> None:
    path = write(tmp_path, text + "\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config_path=path, environ={})
    assert str(caught.value) == f"config error in {path}: {detail}"
    assert "\n" not in str(caught.value)


def test_error_for_a_multiline_host_is_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'host = """a\nb"""\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config_path=path, environ={})
    assert str(caught.value) == (
        f'config error in {path}: host: expected {_ADDRESS}, got "a\\nb" (invalid host name "a b")'
    )


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'model = "\xff"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config_path=path, environ={})
    assert str(caught.value) == f"config error in {path}: not valid UTF-8 text"


def test_file_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(config_path=tmp_path, environ={})  # a folder, not a file
    assert re.fullmatch(
        rf"config error in {re.escape(str(tmp_path))}: cannot read: .+", str(caught.value)
    )


def test_invalid_ollama_host_names_the_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"OLLAMA_HOST": "ftp://example.com"})
    assert str(caught.value) == (
        f'OLLAMA_HOST: expected {_ADDRESS}, got "ftp://example.com" '
        '(unsupported scheme "ftp"; use http or https)'
    )


def test_invalid_host_flag_names_the_flag() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={}, host="user@example.com")
    assert str(caught.value) == (
        f'--host: expected {_ADDRESS}, got "user@example.com" '
        '(invalid host name "user@example.com")'
    )


def test_option_checks_cover_every_option() -> None:
    assert set(OPTION_CHECKS) == {f.name for f in fields(Options)}
    assert OPTION_CHECKS["temperature"](1) == 1.0
    assert OPTION_CHECKS["num_ctx"](2048) == 2048
    with pytest.raises(InvalidValue, match=r"^expected a number from 0 to 2$"):
        OPTION_CHECKS["temperature"](3)


# --- the example file ------------------------------------------------------------------------


def test_example_file_loads_and_shows_the_defaults() -> None:
    settings = load_settings(config_path=EXAMPLE, environ={})
    assert settings == Settings(config_path=EXAMPLE)


def document_keys(text: str, table: str) -> list[str]:
    return list(tomllib.loads(text)[table])


def test_example_file_documents_every_key_with_a_valid_value(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    # Uncomment the optional settings ("# key = value" lines) and load the result.
    uncommented = re.sub(r"^# (\w+ = \S.*)$", r"\1", text, flags=re.MULTILINE)
    settings = load_settings(config_path=write(tmp_path, uncommented), environ={})
    defaults = {**vars(settings.defaults), **vars(settings.defaults.options)}
    for name, value in defaults.items():
        assert value is not None, f"defaults.{name} is not shown in config.example.toml"
    assert set(document_keys(uncommented, "memory")) == {"reply_reserve", "summary_model"}
    document = tomllib.loads(uncommented)
    assert set(document) == {
        "host",
        "default_host",
        "model",
        "theme",
        "data_dir",
        "ui",
        "network",
        "memory",
        "attachments",
        "defaults",
        "tools",
        "keys",
    }
    assert set(document["tools"]) == {"max_rounds", "result_limit", "timeout"}
    assert set(document["ui"]) == {"show_sidebar", "show_parameters", "reopen_last"}
    assert set(document["attachments"]) == {"max_image_side", "max_text_kb"}
    assert set(document["network"]) == {
        "connect_timeout",
        "stall_timeout",
        "verify_tls",
        "ca_bundle",
        "api_key",
        "headers",
    }


# --- save_preferences: the app's own state file ------------------------------------------------


def test_preferences_go_to_the_state_file_and_layer_under_the_config(tmp_path: Path) -> None:
    config_text = '# mine\ntheme = "nord"\n[ui]\nshow_parameters = false\n'
    config_file = write(tmp_path, config_text)
    state = tmp_path / "state" / "state.toml"
    save_preferences(state, model="llama3.2", show_sidebar=False, theme="gruvbox")

    assert config_file.read_text(encoding="utf-8") == config_text  # never written
    assert tomllib.loads(state.read_text(encoding="utf-8")) == {
        "model": "llama3.2",
        "show_sidebar": False,
        "theme": "gruvbox",
    }
    settings = load_settings(config_path=config_file, environ={}, state_path=state)
    assert settings.model == "llama3.2"  # from the state: the config does not set it
    assert settings.show_sidebar is False
    assert settings.theme == "nord"  # the config wins over a choice made in the app
    assert settings.show_parameters is False


def test_save_preferences_keeps_earlier_choices(tmp_path: Path) -> None:
    state = tmp_path / "state.toml"
    save_preferences(state, model="m", last_conversation="abc")
    save_preferences(state, theme="nord")
    assert tomllib.loads(state.read_text(encoding="utf-8")) == {
        "model": "m",
        "last_conversation": "abc",
        "theme": "nord",
    }
    assert list(tmp_path.iterdir()) == [state]  # no temporary file left behind


def test_save_preferences_leaves_an_unchanged_file_alone(tmp_path: Path) -> None:
    state = tmp_path / "state.toml"
    save_preferences(state, model="m", show_sidebar=True)
    before = state.stat().st_ino, state.read_bytes()
    save_preferences(state, model="m", show_sidebar=True)
    assert (state.stat().st_ino, state.read_bytes()) == before  # not even replaced


@pytest.mark.parametrize(
    "content",
    [b"not = [toml", b"\xff\xfe", b'theme = ""\nshow_sidebar = 1\nmodel = 3\n', b"x" * 70_000],
)
def test_a_damaged_state_file_is_ignored(tmp_path: Path, content: bytes) -> None:
    state = tmp_path / "state.toml"
    state.write_bytes(content)
    settings = load_settings(environ={}, state_path=state)
    assert (settings.model, settings.theme, settings.show_sidebar) == ("", "textual-dark", True)
    save_preferences(state, model="m")  # and it is replaced by a good one
    assert tomllib.loads(state.read_text(encoding="utf-8")) == {"model": "m"}


def test_save_preferences_rejects_other_keys_and_bad_values(tmp_path: Path) -> None:
    path = tmp_path / "state.toml"
    with pytest.raises(TypeError, match="not a saved preference: host"):
        save_preferences(path, host="10.0.0.1")
    with pytest.raises(ValueError, match=r'^theme: expected a non-empty string, got ""$'):
        save_preferences(path, theme="")
    with pytest.raises(ValueError, match=r"^show_sidebar: expected true or false, got 1$"):
        save_preferences(path, show_sidebar=1)  # type: ignore[arg-type]
    assert not path.exists()


def test_save_preferences_raises_oserror_when_it_cannot_write(tmp_path: Path) -> None:
    blocker = write(tmp_path, "", "not-a-folder")
    with pytest.raises(OSError):
        save_preferences(blocker / "state.toml", model="m")


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_save_preferences_writes_through_a_symlink(tmp_path: Path) -> None:
    real = write(tmp_path, 'model = "a"\n', "real.toml")
    link = tmp_path / "link.toml"
    link.symlink_to(real)
    save_preferences(link, model="b")
    assert link.is_symlink()
    assert tomllib.loads(real.read_text(encoding="utf-8")) == {"model": "b"}


def test_remote_host_settings(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    config = tmp_path / "config.toml"
    config.write_text(
        '[network]\nverify_tls = false\nca_bundle = "ca.pem"\napi_key = "from-file"\n'
        '[network.headers]\n"X-Team" = "ml"\n'
    )

    from_file = load_settings(config_path=config, environ={})
    assert (from_file.verify_tls, from_file.ca_bundle) == (False, tmp_path / "ca.pem")
    assert from_file.api_key == "from-file"
    assert from_file.headers == {"X-Team": "ml"}
    assert "from-file" not in repr(from_file)

    from_env = load_settings(config_path=config, environ={"OLLAMA_API_KEY": " env-key "})
    assert from_env.api_key == "env-key"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[network]\nca_bundle = "missing.pem"', "network.ca_bundle: expected a PEM file"),
        ('[network.headers]\n"Bad Name" = "x"', "network.headers: expected a table of header"),
        ('[network.headers]\n"X-A" = "a\\nb"', "network.headers: expected a table of header"),
    ],
)
def test_remote_host_settings_are_checked(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(config_path=config, environ={})


def test_memory_settings(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[memory]\nreply_reserve = 512\nsummary_model = "qwen3:0.6b"\n'
        '[defaults]\nmemory = "window"\n'
    )
    settings = load_settings(config_path=config, environ={})
    assert (settings.reply_reserve, settings.summary_model) == (512, "qwen3:0.6b")
    assert settings.defaults.memory == "window"

    config.write_text('[defaults]\nmemory = "everything"\n')
    with pytest.raises(
        ConfigError, match=re.escape('defaults.memory: expected "full" or "window" or')
    ):
        load_settings(config_path=config, environ={})


def test_keys_rebind_commands(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[keys]\nreply.stop = "ctrl+x"\n"model.pick" = "f4,ctrl+l"\n')
    settings = load_settings(config_path=config, environ={})
    assert settings.keys == {"reply.stop": "ctrl+x", "model.pick": "f4,ctrl+l"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[keys]\nfly = "f9"', "keys.fly: unknown command (known: prompt.send, "),
        ("[keys]\nreply.stop = 3", 'keys.reply.stop: expected key names such as "ctrl+s"'),
        ('[keys]\nreply.stop = "ctrl x"', "keys.reply.stop: expected key names"),
        ('[keys]\nreply.stop = "Ctrl+x"', "keys.reply.stop: expected key names"),
        ("keys = 1", "keys: expected a table"),
    ],
)
def test_bad_keys_are_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(config_path=config, environ={})


def test_example_file_lists_every_command_with_its_default_key(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    uncommented = re.sub(r"^# ([\w.]+ = \S.*)$", r"\1", text, flags=re.MULTILINE)
    settings = load_settings(config_path=write(tmp_path, uncommented), environ={})
    assert settings.keys == {command.id: command.keys for command in COMMANDS}


def test_named_hosts(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        'default_host = "gpu"\n'
        '[network]\nverify_tls = true\n[network.headers]\n"X-Team" = "ml"\n'
        '[hosts.gpu]\nurl = "https://gpu-box"\napi_key_env = "GPU_KEY"\n'
        '[hosts.laptop]\nurl = "127.0.0.1:11500"\n'
    )
    settings = load_settings(config_path=config, environ={"GPU_KEY": "k1"})
    gpu = active_host(settings)
    assert (gpu.name, gpu.url, gpu.api_key) == ("gpu", "https://gpu-box:443", "k1")
    assert gpu.headers == {"X-Team": "ml"}
    assert [h.name for h in all_hosts(settings)] == ["gpu", "laptop"]
    assert settings.hosts["laptop"].url == "http://127.0.0.1:11500"

    from_env = load_settings(config_path=config, environ={"OLLAMA_HOST": "10.0.0.5"})
    assert active_host(from_env).url == "http://10.0.0.5:11434"
    assert [h.name for h in all_hosts(from_env)] == ["10.0.0.5:11434", "gpu", "laptop"]


def test_pools(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        'default_host = "office"\n'
        '[hosts.gpu]\nurl = "10.0.0.2"\n[hosts.laptop]\nurl = "127.0.0.1:11500"\n'
        '[pools.office]\nhosts = ["laptop", "gpu"]\nstrategy = "warm-first"\n'
        '[pools.both]\nhosts = ["gpu", "laptop"]\n'
    )
    settings = load_settings(config_path=config, environ={})
    assert settings.pools["office"] == PoolSettings("office", ["laptop", "gpu"], "warm-first")
    assert settings.pools["both"].strategy == "priority"
    assert active_host(settings).name == "laptop"  # a pool starts from its first host


_POOL_BASE = '[hosts.a]\nurl = "10.0.0.2"\n[hosts.b]\nurl = "10.0.0.3"\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'default_host = "nope"',
            "default_host: expected the name of a [hosts.NAME] or [pools.NAME] table",
        ),
        ("[hosts.a]\nverify_tls = false", 'hosts.a: missing url, e.g. url = "http://'),
        ('[hosts.a]\nurl = "x"\nport = 1', "hosts.a.port: unknown key (known: url, api_key"),
        ('[hosts.a]\nurl = "ftp://x"', "hosts.a.url: expected an Ollama address"),
        ("pools = 1", "pools: expected tables such as [pools.office], got 1"),
        *(
            (_POOL_BASE + text, message)
            for text, message in [
                ("[pools.p]\nstrategy = 'priority'", 'pools.p: missing hosts, e.g. hosts = ["gpu'),
                ("[pools.p]\nhosts = []", "pools.p.hosts: expected a non-empty array of [hosts."),
                ("[pools.p]\nhosts = ['a', 'a']", "got an array (a host is named twice)"),
                ("[pools.p]\nhosts = ['a', 'c']", "pools.p.hosts: expected names of [hosts.NAME]"),
                (
                    "[pools.p]\nhosts = ['a']\nstrategy = 'random'",
                    'pools.p.strategy: expected "priority" or "warm-first" or "least-busy", '
                    'got "random"',
                ),
                ("[pools.p]\nhosts = ['a']\nweights = 1", "pools.p.weights: unknown key (known:"),
                ("[pools.a]\nhosts = ['b']", "pools.a: a [hosts.a] table has the same name"),
            ]
        ),
    ],
)
def test_bad_hosts_and_pools_are_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message)) as raised:
        load_settings(config_path=config, environ={})
    assert "\n" not in str(raised.value)


def test_attachment_limits(tmp_path: Path) -> None:
    settings = load_settings(
        config_path=write(tmp_path, "[attachments]\nmax_image_side = 800\nmax_text_kb = 50\n"),
        environ={},
    )
    assert (settings.attach_limits.max_image_side, settings.attach_limits.max_text_bytes) == (
        800,
        50_000,
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(
            config_path=write(tmp_path, "[attachments]\nmax_image_side = 10\n"), environ={}
        )
    assert "attachments.max_image_side: expected a whole number of pixels, 64 or more" in str(
        caught.value
    )
