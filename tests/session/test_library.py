"""The library and the hosts without a screen: saving with the merge notice, the trash, import
and export, new-conversation defaults, and probing servers."""

from __future__ import annotations

from pathlib import Path

from ollama_tui.chat.conversation import MemoryStrategy
from ollama_tui.config import HostSettings
from ollama_tui.session import Notice, Session
from ollama_tui.session.library import Library
from tests.fake_ollama import FakeOllama
from tests.session.conftest import settings_for


def test_a_save_merges_what_another_app_wrote_and_says_so(tmp_path: Path) -> None:
    ours_notices: list[Notice] = []
    settings = settings_for("http://127.0.0.1:1", tmp_path)
    ours, theirs = Library(settings, ours_notices.append), Library(settings, [].append)
    conversation = ours.new_conversation()
    conversation.add_user_message("first")
    assert ours.save(conversation) == 0

    elsewhere = theirs.load(conversation.id)
    assert elsewhere is not None
    elsewhere.add_user_message("written elsewhere")
    assert theirs.save(elsewhere) == 0
    conversation.add_user_message("written here")

    assert ours.save(conversation) == 1
    assert [m.content for m in conversation.messages] == [
        "first",
        "written elsewhere",
        "written here",
    ]
    assert ours_notices == [
        Notice("1 message(s) written or deleted by another ollama-tui were merged into 'first'.")
    ]


def test_trash_restore_export_and_import(tmp_path: Path) -> None:
    notices: list[Notice] = []
    library = Library(settings_for("http://127.0.0.1:1", tmp_path), notices.append)
    conversation = library.new_conversation()
    conversation.add_user_message("keep me")
    library.save(conversation)

    assert library.delete(conversation.id)
    assert [s.id for s in library.trashed()] == [conversation.id]
    assert library.summaries() == []
    restored = library.restore(conversation.id)
    assert restored is not None and restored.messages[0].content == "keep me"
    assert [s.id for s in library.summaries()] == [conversation.id]

    target = tmp_path / "export.json"
    assert library.export(restored, target, "json")
    imported = library.import_file(target)
    assert imported is not None and imported.id != conversation.id
    assert imported.messages[0].content == "keep me"

    assert library.import_file(tmp_path / "missing.json") is None
    assert library.restore("nosuch") is None
    assert [notice.title for notice in notices] == ["Not imported", "Not restored"]
    assert all(notice.severity == "error" and "\n" not in notice.text for notice in notices)
    library.close()


def test_a_new_conversation_starts_from_the_configured_defaults(tmp_path: Path) -> None:
    settings = settings_for("http://127.0.0.1:1", tmp_path, model="mistral:7b")
    settings.defaults.system_prompt = "Be brief."
    settings.defaults.memory = "window"
    conversation = Library(settings, [].append).new_conversation()
    assert (conversation.model, conversation.system_prompt) == ("mistral:7b", "Be brief.")
    assert conversation.memory is MemoryStrategy.WINDOW and not conversation.messages


async def test_probing_tells_a_running_server_from_a_silent_one(
    fake_ollama: FakeOllama, unused_url: str, tmp_path: Path
) -> None:
    session = Session.open(settings_for(fake_ollama.url, tmp_path), [].append)
    try:
        assert await session.hosts.probe(session.hosts.current) == "0.32.15"
        silent = HostSettings(name="silent", url=unused_url)
        assert await session.hosts.probe(silent) is None
        assert await session.models.refresh() and session.models.listed
        details = await session.models.details_of("llama3.2:latest")
        assert details is not None
        assert session.models.context_limit("llama3.2:latest") == details.context_length
    finally:
        await session.close()
