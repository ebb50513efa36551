"""Indexing against the fake Ollama: incremental, resumable, locked, and every failure."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from ollama_tui.docs.errors import DocsError
from ollama_tui.docs.indexer import Indexer, IndexProgress
from ollama_tui.docs.locking import IndexLock
from ollama_tui.docs.store import DocumentStore
from tests.docs.conftest import EMBEDDER
from tests.docs.corpus import CORPUS, make_pdf, write_corpus
from tests.fake_ollama import FakeOllama

PROBE = "dimensions"  # the text embedded first, to learn the model's dimensions


def chunk_texts(server: FakeOllama) -> list[str]:
    return [text for text in server.embed_inputs() if text != PROBE]


async def test_first_index_then_only_changed_new_and_deleted_files(
    store: DocumentStore, indexer: Indexer, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    root = write_corpus(tmp_path / "notes")
    store.add_collection("notes", EMBEDDER, [root])
    first = await indexer.run("notes")
    assert (first.indexed, first.unchanged, first.chunks) == (4, 0, 4)
    info = store.collection("notes")
    assert (info.files, info.chunks, info.dimensions) == (4, 4, 768)
    assert info.indexed_at is not None
    assert sorted(store.files("notes")) == sorted(str(root / name) for name in CORPUS)

    (root / "bread.md").write_text("# Rye\n\nRye bread needs a longer proof.\n")
    (root / "garden" / "roses.txt").unlink()
    (root / "new.md").write_text("A new note about tulips.\n")
    sent_before = len(chunk_texts(fake_ollama))
    second = await indexer.run("notes")
    assert (second.indexed, second.unchanged, second.removed) == (2, 2, 1)
    assert sorted(chunk_texts(fake_ollama)[sent_before:]) == [
        "# Rye\n\nRye bread needs a longer proof.",
        "A new note about tulips.",
    ]
    assert store.collection("notes").files == 4
    assert "notes/garden/roses.txt" not in {r.shown for r in store.files("notes").values()}


async def test_skipped_files_are_counted_and_pdfs_indexed(
    store: DocumentStore, indexer: Indexer, tmp_path: Path
) -> None:
    root = tmp_path / "mixed"
    root.mkdir()
    (root / "manual.pdf").write_bytes(make_pdf(["Widget manual", "Widget care"]))
    (root / "locked.pdf").write_bytes(make_pdf(["secret"], password="pw"))
    (root / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    (root / "blob.bin").write_bytes(b"\0\1\2" * 100)
    with (root / "huge.log").open("wb") as handle:
        handle.truncate(2 * 1024**3)
    store.add_collection("mixed", EMBEDDER, [root])
    report = await indexer.run("mixed")
    assert report.indexed == 1
    assert dict(report.skipped) == {"encrypted": 1, "unreadable": 1, "binary": 1, "too large": 1}
    assert [r.shown for r in store.files("mixed").values()] == ["mixed/manual.pdf"]


async def test_progress_reports_files_chunks_rate_and_time_left(
    store: DocumentStore, indexer: Indexer, tmp_path: Path
) -> None:
    store.add_collection("notes", EMBEDDER, [write_corpus(tmp_path / "notes")])
    seen: list[IndexProgress] = []
    await indexer.run("notes", on_progress=seen.append)
    last = seen[-1]
    assert (last.files_done, last.files_total, last.chunks_done) == (4, 4, 4)
    assert last.rate > 0 and last.seconds_left == 0
    assert [p.files_done for p in seen] == sorted(p.files_done for p in seen)


async def test_cancelling_keeps_finished_files_and_the_next_run_resumes(
    store: DocumentStore, indexer: Indexer, tmp_path: Path
) -> None:
    store.add_collection("notes", EMBEDDER, [write_corpus(tmp_path / "notes")])
    cancel = asyncio.Event()

    def stop_after_two(progress: IndexProgress) -> None:
        if progress.files_done == 2:
            cancel.set()

    report = await indexer.run("notes", on_progress=stop_after_two, cancel=cancel)
    assert report.cancelled and report.indexed == 2
    assert store.collection("notes").indexed_at is None  # not a complete run
    resumed = await indexer.run("notes")
    assert (resumed.indexed, resumed.unchanged) == (2, 2)


async def test_the_server_dying_mid_index_keeps_a_consistent_index_that_resumes(
    store: DocumentStore, indexer: Indexer, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    files = {f"note{n}.md": f"Note number {n} about topic {n}.\n" for n in range(8)}
    store.add_collection("notes", EMBEDDER, [write_corpus(tmp_path / "notes", files)])
    fake_ollama.embed_delay = 0.05

    def die_after_three_batches() -> None:
        fake_ollama.wait_for_requests("/api/embed", 4, timeout=10)
        fake_ollama.stop()

    killer = threading.Thread(target=die_after_three_batches)
    killer.start()
    with pytest.raises(DocsError) as caught:
        await indexer.run("notes")
    killer.join()
    assert "run it again to resume" in caught.value.message
    assert "\n" not in caught.value.message
    kept = store.files("notes")
    assert 0 < len(kept) < 8
    assert store.collection("notes").chunks == len(kept)  # no file half-written

    fake_ollama.start()  # back on the same port
    fake_ollama.embed_delay = 0
    resumed = await indexer.run("notes")
    assert (resumed.indexed, resumed.unchanged) == (8 - len(kept), len(kept))
    assert store.collection("notes").chunks == 8


async def test_a_dropped_connection_mid_file_writes_nothing_of_that_file(
    store: DocumentStore, indexer: Indexer, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    text = "\n\n".join(f"Paragraph {n}. " + "words " * 300 for n in range(4))
    store.add_collection("long", EMBEDDER, [write_corpus(tmp_path / "long", {"a.md": text})])
    for fault in (None, None, "drop"):  # the probe, one batch, then the connection drops
        fake_ollama.queue_embed(fault)
    with pytest.raises(DocsError):
        await indexer.run("long")
    assert store.collection("long").chunks == 0


async def test_vectors_of_the_wrong_dimensions_stop_the_run(
    store: DocumentStore, indexer: Indexer, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    store.add_collection("notes", EMBEDDER, [write_corpus(tmp_path / "notes")])
    fake_ollama.queue_embed(None)
    fake_ollama.queue_embed("dims")
    with pytest.raises(DocsError) as caught:
        await indexer.run("notes")
    assert "384 dimensions instead of 768" in caught.value.message


async def test_an_embedding_model_not_installed(
    store: DocumentStore, indexer: Indexer, tmp_path: Path
) -> None:
    store.add_collection("notes", "mxbai-embed-large", [write_corpus(tmp_path / "notes")])
    with pytest.raises(DocsError) as caught:
        await indexer.run("notes")
    assert caught.value.message == (
        "embedding model 'mxbai-embed-large' is not installed; "
        "pull it with `ollama pull mxbai-embed-large`"
    )


async def test_a_model_that_is_not_an_embedding_model(
    store: DocumentStore, indexer: Indexer, tmp_path: Path
) -> None:
    store.add_collection("notes", "llama3.2", [write_corpus(tmp_path / "notes")])
    with pytest.raises(DocsError) as caught:
        await indexer.run("notes")
    assert "'llama3.2' is not an embedding model" in caught.value.message


async def test_a_server_answering_501_is_not_an_embedding_model_either(
    store: DocumentStore, indexer: Indexer, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    # An older server lists no capabilities, so only the embed call can tell.
    fake_ollama.models = [replace(m, capabilities=()) if m.name == "llama3.2:latest" else m
                          for m in fake_ollama.models]  # fmt: skip
    store.add_collection("notes", "llama3.2", [write_corpus(tmp_path / "notes")])
    with pytest.raises(DocsError) as caught:
        await indexer.run("notes")
    assert "'llama3.2' is not an embedding model" in caught.value.message


async def test_a_changed_model_re_embeds_everything(
    store: DocumentStore, indexer: Indexer, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    store.add_collection("notes", EMBEDDER, [write_corpus(tmp_path / "notes")])
    await indexer.run("notes")
    fake_ollama.models = [
        replace(m, embedding_length=512) if m.name == EMBEDDER else m for m in fake_ollama.models
    ]
    report = await indexer.run("notes")
    assert report.model_changed and report.indexed == 4
    assert store.collection("notes").dimensions == 512
    # Another model named for the collection: its digest differs, so all is embedded again.
    fake_ollama.models = [replace(m, name="other-embed:latest") if m.name == EMBEDDER else m
                          for m in fake_ollama.models]  # fmt: skip
    store.add_collection("notes", "other-embed:latest", [])
    report = await indexer.run("notes")
    assert report.model_changed and report.indexed == 4
    assert store.collection("notes").model == "other-embed:latest"
    # A new digest (the model was pulled again) also re-embeds.
    assert store.set_model("notes", EMBEDDER, "another-digest", 512)
    assert store.collection("notes").files == 0


async def test_a_second_indexer_of_the_same_collection_is_refused(
    store: DocumentStore, indexer: Indexer, tmp_path: Path
) -> None:
    store.add_collection("notes", EMBEDDER, [write_corpus(tmp_path / "notes")])
    with IndexLock(indexer.lock_folder, "notes"), pytest.raises(DocsError) as caught:
        await indexer.run("notes")
    assert caught.value.message == (
        "collection 'notes' is being indexed by another ollama-tui; "
        "wait for it to finish, then try again"
    )
    assert (await indexer.run("notes")).indexed == 4  # the lock went with its holder


async def test_two_indexers_at_once_one_runs_and_one_is_refused(
    store: DocumentStore, indexer: Indexer, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    store.add_collection("notes", EMBEDDER, [write_corpus(tmp_path / "notes")])
    fake_ollama.embed_delay = 0.05
    other_store = DocumentStore(store.path)
    other = Indexer(other_store, indexer.client, indexer.lock_folder)
    try:
        results = await asyncio.gather(
            indexer.run("notes"), other.run("notes"), return_exceptions=True
        )
    finally:
        other_store.close()
    refused = [r for r in results if isinstance(r, DocsError)]
    assert len(refused) == 1 and "being indexed by another" in refused[0].message
    assert store.collection("notes").files == 4


async def test_a_path_that_is_gone_drops_its_files(
    store: DocumentStore, indexer: Indexer, tmp_path: Path
) -> None:
    keep = write_corpus(tmp_path / "keep", {"a.md": "kept"})
    gone = write_corpus(tmp_path / "gone", {"b.md": "soon gone"})
    store.add_collection("notes", EMBEDDER, [keep, gone])
    await indexer.run("notes")
    (gone / "b.md").unlink()
    gone.rmdir()
    report = await indexer.run("notes")
    assert report.missing == [str(gone)] and report.removed == 1
    assert [r.shown for r in store.files("notes").values()] == ["keep/a.md"]


def test_collection_names_are_checked(store: DocumentStore) -> None:
    with pytest.raises(DocsError) as caught:
        store.add_collection("../etc", EMBEDDER, [])
    assert "cannot name a collection" in caught.value.message
    with pytest.raises(DocsError):
        store.collection("absent")
