"""The config's [mcp.NAME], [tools] and [defaults] tools."""

from __future__ import annotations

from pathlib import Path

import pytest

from ollama_tui.config import ConfigError, load_settings
from ollama_tui.session.library import new_conversation
from ollama_tui.tools.settings import McpServerSettings, ToolSettings

CONFIG = """
model = "llama3.2"

[defaults]
tools = ["files"]

[tools]
max_rounds = 3
result_limit = 4096
timeout = 12.5

[mcp.files]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-filesystem", "~/notes"]
env = { LOG_LEVEL = "error" }
cwd = "servers"

[mcp.search]
url = "https://mcp.example.com/mcp"
headers = { Authorization = "Bearer abc" }
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_servers_tools_and_defaults_are_read(tmp_path: Path) -> None:
    settings = load_settings(config_path=write(tmp_path, CONFIG), environ={})
    assert settings.mcp == {
        "files": McpServerSettings(
            "files",
            command="npx",
            args=("-y", "@modelcontextprotocol/server-filesystem", "~/notes"),
            env={"LOG_LEVEL": "error"},
            cwd=tmp_path / "servers",
        ),
        "search": McpServerSettings(
            "search",
            url="https://mcp.example.com/mcp",
            headers={"Authorization": "Bearer abc"},
        ),
    }
    assert settings.tools == ToolSettings(max_rounds=3, result_limit=4096, timeout=12.5)
    assert new_conversation(settings).tools == ["files"]


def test_defaults_without_a_config() -> None:
    settings = load_settings(config_path=None, environ={})
    assert settings.tools == ToolSettings(max_rounds=8, result_limit=32768, timeout=60.0)
    assert settings.mcp == {} and new_conversation(settings).tools == []


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("[mcp.files]\nargs = []", "mcp.files: give either command = "),
        ('[mcp.files]\ncommand = "x"\nurl = "http://a"', "mcp.files: give either command = "),
        ('[mcp.files]\ncommand = "x"\nheaders = {}', "mcp.files.headers: not used with command"),
        ('[mcp.files]\nurl = "ftp://a"', "mcp.files.url: expected an http:// or https:// address"),
        (
            '[mcp.files]\ncommand = "x"\nargs = "a b"',
            "mcp.files.args: expected an array of strings",
        ),
        (
            '[mcp.files]\ncommand = "x"\nenv = { A = 1 }',
            "mcp.files.env: expected a table of strings",
        ),
        ('[mcp.files]\ncommand = "x"\nport = 1', "mcp.files.port: unknown key (known: command,"),
        ('[mcp."a b"]\ncommand = "x"', "mcp.a b: a server name is 1 to 40 letters"),
        ("[tools]\nmax_rounds = 0", "tools.max_rounds: expected a whole number of at least 1"),
        ("[tools]\nresult_limit = 10", "tools.result_limit: expected a whole number of bytes"),
        ('[tools]\ntimeout = "1m"', "tools.timeout: expected a number of seconds of at least 0.1"),
        ('[defaults]\ntools = "files"', "defaults.tools: expected an array of [mcp.NAME] server"),
        (
            '[defaults]\ntools = ["nope"]',
            'defaults.tools: "nope" is not the name of an [mcp.NAME] table (none defined)',
        ),
    ],
)
def test_mistakes_are_one_line_naming_the_key(tmp_path: Path, text: str, detail: str) -> None:
    path = write(tmp_path, text + "\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config_path=path, environ={})
    assert str(caught.value).startswith(f"config error in {path}: {detail}")
    assert "\n" not in str(caught.value)
