"""The collections screen (F4), driven through Pilot on the real app against the fake Ollama."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, ProgressBar, Static

from ollama_tui.docs.store import DocumentStore
from ollama_tui.ui.app import OllamaTUI
from ollama_tui.ui.screens.collections import CollectionsScreen
from ollama_tui.ui.screens.confirm import ConfirmScreen
from tests.docs.corpus import write_corpus
from tests.fake_ollama import FakeOllama
from tests.ui.conftest import MakeApp, wait_until

SIZE = (120, 40)


def status(screen: CollectionsScreen) -> str:
    return str(screen.query_one("#index-status", Static).render())


async def open_collections(pilot: Pilot[None], app: OllamaTUI) -> CollectionsScreen:
    """Press F4 and wait for the collections screen."""
    await pilot.press("f4")
    await wait_until(pilot, lambda: isinstance(app.screen, CollectionsScreen))
    assert isinstance(app.screen, CollectionsScreen)
    return app.screen


def rows(table: DataTable[object]) -> list[str]:
    return [str(row.value) for row in table.rows]


async def test_add_index_see_files_and_remove(
    build_app: MakeApp, fake_ollama: FakeOllama, tmp_path: Path, data_dir: Path
) -> None:
    root = write_corpus(tmp_path / "notes")
    app = build_app(fake_ollama.url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_collections(pilot, app)
        assert "No collections yet" in status(screen)

        await pilot.press("a")
        path_input = screen.query_one("#add-path", Input)
        assert path_input.has_focus
        path_input.value = f"notes {root}"
        await pilot.press("enter")
        table = screen.query_one("#collections", DataTable)
        await wait_until(pilot, lambda: rows(table) == ["notes"])
        assert "press i to index it" in status(screen)

        await pilot.press("i")
        await wait_until(pilot, lambda: "4 file(s) indexed" in status(screen))
        assert not screen.indexing
        bar = screen.query_one("#index-bar", ProgressBar)
        assert bar.percentage == 1
        files = screen.query_one("#collection-files", DataTable)
        assert len(rows(files)) == 4
        cells = [str(cell) for cell in table.get_row_at(0)]
        assert cells[:4] == ["notes", "4", "4", cells[3]] and cells[4] == "nomic-embed-text:latest"

        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("tab", "enter")  # from "No" to "Remove"
        await wait_until(pilot, lambda: rows(table) == [])
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, CollectionsScreen))
    store = DocumentStore(data_dir / "documents.sqlite3")
    assert store.collections() == []
    store.close()


async def test_indexing_is_cancelled_with_escape_and_keeps_finished_files(
    build_app: MakeApp, fake_ollama: FakeOllama, tmp_path: Path, data_dir: Path
) -> None:
    files = {f"note{n}.md": f"Note {n} about subject {n}.\n" for n in range(100)}
    root = write_corpus(tmp_path / "notes", files)
    store = DocumentStore(data_dir / "documents.sqlite3")
    store.add_collection("notes", "nomic-embed-text:latest", [root])
    fake_ollama.embed_delay = 0.3  # a request carries 32 chunks: 4 requests in all
    app = build_app(fake_ollama.url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_collections(pilot, app)
        await pilot.press("i")
        await wait_until(
            pilot, lambda: "/100 files" in status(screen) and "chunks/s" in status(screen)
        )
        await pilot.press("a")  # the interface answers while indexing
        assert screen.query_one("#add-path", Input).has_focus
        await pilot.press("escape")  # leave the input
        await pilot.press("escape")  # stop the indexing
        await wait_until(pilot, lambda: not screen.indexing)
        assert "stopped before the end" in status(screen)
        assert isinstance(app.screen, CollectionsScreen)
    kept = store.collection("notes").files
    store.close()
    assert 0 < kept < 100


async def test_a_path_that_does_not_exist_and_pulling_an_embedding_model(
    build_app: MakeApp, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    fake_ollama.models = [m for m in fake_ollama.models if "embedding" not in m.capabilities]
    app = build_app(fake_ollama.url)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_collections(pilot, app)
        await pilot.press("a")
        screen.query_one("#add-path", Input).value = f"notes {tmp_path / 'nowhere'}"
        await pilot.press("enter")
        assert status(screen) == f"No such file or folder: {tmp_path / 'nowhere'}"
        write_corpus(tmp_path / "n")
        screen.query_one("#add-path", Input).value = f"notes {tmp_path / 'n'}"
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "no embedding model is installed" in status(screen)
        await pilot.press("escape")  # no pull: nothing is added
        await wait_until(pilot, lambda: app.screen is screen)
        assert rows(screen.query_one("#collections", DataTable)) == []

        screen.query_one("#add-path", Input).value = f"notes {tmp_path / 'n'}"
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("tab", "enter")  # from "No" to "Pull"
        await wait_until(pilot, lambda: "press i to index it" in status(screen))
        assert rows(screen.query_one("#collections", DataTable)) == ["notes"]
        assert any(m.name == "nomic-embed-text:latest" for m in fake_ollama.models)
        cells = [str(cell) for cell in screen.query_one("#collections", DataTable).get_row_at(0)]
        assert cells[4] == "nomic-embed-text"
