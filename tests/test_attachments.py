"""Attachments in conversations: storage by hash, requests, memory planning, export, trash."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from ollama_tui.chat.attachment_store import every_attachment
from ollama_tui.chat.attachments import (
    DEFAULT_IMAGE_TOKENS,
    Attachment,
    AttachmentKind,
    AttachmentMissing,
    fenced_block,
    image_tokens,
    with_images,
)
from ollama_tui.chat.context import Calibration, plan_request
from ollama_tui.chat.conversation import Conversation, Role
from ollama_tui.chat.export import import_file, markdown_file_name, to_markdown, write_export
from ollama_tui.chat.intake import prepare
from ollama_tui.chat.store import ConversationStore
from tests.images import picture

FIXTURES = Path(__file__).parent / "fixtures"


def attach(store: ConversationStore, folder: Path, name: str, data: bytes | str) -> Attachment:
    path = folder / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return store.attachments.add(prepare(path))


def saved(store: ConversationStore, text: str, attachments: list[Attachment]) -> Conversation:
    """A conversation of one message with these files, saved in `store`."""
    conversation = Conversation()
    conversation.add_user_message(text, attachments)
    store.save(conversation)
    return conversation


@pytest.fixture
def store(tmp_path: Path) -> ConversationStore:
    return ConversationStore(tmp_path / "data")


def test_files_are_stored_once_by_content(store: ConversationStore, tmp_path: Path) -> None:
    first = attach(store, tmp_path, "a.png", picture(20, 10))
    again = attach(store, tmp_path, "copy.png", picture(20, 10))
    assert first.sha256 == again.sha256 and first.name != again.name
    stored = sorted(p.name for p in (store.data_dir / "attachments").iterdir())
    assert stored == [f"{first.sha256}.png"]
    assert store.attachments.read(first) == picture(20, 10)
    assert base64.b64decode(store.attachments.base64_of(first)) == picture(20, 10)


def test_a_conversation_refers_to_its_files_and_reads_them_back(
    store: ConversationStore, tmp_path: Path
) -> None:
    image = attach(store, tmp_path, "cat.png", picture(30, 20))
    code = attach(store, tmp_path, "main.py", "print('hi')\n")
    conversation = Conversation(model="llava:7b")
    message = conversation.add_user_message("", [image, code])
    assert conversation.title == "cat.png"
    store.save(conversation)
    saved = json.loads(store.path_of(conversation.id).read_text())
    assert saved["schema_version"] == 4
    assert [a["name"] for a in saved["messages"][0]["attachments"]] == ["cat.png", "main.py"]
    assert "print" not in store.path_of(conversation.id).read_text()  # the text lives apart

    loaded = store.load(conversation.id)
    assert loaded.messages[0].attachments == message.attachments
    assert loaded.messages[0].attachments[1].text is None
    assert store.attachments.load_texts(loaded) == []
    assert loaded.request_messages() == [
        {"role": "user", "content": "main.py:\n```python\nprint('hi')\n```"}
    ]


def test_missing_files_are_reported_and_named_when_sending(
    store: ConversationStore, tmp_path: Path
) -> None:
    image = attach(store, tmp_path, "gone.png", picture(8, 8))
    note = attach(store, tmp_path, "note.txt", "remember")
    conversation = saved(store, "look", [image, note])
    for path in (store.data_dir / "attachments").iterdir():
        path.unlink()
    loaded = store.load(conversation.id)
    missing = store.attachments.load_texts(loaded)
    assert [a.name for a in missing] == ["gone.png", "note.txt"]
    assert loaded.request_messages()[0]["content"] == (
        "look\n\n[attached file note.txt: missing from the data folder]"
    )
    with pytest.raises(AttachmentMissing, match=r"the attached image “gone.png” is missing"):
        with_images(
            [{"role": "user", "content": "look"}], {0: [image]}, store.attachments.base64_of
        )


def test_a_fence_is_never_closed_by_the_file() -> None:
    attachment = Attachment(
        kind=AttachmentKind.TEXT,
        name="README.md",
        sha256="0" * 64,
        ext="md",
        size=20,
        language="markdown",
        text="```\ncode\n```",
    )
    assert fenced_block(attachment) == "README.md:\n````markdown\n```\ncode\n```\n````"


def test_edited_messages_keep_their_attachments(store: ConversationStore, tmp_path: Path) -> None:
    image = attach(store, tmp_path, "a.png", picture(8, 8))
    conversation = Conversation()
    original = conversation.add_user_message("what is it?", [image])
    edited = conversation.edit_message(original, "what colour is it?")
    assert edited.attachments == [image]
    assert list(every_attachment(conversation)) == [image, image]


def test_images_are_planned_on_their_message_and_counted(
    store: ConversationStore, tmp_path: Path
) -> None:
    image = attach(store, tmp_path, "a.png", picture(56, 28))
    conversation = Conversation(model="llava:7b", system_prompt="Be brief.")
    conversation.add_user_message("what is this?", [image])
    reply = conversation.start_reply()
    reply.content, reply.state = "A gradient.", reply.state.COMPLETE
    conversation.add_user_message("and now?")
    calibration = Calibration()

    def plan(**extra: object):  # type: ignore[no-untyped-def]
        return plan_request(
            conversation,
            num_ctx=8192,
            reserve=1024,
            estimator_for_model=calibration.estimator,
            **extra,  # type: ignore[arg-type]
        )

    with_vision = plan()
    assert with_vision.images == {1: [image]}  # the system prompt is message 0
    assert with_vision.image_tokens == 576
    without = plan(send_images=False)
    assert without.images == {} and without.image_tokens == 0
    assert with_vision.estimated_tokens - without.estimated_tokens == 576
    sent = with_images(with_vision.messages, with_vision.images, store.attachments.base64_of)
    assert sent[1]["images"] == [store.attachments.base64_of(image)]
    assert "images" not in sent[3]
    draft = plan(draft="and this?", draft_attachments=[image])
    assert draft.images == {1: [image], 4: [image]}


def test_image_token_estimates_per_model() -> None:
    image = Attachment(AttachmentKind.IMAGE, "a.png", "0" * 64, "png", 1, width=1568, height=1045)
    assert image_tokens("llava:13b", image) == 576
    assert image_tokens("gemma3:4b", image) == 256
    assert image_tokens("qwen2.5vl:7b", image) == 56 * 38
    assert image_tokens("somebody/new-vision:latest", image) == DEFAULT_IMAGE_TOKENS


def test_calibration_counts_the_images_that_were_sent() -> None:
    calibration = Calibration()
    messages = [{"role": "user", "content": "what is this?"}]
    assert calibration.observe("llava", messages, 600, image_tokens=576)
    assert 0.95 < calibration.factor("llava") < 1.05
    assert not Calibration().observe("llava", messages, 600)  # 600 for a dozen text tokens


def test_json_export_embeds_files_and_import_is_whole(
    store: ConversationStore, tmp_path: Path
) -> None:
    image = attach(store, tmp_path, "cat.png", picture(16, 16))
    code = attach(store, tmp_path, "a.py", "x = 1\n")
    conversation = saved(store, "see", [image, code])
    exported = tmp_path / "out.json"
    write_export(conversation, exported, "json", store.attachments)
    document = json.loads(exported.read_text())
    assert set(document["attachment_files"]) == {image.file_name, code.file_name}

    elsewhere = ConversationStore(tmp_path / "other")
    imported = import_file(exported, elsewhere)
    assert elsewhere.attachments.read(image) == picture(16, 16)
    assert elsewhere.attachments.load_texts(elsewhere.load(imported.id)) == []


def test_import_ignores_files_whose_bytes_do_not_match_their_name(
    store: ConversationStore, tmp_path: Path
) -> None:
    image = attach(store, tmp_path, "cat.png", picture(16, 16))
    conversation = Conversation()
    conversation.add_user_message("see", [image])
    document = conversation.to_dict()
    document["attachment_files"] = {
        image.file_name: base64.b64encode(b"other bytes").decode(),
        "../../escape.png": base64.b64encode(b"x").decode(),
    }
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(document))
    elsewhere = ConversationStore(tmp_path / "other")
    import_file(path, elsewhere)
    assert not (elsewhere.data_dir / "attachments").exists()
    assert not (tmp_path / "escape.png").exists()


def test_markdown_export_links_files_beside_it(store: ConversationStore, tmp_path: Path) -> None:
    image = attach(store, tmp_path, "my cat (1).png", picture(16, 16))
    conversation = Conversation()
    conversation.add_user_message("see", [image])
    target = tmp_path / "export" / "chat.md"
    target.parent.mkdir()
    write_export(conversation, target, "md", store.attachments)
    name = markdown_file_name(image)
    assert name == f"{image.sha256[:12]}-my-cat-1-.png"
    assert f"![{image.describe()}](<chat.files/{name}>)" in target.read_text()
    assert (target.parent / "chat.files" / name).read_bytes() == picture(16, 16)
    assert "Attached: my cat (1).png" in to_markdown(conversation)


def test_trash_keeps_files_until_emptied(store: ConversationStore, tmp_path: Path) -> None:
    kept = attach(store, tmp_path, "kept.png", picture(8, 8))
    trashed = attach(store, tmp_path, "trashed.png", picture(9, 9))
    orphan = attach(store, tmp_path, "orphan.txt", "never sent")
    alive, deleted = Conversation(), Conversation()
    alive.add_user_message("a", [kept])
    deleted.add_user_message("b", [trashed])
    store.save(alive)
    store.save(deleted)
    store.delete(deleted.id)

    assert store.attachments.remove_unreferenced(store.saved_documents()) == 1
    assert not store.attachments.exists(orphan)
    assert store.attachments.exists(trashed) and store.attachments.exists(kept)

    assert store.empty_trash() == (1, 1)
    assert not store.attachments.exists(trashed) and store.attachments.exists(kept)
    assert store.trashed() == []


def test_nothing_is_written_outside_the_data_dir(store: ConversationStore, tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    before = sorted(p.name for p in source.iterdir())
    attach(store, source, "cat.png", picture(2000, 100))
    assert sorted(p.name for p in source.iterdir()) == [*before, "cat.png"]
    assert [p.parent.name for p in (store.data_dir).rglob("*.png")] == ["attachments"]


def test_damaged_attachment_entries_are_left_out() -> None:
    document = json.loads((FIXTURES / "conversation-v3.json").read_text())
    document["schema_version"] = 4
    document["messages"][1]["attachments"] = [
        {"kind": "image", "name": "x", "sha256": "../../etc/passwd", "ext": "png", "size": 1},
        {"kind": "image", "name": "x", "sha256": "a" * 64, "ext": "exe", "size": 1},
        {"kind": "sound", "name": "x", "sha256": "a" * 64, "ext": "wav", "size": 1},
        {"kind": "text", "name": "ok.txt", "sha256": "b" * 64, "ext": "txt", "size": 2},
    ]
    conversation = Conversation.from_dict(document)
    assert [a.name for a in conversation.messages[1].attachments] == ["ok.txt"]
    assert conversation.messages[1].role is Role.ASSISTANT


def test_images_stay_on_their_message_when_passages_are_inserted(
    store: ConversationStore, tmp_path: Path
) -> None:
    image = attach(store, tmp_path, "a.png", picture(8, 8))
    conversation = Conversation(model="llava:7b")
    conversation.add_user_message("what is this?", [image])
    plan = plan_request(
        conversation,
        num_ctx=8192,
        reserve=1024,
        estimator_for_model=Calibration().estimator,
        reference="Passages: cats are small.",
    )
    assert [m["role"] for m in plan.messages] == ["system", "user"]
    assert plan.images == {1: [image]}
