"""The README's key tables name every command's default key, as the help screen does."""

from pathlib import Path

from ollama_tui.keymap import COMMANDS, Command

README = Path(__file__).parent.parent / "README.md"


def key_tables() -> dict[str, str]:
    """The rows of each key table, joined, by the line that introduces the table."""
    tables: dict[str, list[str]] = {}
    introduction = ""
    for line in README.read_text().splitlines():
        if line.startswith("| `"):
            tables.setdefault(introduction, []).append(line)
        elif line.strip() and not line.startswith("|"):
            introduction = line
    return {introduction: " ".join(rows) for introduction, rows in tables.items()}


def table_of(command: Command, tables: dict[str, str]) -> str:
    """A command that works in one place ("in the messages: …") is in the table introduced as
    "In the messages …"; the others are in the first table."""
    place = command.description.partition(":")[0]
    for introduction, rows in tables.items():
        if place.startswith("in the ") and introduction.lower().startswith(place):
            return rows
    return next(iter(tables.values()))


def test_every_default_key_is_in_the_readme_table_of_its_place() -> None:
    tables = key_tables()
    assert len(tables) >= 3
    for command in COMMANDS:
        first_key = command.keys.split(",")[0]
        assert f"`{first_key}`" in table_of(command, tables), (
            f"{command.id} ({first_key}) is not in its README table"
        )
