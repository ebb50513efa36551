"""The README's key table names every command's default key, as the help screen does."""

from pathlib import Path

from ollama_tui.keymap import COMMANDS

README = Path(__file__).parent.parent / "README.md"


def test_every_default_key_is_in_the_readme() -> None:
    table = [line for line in README.read_text().splitlines() if line.startswith("| `")]
    documented = " ".join(table)
    for command in COMMANDS:
        first_key = command.keys.split(",")[0]
        assert f"`{first_key}`" in documented, f"{command.id} ({first_key}) is not in the README"
