"""What a conversation sends from its document collections with each message.

The chat opens the documents database only when it first needs it (listing collections for the
parameter panel, or searching for a message), and never creates it: with no collections there
is nothing to search.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ollama_tui.chat.sources import Source
from ollama_tui.docs import missing_extra
from ollama_tui.docs.errors import DocsError

if TYPE_CHECKING:
    from ollama_tui.docs.store import DocumentStore
    from ollama_tui.ollama.client import OllamaClient

CANDIDATE_PASSAGES = 8  # retrieved per message; as many as fit the room are sent


class ConversationDocuments:
    """The documents database as a chat uses it: collection names, and a message's passages."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._store: DocumentStore | None = None

    def names(self) -> list[str]:
        """The collections there are (none when the docs extra or the database is missing)."""
        store = self._open()
        return [info.name for info in store.collections()] if store is not None else []

    async def reference(
        self,
        client: OllamaClient,
        collections: Sequence[str],
        query: str,
        room: int,
        count_tokens: Callable[[str], int],
    ) -> tuple[str, list[Source]]:
        """The reference block for `query` within `room` tokens, and the sources it carries."""
        from ollama_tui.docs.retrieval import fit_passages, reference_block, retrieve

        if problem := missing_extra():
            raise DocsError(problem)
        store = self._open()
        if store is None:
            raise DocsError("there are no document collections yet; press F4 to make one")
        known = {info.name for info in store.collections()}
        absent = [name for name in collections if name not in known]
        if absent:
            raise DocsError(f"no collection named '{absent[0]}'; untick it in the panel")
        found = await retrieve(store, client, collections, query, limit=CANDIDATE_PASSAGES)
        chosen = fit_passages(found, room, count_tokens)
        return reference_block(chosen), chosen

    def forget(self) -> None:
        """Close the database, to be opened afresh (after the collections screen changed it)."""
        if self._store is not None:
            self._store.close()
            self._store = None

    def _open(self) -> DocumentStore | None:
        if self._store is None and missing_extra() is None and self.path.exists():
            from ollama_tui.docs.store import DocumentStore

            self._store = DocumentStore(self.path)
        return self._store
