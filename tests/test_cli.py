"""The command line: --version, --help, config errors as exit status 2, settings to the app."""

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ollama_tui import __version__, cli
from ollama_tui.config import Settings


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m ollama_tui ARGS` with its config and data folders inside tmp_path."""
    environ = {k: v for k, v in os.environ.items() if k != "OLLAMA_HOST"}
    environ |= {
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
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
    for key in ("enter", "ctrl+j", "escape", "ctrl+n", "ctrl+l", "ctrl+b", "ctrl+r", "F1"):
        assert key in result.stdout
    assert "ctrl+p" in result.stdout and "ctrl+q" in result.stdout
    assert "OLLAMA_HOST" in result.stdout
    assert str(tmp_path / "config" / "ollama-tui" / "config.toml") in result.stdout


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
