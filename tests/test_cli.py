"""The command line: --version, --help, config errors as exit status 2, settings to the app,
and the list, export and import commands."""

import gc
import json
import os
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ollama_tui import __version__, cli
from ollama_tui.chat.conversation import Conversation
from ollama_tui.chat.store import ConversationStore
from ollama_tui.config import Settings
from ollama_tui.ui.collector import quiet_collector


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m ollama_tui ARGS` with its config and data folders inside tmp_path."""
    environ = {k: v for k, v in os.environ.items() if k != "OLLAMA_HOST"}
    environ |= {
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "ollama_tui", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        check=False,
    )


def test_version(tmp_path: Path) -> None:
    result = run(tmp_path, "--version")
    assert (result.returncode, result.stdout, result.stderr) == (0, "ollama-tui 0.1.0\n", "")
    assert __version__ == "0.1.0"


def test_help_lists_options_keys_and_settings_sources(tmp_path: Path) -> None:
    result = run(tmp_path, "--help")
    assert result.returncode == 0
    for text in ("--host URL", "--model NAME", "--config FILE", "--data-dir DIR", "--version"):
        assert text in result.stdout
    keys = ("enter", "ctrl+j", "escape", "ctrl+n", "ctrl+l", "ctrl+b", "ctrl+r", "ctrl+f")
    for key in (*keys, "F1", "F2", "F3", "F5", "ctrl+p", "ctrl+q", "--debug", "paths"):
        assert key in result.stdout
    assert "OLLAMA_HOST" in result.stdout
    assert str(tmp_path / "config" / "ollama-tui" / "config.toml") in result.stdout
    assert str(tmp_path / "state" / "ollama-tui" / "log" / "ollama-tui.log") in result.stdout


def test_bad_config_file_exits_2_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[defaults]\ntemperature = "hot"\n', encoding="utf-8")
    result = run(tmp_path, "--config", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"ollama-tui: config error in {path}: defaults.temperature: "
        'expected a number from 0 to 2, got "hot"\n'
    )


def test_bad_default_config_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "config" / "ollama-tui" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text("model = \n", encoding="utf-8")
    result = run(tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"ollama-tui: config error in {path}: invalid TOML: ")
    assert "Traceback" not in result.stderr


def test_missing_config_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "missing.toml"
    result = run(tmp_path, "--config", str(path))
    assert result.returncode == 2
    assert result.stderr == f"ollama-tui: config error in {path}: file not found\n"


def test_bad_ollama_host_exits_2(tmp_path: Path) -> None:
    result = run(tmp_path, OLLAMA_HOST="ftp://example.com")
    assert result.returncode == 2
    assert result.stderr.startswith("ollama-tui: OLLAMA_HOST: expected an Ollama address such as ")
    assert result.stderr.count("\n") == 1


def test_usage_error_exits_2(tmp_path: Path) -> None:
    result = run(tmp_path, "--bogus")
    assert result.returncode == 2
    assert "unrecognized arguments: --bogus" in result.stderr
    assert "Traceback" not in result.stderr


# --- main() in process, with the app replaced ------------------------------------------------


@dataclass
class FakeApp:
    """Stands in for OllamaTUI so main() can be tested without starting the TUI."""

    settings: Settings
    runs: list[bool] = field(default_factory=list)
    return_code: int | None = None
    crash: str | None = None

    def run(self) -> None:
        self.runs.append(True)


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[FakeApp]:
    apps: list[FakeApp] = []

    def make_app(settings: Settings) -> FakeApp:
        apps.append(FakeApp(settings))
        return apps[-1]

    monkeypatch.setattr(cli, "make_app", make_app)
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return apps


def test_main_passes_flags_to_the_app(tmp_path: Path, built: list[FakeApp]) -> None:
    path = tmp_path / "c.toml"
    path.write_text('model = "from-file"\ntheme = "nord"\n', encoding="utf-8")
    argv = ["--host", "10.0.0.3", "--model", "m", "--config", str(path), "--data-dir", "d"]
    assert cli.main(argv) == 0
    [app] = built
    assert app.runs == [True]
    assert app.settings.host == "http://10.0.0.3:11434"
    assert (app.settings.model, app.settings.theme) == ("m", "nord")
    assert app.settings.config_path == path
    assert app.settings.data_dir == Path("d")


def test_main_without_arguments_uses_defaults(tmp_path: Path, built: list[FakeApp]) -> None:
    assert cli.main([]) == 0
    [app] = built
    assert app.settings.host == "http://127.0.0.1:11434"
    assert app.settings.config_path == tmp_path / "config" / "ollama-tui" / "config.toml"


def test_main_reports_config_errors(
    tmp_path: Path, built: list[FakeApp], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "missing.toml"
    assert cli.main(["--config", str(path)]) == 2
    assert capsys.readouterr().err == f"ollama-tui: config error in {path}: file not found\n"
    assert built == []


def test_main_returns_the_app_exit_status(
    built: list[FakeApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "make_app", lambda settings: FakeApp(settings, return_code=1))
    assert cli.main([]) == 1


def test_main_version_and_usage_errors_return_a_status(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out == "ollama-tui 0.1.0\n"
    assert cli.main(["--model"]) == 2
    assert "expected one argument" in capsys.readouterr().err


def test_cli_and_config_do_not_import_textual(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from ollama_tui import cli\n"
        "assert cli.main(['--config', sys.argv[1]]) == 2\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "missing.toml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout == "[]\n"


# --- list, export, import ----------------------------------------------------------------------


def saved(data_dir: Path, title: str, updated_at: str, messages: int = 2) -> Conversation:
    """A conversation saved in `data_dir` with this title, date and number of messages."""
    conversation = Conversation(model="llama3.2:latest")
    for number in range(messages):
        conversation.add_user_message(f"message {number}")
    conversation.title, conversation.updated_at = title, updated_at
    ConversationStore(data_dir).save(conversation)
    return conversation


def test_list_prints_aligned_columns_newest_first(tmp_path: Path) -> None:
    data = tmp_path / "d"
    old = saved(data, "An older conversation with a long title", "2026-01-02T09:15:00+00:00")
    new = saved(data, "Newer \x1b[31mred\x1b[0m", "2026-03-04T10:00:00+00:00", messages=12)

    result = run(tmp_path, "list", "--data-dir", str(data), TZ="UTC", COLUMNS="80")

    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines() == [
        "ID                UPDATED           MSGS  MODEL            TITLE",
        f"{new.id}  2026-03-04 10:00    12  llama3.2:latest  Newer [31mred[0m",
        f"{old.id}  2026-01-02 09:15     2  llama3.2:latest  An older conversatio…",
    ]


def test_list_without_a_terminal_keeps_whole_titles_and_json_is_for_scripts(
    tmp_path: Path,
) -> None:
    data = tmp_path / "d"
    conversation = saved(data, "A title that is longer than the room a narrow terminal has", "x")

    table = run(tmp_path, "--data-dir", str(data), "list")
    listed = run(tmp_path, "--data-dir", str(data), "list", "--json")

    assert table.stdout.splitlines()[1].endswith(conversation.title)
    assert json.loads(listed.stdout) == [
        {
            "id": conversation.id,
            "title": conversation.title,
            "updated_at": "x",
            "model": "llama3.2:latest",
            "message_count": 2,
            "pinned": False,
        }
    ]


def test_list_with_no_conversations(tmp_path: Path) -> None:
    result = run(tmp_path, "list", "--data-dir", str(tmp_path / "empty"))
    assert (result.returncode, result.stdout) == (0, "")
    assert result.stderr == f"ollama-tui: no saved conversations in {tmp_path / 'empty'}\n"


def test_commands_read_the_data_dir_from_the_config_file(tmp_path: Path) -> None:
    conversation = saved(tmp_path / "from-config", "Configured", "2026-01-02T09:15:00+00:00")
    config = tmp_path / "c.toml"
    config.write_text('data_dir = "from-config"\n', encoding="utf-8")

    result = run(tmp_path, "list", "--json", "--config", str(config))

    assert [item["id"] for item in json.loads(result.stdout)] == [conversation.id]
    bad = run(tmp_path, "list", "--config", str(tmp_path / "missing.toml"))
    assert (bad.returncode, bad.stderr.count("\n")) == (2, 1)


def test_export_markdown_to_stdout(tmp_path: Path) -> None:
    data = tmp_path / "d"
    conversation = saved(data, "Exported", "2026-01-02T09:15:00+00:00")

    result = run(tmp_path, "export", conversation.id, "--data-dir", str(data))

    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith("# Exported\n\nModel llama3.2:latest · created ")
    assert "## You — " in result.stdout and "message 1\n" in result.stdout


def test_export_json_to_a_private_file_and_import_it_back(tmp_path: Path) -> None:
    data = tmp_path / "d"
    conversation = saved(data, "Round trip", "2026-01-02T09:15:00+00:00")
    path = tmp_path / "out.json"

    args = ["export", conversation.id, "--format", "json", "-o", str(path), "--data-dir", str(data)]
    exported = run(tmp_path, *args)
    assert (exported.returncode, exported.stdout) == (0, f"wrote {path}\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["id"] == conversation.id

    imported = run(tmp_path, "import", str(path), "--data-dir", str(data))

    assert imported.returncode == 0
    new_id, title = imported.stdout.rstrip("\n").split("  ")
    assert (title, new_id != conversation.id) == ("Round trip", True)
    store = ConversationStore(data)
    assert {s.id for s in store.list()} == {conversation.id, new_id}
    assert store.load(new_id).messages == store.load(conversation.id).messages


def test_import_into_an_empty_data_dir_keeps_the_id(tmp_path: Path) -> None:
    source = Path(__file__).parent / "fixtures" / "conversation-v1.json"
    result = run(tmp_path, "import", str(source), "--data-dir", str(tmp_path / "d"))
    assert (result.returncode, result.stdout) == (0, "0f1e2d3c4b5a6978  How do tides work?\n")


NOT_JSON = "not JSON (Expecting value: line 1 column 1 (char 0))"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "nope"], "no conversation with id 'nope' (see ollama-tui list)"),
        (["export", "../x"], "no conversation with id '../x' (see ollama-tui list)"),
        (["import", "{file}"], f"cannot import {{file}}: {NOT_JSON}"),
        (["import", "{missing}"], "cannot import {missing}: No such file or directory"),
    ],
)
def test_command_errors_exit_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    paths = {"file": str(tmp_path / "bad.json"), "missing": str(tmp_path / "missing.json")}
    (tmp_path / "bad.json").write_text("not json")
    args = [arg.format(**paths) for arg in args]

    result = run(tmp_path, *args, "--data-dir", str(tmp_path / "d"))

    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"ollama-tui: {message.format(**paths)}\n"


def test_help_mentions_the_commands(tmp_path: Path) -> None:
    result = run(tmp_path, "--help")
    for text in ("list", "export ID [--format md|json] [-o FILE]", "import FILE"):
        assert text in result.stdout
    assert "Without a command the chat app starts" in result.stdout


def test_main_runs_a_command_without_building_the_app(
    tmp_path: Path, built: list[FakeApp], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--data-dir", str(tmp_path), "list", "--json"]) == 0
    assert (capsys.readouterr().out, built) == ("[]\n", [])


def test_paths_prints_every_location_and_one_for_scripts(tmp_path: Path) -> None:
    result = run(tmp_path, "paths")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    expected = {
        "config": tmp_path / "config" / "ollama-tui" / "config.toml",
        "state": tmp_path / "state" / "ollama-tui" / "state.toml",
        "data": tmp_path / "data" / "ollama-tui",
        "log": tmp_path / "state" / "ollama-tui" / "log" / "ollama-tui.log",
    }
    for name, path in expected.items():
        assert f"{name:<7}{path} (not created yet)" in lines
        single = run(tmp_path, "paths", name)
        assert single.stdout == f"{path}\n"
    data_dir = tmp_path / "elsewhere"
    assert run(tmp_path, "paths", "data", "--data-dir", str(data_dir)).stdout == f"{data_dir}\n"
    assert not (tmp_path / "state").exists()  # printing paths creates nothing


def test_debug_logs_requests_without_keys_or_message_text(tmp_path: Path) -> None:
    """--debug writes each request to the log file; the API key and the prompt never."""
    from ollama_tui.logs import configure_logging, log_level
    from ollama_tui.ollama.client import OllamaClient
    from tests.fake_ollama import FakeOllama

    log_file = tmp_path / "log" / "ollama-tui.log"

    async def chat(server: FakeOllama) -> None:
        client = OllamaClient(server.url, headers={"Authorization": "Bearer sekret-key"})
        async with client:
            messages = [{"role": "user", "content": "my private words"}]
            async for _ in client.chat("llama3.2:latest", messages):
                pass

    import asyncio

    with FakeOllama() as server:
        configure_logging(log_level(debug=True, environ={}), log_file)
        asyncio.run(chat(server))
        configure_logging(log_level(debug=False, environ={}), log_file)  # back to quiet
    text = log_file.read_text(encoding="utf-8")
    assert "POST 127.0.0.1/api/chat -> 200 in " in text
    assert "sekret-key" not in text and "my private words" not in text
    assert log_level(debug=False, environ={"OLLAMA_TUI_LOG_LEVEL": "info"}) == 20
    assert log_level(debug=False, environ={"OLLAMA_TUI_LOG_LEVEL": "nonsense"}) == 30


def test_the_collector_paused_for_the_start_runs_again_in_commands_and_the_app(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ollama-tui` pauses the cyclic collector while it starts (__main__.py); a command
    sets it going once its arguments are read, the app as it mounts (quiet_collector)."""
    try:
        gc.disable()
        assert cli.main(["--data-dir", str(tmp_path), "list"]) == 0
        assert gc.isenabled()
        gc.disable()
        restore = quiet_collector()
        assert gc.isenabled()
        restore()
        assert gc.isenabled()
    finally:
        gc.enable()
    capsys.readouterr()


def test_the_command_runs_with_the_collector_paused_until_the_app_starts(tmp_path: Path) -> None:
    script = (
        "import gc, sys\n"
        "import ollama_tui.cli as cli\n"
        "from ollama_tui.__main__ import main\n"
        "cli.make_app = lambda settings: sys.exit(10 if gc.isenabled() else 20)\n"
        "sys.argv = ['ollama-tui', '--data-dir', sys.argv[1]]\n"
        "main()\n"
    )
    ran = subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=False, timeout=60)
    assert ran.returncode == 20
