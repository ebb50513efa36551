"""The collections screen: document collections, their files, adding paths, indexing, removing.

Indexing runs in a worker on the app's event loop (file reading and chunking in a thread), so
the interface stays live; its progress bar shows files, chunks, rate and time left, and escape
cancels it, keeping the files already done.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, ProgressBar, Static

from ollama_tui.docs.commands import describe_report, progress_line
from ollama_tui.docs.errors import DocsError
from ollama_tui.docs.indexer import (
    DEFAULT_EMBEDDING_MODEL,
    Indexer,
    IndexProgress,
    NoEmbeddingModel,
    installed_embedding_model,
)
from ollama_tui.docs.store import CollectionInfo, DocumentStore
from ollama_tui.keymap import default_keys
from ollama_tui.ollama.errors import OllamaError
from ollama_tui.sanitize import one_line
from ollama_tui.ui.formatting import human_bytes
from ollama_tui.ui.screens.confirm import ConfirmScreen
from ollama_tui.ui.widgets.model_tables import fill_table, highlighted_key

if TYPE_CHECKING:
    from ollama_tui.ollama.client import OllamaClient

COLLECTION_COLUMNS = [
    ("name", "Name"),
    ("files", "Files"),
    ("chunks", "Chunks"),
    ("size", "Size"),
    ("model", "Model"),
    ("indexed", "Indexed"),
]
FILE_COLUMNS = [("file", "File"), ("chunks", "Chunks"), ("size", "Size"), ("indexed", "Indexed")]


def _when(seconds: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds)) if seconds else "never"


class CollectionsScreen(Screen[None]):
    """Collections with their figures, the highlighted one's files, and indexing."""

    AUTO_FOCUS = "#collections"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding(default_keys("collections.close"), "close", "Close", id="collections.close"),
        Binding(default_keys("collections.add"), "add", "Add a path", id="collections.add"),
        Binding(default_keys("collections.index"), "index", "Index", id="collections.index"),
        Binding(default_keys("collections.remove"), "remove", "Remove", id="collections.remove"),
    ]

    def __init__(self, store_path: Path, lock_folder: Path, client: OllamaClient) -> None:
        super().__init__()
        self.store_path = store_path
        self.lock_folder = lock_folder
        self.client = client
        self.store: DocumentStore | None = None
        self._cancel: asyncio.Event | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="collections-main"):
            with Vertical(id="collections-left"):
                yield DataTable(id="collections", cursor_type="row")
                with Vertical(id="index-panel"):
                    yield Input(placeholder="NAME PATH, or a PATH for the highlighted one",
                                id="add-path", compact=True)  # fmt: skip
                    yield ProgressBar(id="index-bar", show_eta=False)
                    yield Static(id="index-status", markup=False)
            yield DataTable(id="collection-files", cursor_type="row")
        yield Footer()

    @property
    def collections(self) -> DataTable[Text]:
        return self.query_one("#collections", DataTable)

    @property
    def indexing(self) -> bool:
        """True while an indexing run is in progress."""
        return self._cancel is not None

    def on_mount(self) -> None:
        self.collections.border_title = "Collections"
        self.query_one("#collection-files").border_title = "Files"
        panel = self.query_one("#index-panel")
        panel.border_title = "Indexing"
        panel.border_subtitle = "a add · i index · escape cancel"
        try:
            self.store = DocumentStore(self.store_path)
        except DocsError as error:
            self._say(error.message)
            return
        self._fill()

    def on_unmount(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
        if self.store is not None:
            self.store.close()

    # Tables

    def _fill(self, keep: str | None = None) -> None:
        if self.store is None:
            return
        keep = keep or self._highlighted()
        infos = self.store.collections()
        rows = [(info.name, self._cells(info)) for info in infos]
        fill_table(self.collections, COLLECTION_COLUMNS, rows)
        names = [info.name for info in infos]
        if keep in names:
            self.collections.move_cursor(row=names.index(keep))
        self._fill_files()
        if not infos:
            self._say("No collections yet: press a, then type a name and a path")

    @staticmethod
    def _cells(info: CollectionInfo) -> list[Text]:
        return [
            Text(info.name),
            Text(f"{info.files:,}", justify="right"),
            Text(f"{info.chunks:,}", justify="right"),
            Text(human_bytes(info.size), justify="right"),
            Text(one_line(info.model, 40)),
            Text(_when(info.indexed_at)),
        ]

    def _fill_files(self) -> None:
        table = self.query_one("#collection-files", DataTable)
        name = self._highlighted()
        if self.store is None or name is None:
            table.clear(columns=True)
            return
        files = self.store.files(name).values()
        rows = [
            (
                record.path,
                [
                    Text(one_line(record.shown, 80)),
                    Text(f"{record.chunks:,}", justify="right"),
                    Text(human_bytes(record.size), justify="right"),
                    Text(_when(record.indexed_at)),
                ],
            )
            for record in files
        ]
        fill_table(table, FILE_COLUMNS, rows)
        info = self.store.collection(name)
        table.border_title = one_line(f"Files of {name}: " + ", ".join(info.roots), 120)

    def _highlighted(self) -> str | None:
        return highlighted_key(self.collections)

    @on(DataTable.RowHighlighted, "#collections")
    def _on_collection_highlighted(self) -> None:
        self._fill_files()

    def _say(self, text: str) -> None:
        self.query_one("#index-status", Static).update(Content(text))

    # Actions

    def action_close(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self._say("Stopping after the file in progress…")
            return
        add = self.query_one("#add-path", Input)
        if add.has_focus:
            add.value = ""
            self.collections.focus()
            return
        self.dismiss()

    def action_add(self) -> None:
        self.query_one("#add-path", Input).focus()

    @on(Input.Submitted, "#add-path")
    def _on_add_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        highlighted = self._highlighted()
        if highlighted is not None and Path(text).expanduser().exists():
            name, path = highlighted, text
        else:
            name, _, path = text.partition(" ")
            path = path.strip()
        if not path:
            self._say("Type a collection name, a space and a path (or highlight one first)")
            return
        root = Path(path).expanduser().absolute()
        if not root.exists():
            self._say(f"No such file or folder: {one_line(str(root), 200)}")
            return
        event.input.value = ""
        self._add(name, root)

    @work(group="collections-add", exit_on_error=False)
    async def _add(self, name: str, root: Path) -> None:
        if self.store is None:
            return
        try:
            known = {info.name for info in self.store.collections()}
            model = "" if name in known else await installed_embedding_model(self.client)
            self.store.add_collection(name, model, [root])
        except NoEmbeddingModel as error:
            self._say(error.message)
            self._offer_pull(name, root)
            return
        except DocsError as error:
            self._say(error.message)
            return
        self._added(name, root)

    def _added(self, name: str, root: Path) -> None:
        self._fill(keep=name)
        self.collections.focus()
        self._say(f"Added {one_line(str(root), 200)} to {name}: press i to index it")

    def _offer_pull(self, name: str, root: Path) -> None:
        """Offer to download the default embedding model, then make the collection with it."""
        question = (
            f"No installed model makes embeddings. Pull {DEFAULT_EMBEDDING_MODEL} (about "
            f"270 MB) and use it for {name}?"
        )

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._pull_then_add(name, root)

        self.app.push_screen(ConfirmScreen("Embedding model", question, yes="Pull"), confirmed)

    @work(group="collections-pull", exit_on_error=False)
    async def _pull_then_add(self, name: str, root: Path) -> None:
        bar = self.query_one("#index-bar", ProgressBar)
        try:
            async for line in self.client.pull(DEFAULT_EMBEDDING_MODEL):
                if line.total:
                    bar.update(total=line.total, progress=line.completed or 0)
                self._say(f"Pulling {DEFAULT_EMBEDDING_MODEL}: {one_line(line.status, 80)}")
        except OllamaError as error:
            self._say(error.message)
            return
        if self.store is not None:
            self.store.add_collection(name, DEFAULT_EMBEDDING_MODEL, [root])
            self._added(name, root)

    def action_index(self) -> None:
        name = self._highlighted()
        if name is None or self.store is None:
            self._say("No collection to index: press a to add one")
            return
        if self.indexing:
            self._say("Already indexing; escape stops it")
            return
        self._cancel = asyncio.Event()
        self._index(name, self._cancel)

    @work(group="collections-index", exit_on_error=False)
    async def _index(self, name: str, cancel: asyncio.Event) -> None:
        assert self.store is not None
        bar = self.query_one("#index-bar", ProgressBar)
        bar.update(total=None, progress=0)
        self.query_one("#index-panel").add_class("-running")
        self._say(f"Indexing {name}…")
        indexer = Indexer(self.store, self.client, self.lock_folder)
        try:
            report = await indexer.run(name, on_progress=self._show_progress, cancel=cancel)
        except DocsError as error:
            self._say(error.message)
        else:
            self._say(describe_report(name, report))
            bar.update(total=max(report.indexed + report.unchanged, 1), progress=bar.total or 1)
        finally:
            self._cancel = None
            self.query_one("#index-panel").remove_class("-running")
            self._fill(keep=name)

    def _show_progress(self, progress: IndexProgress) -> None:
        self.query_one("#index-bar", ProgressBar).update(
            total=max(progress.files_total, 1), progress=progress.files_done
        )
        self._say(progress_line(progress))

    def action_remove(self) -> None:
        name = self._highlighted()
        if name is None or self.store is None:
            return
        if self.indexing:
            self._say("Wait for the indexing to finish, or stop it with escape")
            return
        info = self.store.collection(name)
        question = (
            f"Remove the collection {name} ({info.files:,} files, {info.chunks:,} chunks)? "
            "Your files stay where they are."
        )

        def confirmed(yes: bool | None) -> None:
            if yes and self.store is not None:
                self.store.remove_collection(name)
                self._fill()
                self._say(f"Removed {name}")

        self.app.push_screen(
            ConfirmScreen("Remove collection", question, yes="Remove", danger=True), confirmed
        )
