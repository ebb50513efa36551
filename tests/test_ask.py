"""`ollama-tui ask`: one answer on stdout for scripts, against the fake Ollama."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ollama_tui import cli
from ollama_tui.chat.conversation import MessageState
from ollama_tui.chat.store import ConversationStore
from tests.fake_ollama import FakeOllama
from tests.test_cli import run

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
    "required": ["city", "population"],
}


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("OLLAMA_HOST", raising=False)


def ask(fake: FakeOllama, tmp_path: Path, *args: str, stdin: str | None = None) -> list[str]:
    """Arguments for `ollama-tui ask` against `fake`, with data in tmp_path."""
    return ["--host", fake.url, "--data-dir", str(tmp_path / "data"), "ask", *args]


def test_the_answer_goes_to_stdout(
    fake_ollama: FakeOllama, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_ollama.queue_reply("The sky scatters blue light.")
    status = cli.main(ask(fake_ollama, tmp_path, "--model", "llama3.2", "Why is the sky blue?"))
    out, err = capsys.readouterr()
    assert (status, out, err) == (0, "The sky scatters blue light.\n", "")
    request = fake_ollama.chat_requests()[-1]
    assert request["messages"] == [{"role": "user", "content": "Why is the sky blue?"}]
    assert "format" not in request and "tools" not in request


def test_the_prompt_can_come_from_stdin_with_a_system_prompt(
    fake_ollama: FakeOllama,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("Summarise this file.\n"))
    status = cli.main(
        ask(fake_ollama, tmp_path, "--model", "llama3.2", "--system", "Be brief.", "-")
    )
    assert status == 0
    assert fake_ollama.chat_requests()[-1]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Summarise this file.\n"},
    ]
    assert "Summarise this file." in capsys.readouterr().out


def test_format_json_prints_the_json_alone(
    fake_ollama: FakeOllama, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = cli.main(ask(fake_ollama, tmp_path, "--model", "llama3.2", "--format", "json", "Hi"))
    out, _ = capsys.readouterr()
    assert status == 0
    assert json.loads(out)["said"] == "Hi"
    assert fake_ollama.chat_requests()[-1]["format"] == "json"


def test_a_schema_file_is_sent_and_the_answer_checked(
    fake_ollama: FakeOllama, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schema_file = tmp_path / "city.json"
    schema_file.write_text(json.dumps(SCHEMA))
    args = ask(fake_ollama, tmp_path, "--model", "llama3.2", "--format", str(schema_file), "Paris?")
    assert cli.main(args) == 0
    assert json.loads(capsys.readouterr().out) == {"city": "example", "population": 42}
    assert fake_ollama.chat_requests()[-1]["format"] == SCHEMA

    fake_ollama.queue_reply('{"city": "Paris", "population": "two million"}')
    assert cli.main(args) == 1
    out, err = capsys.readouterr()
    assert json.loads(out)["city"] == "Paris"  # nothing the model said is hidden
    assert err == (
        "ollama-tui: the reply does not match the schema at $.population: "
        "'two million' is not of type 'integer'\n"
    )


def test_an_invalid_schema_is_refused_with_the_reason(
    fake_ollama: FakeOllama, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schema_file = tmp_path / "bad.json"
    schema_file.write_text('{"type": "objekt"}')
    status = cli.main(
        ask(fake_ollama, tmp_path, "--model", "llama3.2", "--format", str(schema_file), "Hi")
    )
    err = capsys.readouterr().err
    assert status == 2
    assert "bad.json: invalid schema at $.type:" in err and err.count("\n") == 1
    assert fake_ollama.chat_requests() == []


def test_a_server_error_exits_1_with_one_line(
    fake_ollama: FakeOllama, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(ask(fake_ollama, tmp_path, "--model", "nope", "Hi")) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("ollama-tui: ") and "nope" in err and err.count("\n") == 1

    fake_ollama.queue_reply("Half an ans", fault="error", fault_after=3)
    assert cli.main(ask(fake_ollama, tmp_path, "--model", "llama3.2", "Hi")) == 1
    out, err = capsys.readouterr()
    assert out.endswith("\n") and "unexpected EOF" in err


def test_save_keeps_the_exchange_as_a_conversation(
    fake_ollama: FakeOllama, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_ollama.queue_reply('{"ok": true}')
    args = ask(fake_ollama, tmp_path, "--model", "llama3.2", "--format", "json", "--save", "Ok?")
    assert cli.main(args) == 0
    err = capsys.readouterr().err
    assert err.startswith("ollama-tui: saved as ")
    conversation = ConversationStore(tmp_path / "data").load(err.split()[-1])
    assert conversation.format == "json"
    assert [m.content for m in conversation.messages] == ["Ok?", '{"ok": true}']
    assert conversation.messages[-1].state is MessageState.COMPLETE


def test_no_model_is_a_usage_error(tmp_path: Path, fake_ollama: FakeOllama) -> None:
    result = run(tmp_path, "--host", fake_ollama.url, "ask", "Hi")
    assert result.returncode == 2
    assert result.stderr == (
        "ollama-tui: no model: give --model NAME or set model in the config file\n"
    )


def test_ask_runs_as_a_command(tmp_path: Path, fake_ollama: FakeOllama) -> None:
    fake_ollama.queue_reply("Four.")
    result = run(tmp_path, "ask", "--host", fake_ollama.url, "--model", "llama3.2", "2+2?")
    assert (result.returncode, result.stdout, result.stderr) == (0, "Four.\n", "")
