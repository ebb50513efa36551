"""The layers depend one way: the client, the domain, the session, the tools and the config
never import the UI; the domain never imports the client or the session; the client never the
domain; the MCP SDK and jsonschema are imported only when used."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "ollama_tui"

NO_UI = ("textual",)


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("ollama_tui.ollama", NO_UI),
        ("ollama_tui.ollama.client", NO_UI),
        ("ollama_tui.chat.conversation", (*NO_UI, "httpx")),
        ("ollama_tui.chat.store", (*NO_UI, "httpx")),
        ("ollama_tui.chat.context", (*NO_UI, "httpx")),
        ("ollama_tui.chat.search", (*NO_UI, "httpx")),
        ("ollama_tui.chat.export", (*NO_UI, "httpx")),
        ("ollama_tui.chat.intake", (*NO_UI, "httpx", "PIL")),
        ("ollama_tui.chat.attachment_store", (*NO_UI, "httpx", "PIL")),
        ("ollama_tui.session", NO_UI),
        ("ollama_tui.session.reply", NO_UI),
        ("ollama_tui.config", NO_UI),
        ("ollama_tui.cli", NO_UI),
        ("ollama_tui.docs.indexer", NO_UI),
        ("ollama_tui.docs.retrieval", NO_UI),
        ("ollama_tui.docs.reference", NO_UI),
        ("ollama_tui.docs.commands", (*NO_UI, "httpx", "numpy")),
        ("ollama_tui.cli", (*NO_UI, "httpx", "mcp", "jsonschema")),
        ("ollama_tui.chat.tools", (*NO_UI, "httpx")),
        ("ollama_tui.chat.structured", (*NO_UI, "httpx", "jsonschema")),
        ("ollama_tui.tools.loop", (*NO_UI, "mcp")),
        ("ollama_tui.tools.servers", (*NO_UI, "mcp")),
    ],
)
def test_module_does_not_import(module: str, forbidden: tuple[str, ...]) -> None:
    code = f"import sys, {module}; print(','.join(m for m in {forbidden!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return found


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("chat", ("textual", "ollama_tui.ui", "ollama_tui.ollama", "ollama_tui.session")),
        ("ollama", ("textual", "ollama_tui.ui", "ollama_tui.chat", "ollama_tui.session")),
        ("session", ("textual", "ollama_tui.ui")),
        ("config.py", ("textual", "ollama_tui.ui", "ollama_tui.session")),
    ],
)
def test_layer_imports_only_what_lies_below(layer: str, forbidden: tuple[str, ...]) -> None:
    target = PACKAGE / layer
    files = sorted(target.rglob("*.py")) if target.is_dir() else [target]
    assert files
    wrong = {
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in files
        for name in imported_modules(path)
        if any(name == prefix or name.startswith(f"{prefix}.") for prefix in forbidden)
    }
    assert not wrong
