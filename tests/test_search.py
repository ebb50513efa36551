"""The full-text search index: queries, snippets, incremental updates, sync with the store."""

import sqlite3
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ollama_tui.chat import search
from ollama_tui.chat.conversation import Conversation, MessageState, Role
from ollama_tui.chat.search import (
    SNIPPET_WIDTH,
    Query,
    SearchError,
    SearchHit,
    SearchIndex,
    make_snippet,
    plain_text,
)
from ollama_tui.chat.store import ConversationStore


def conversation(*texts: str, title: str | None = None) -> Conversation:
    """A conversation of alternating user and assistant messages with these texts."""
    result = Conversation(model="llama3.2:latest")
    for number, text in enumerate(texts):
        if number % 2 == 0:
            result.add_user_message(text)
        else:
            reply = result.start_reply()
            reply.content, reply.state = text, MessageState.COMPLETE
    if title is not None:
        result.title = title
    return result


def marked(hit: SearchHit) -> list[str]:
    return [hit.snippet[start:end] for start, end in hit.highlights]


@pytest.fixture
def index(tmp_path: Path) -> SearchIndex:
    return SearchIndex(tmp_path)


def test_a_message_is_found_with_where_it_is(index: SearchIndex) -> None:
    chat = conversation("How do tides work?", "The Moon's gravity pulls the oceans.")
    index.update(chat)

    [hit] = index.search("gravity")

    assert hit == SearchHit(
        conversation_id=chat.id,
        message_id=chat.messages[1].id,
        role=Role.ASSISTANT,
        title="How do tides work?",
        snippet="The Moon's gravity pulls the oceans.",
        highlights=[(11, 18)],
        updated_at=chat.updated_at,
    )
    assert index.search("gravity oceans")[0].message_id == chat.messages[1].id
    assert index.search("gravity tides") == []  # every word in the same message


def test_the_index_file_is_private(tmp_path: Path, index: SearchIndex) -> None:
    index.update(conversation("hello"))
    assert stat.S_IMODE((tmp_path / "search.sqlite3").stat().st_mode) == 0o600


def test_the_last_word_is_a_prefix_while_it_is_typed(index: SearchIndex) -> None:
    index.update(conversation("A question", "Cathedrals of Europe"))

    assert [marked(hit) for hit in index.search("cathed")] == [["Cathedrals"]]
    assert index.search("cathedral ") == []  # a space ends the word
    assert index.search("cathed europe") == []  # only the last word is a prefix
    assert len(index.search("cathedrals eur")) == 1


def test_diacritics_and_case_are_ignored(index: SearchIndex) -> None:
    index.update(conversation("Weather in Köln today?", "Sunny in KOLN and Zürich."))

    hits = index.search("koln")
    assert [marked(hit) for hit in hits] == [["Köln"], ["KOLN"]]
    assert len(index.search("ZURICH")) == 1
    assert len(index.search("köln")) == 2


@pytest.mark.parametrize(
    ("query", "found"),
    [
        # Nothing to look for: no letter or digit.
        ('"', []),
        ("*", []),
        ("**", []),
        ("(", []),
        (")", []),
        ("", []),
        ("   ", []),
        ("\x00", []),
        ("\ud800", []),
        # FTS5 syntax searched for as words: found where the words are, and only there.
        ("AND", [("title", ["AND", "and"])]),
        ("OR", [("title", ["OR"])]),
        ("NEAR(", [("title", ["NEAR"])]),
        ("-x", [("reply", ["x"])]),
        ("^start", [("reply", ["start"])]),
        ("{text}: a", [("title", ["a", "text", "AND", "and"])]),
        # Words that are not together in one message.
        ('"unbalanced', []),
        ("NOT", []),
        ("NEAR(a b, 2)", []),
        ("a -b", []),
        ("text:col", []),
        ("a + b", []),
        ("'; DROP TABLE texts; --", []),
    ],
)
def test_hostile_queries_are_words(
    index: SearchIndex, query: str, found: list[tuple[str, list[str]]]
) -> None:
    chat = conversation("a text with AND, OR and NEAR in it", "start col b x")
    index.update(chat)

    hits = index.search(query)

    places = {None: "title", chat.messages[1].id: "reply"}
    assert [(places[hit.message_id], marked(hit)) for hit in hits] == found
    assert {hit.conversation_id for hit in hits} <= {chat.id}
    assert len(index.search("start")) == 1  # the index is still whole


def test_operators_are_searched_for_as_words(index: SearchIndex) -> None:
    index.update(conversation("cats AND dogs", "nothing here"))

    assert [marked(hit) for hit in index.search("AND")] == [["AND"]]
    assert index.search("NOT ") == []
    assert [marked(hit) for hit in index.search('"dogs"')] == [["dogs"]]


def test_title_hits_come_first(index: SearchIndex) -> None:
    mentioned = conversation("Tell me about tides", "Tides are caused by the moon.", title="Moon")
    titled = conversation("What causes them?", "The moon, mostly.", title="Tides")
    index.update(mentioned)
    index.update(titled)

    hits = index.search("tides")

    assert [(hit.conversation_id, hit.message_id) for hit in hits] == [
        (titled.id, None),
        (mentioned.id, mentioned.messages[0].id),
        (mentioned.id, mentioned.messages[1].id),
    ]
    assert hits[0].snippet == "Tides" and hits[0].highlights == [(0, 5)]


def test_a_title_made_from_the_first_message_is_one_hit(index: SearchIndex) -> None:
    chat = conversation("Reverse the words of a sentence", "Split, reverse, join.")
    index.update(chat)

    hits = index.search("sentence")

    assert [(hit.message_id, hit.snippet) for hit in hits] == [
        (None, "Reverse the words of a sentence")
    ]


def test_hits_per_conversation_and_limit(index: SearchIndex) -> None:
    chats = [conversation(*[f"word {n}" for n in range(6)], title="chat") for _ in range(4)]
    for chat in chats:
        index.update(chat)

    assert len(index.search("word")) == 4 * 3
    assert len(index.search("word", per_conversation=1)) == 4
    assert len(index.search("word", limit=5)) == 5
    assert index.search("word", limit=0) == []
    hits = index.search("word", per_conversation=2)
    assert [hit.conversation_id for hit in hits][::2] == [hit.conversation_id for hit in hits][1::2]


def test_common_words_rank_only_the_newest_matches(
    index: SearchIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "RANK_LIMIT", 2)
    chats = [conversation(f"common word {number}", title="chat") for number in range(3)]
    for chat in chats:
        index.update(chat)

    assert {hit.conversation_id for hit in index.search("common")} == {c.id for c in chats[1:]}
    assert len(index.search("common 0")) == 1


def test_snippets_are_one_line_around_the_match() -> None:
    text = "intro " * 40 + "the\n\n  needle   is\there. " + "outro " * 40
    snippet, highlights = make_snippet(text, Query.parse("needl"))  # type: ignore[arg-type]

    assert "\n" not in snippet and "  " not in snippet
    assert snippet.startswith("…intro") and snippet.endswith("outro…")
    assert len(snippet) <= SNIPPET_WIDTH + 2
    [(start, end)] = highlights
    assert snippet[start:end] == "needle"
    assert snippet[start - 4 : end + 9] == "the needle is here."
    assert start <= SNIPPET_WIDTH // 4 + 2  # the match is near the start, with some context


def test_snippets_are_plain_text_not_markdown(index: SearchIndex) -> None:
    reply = (
        "# Echo report\n\n## Findings\n\nThe **echo** came back in *two* seconds, see "
        "[the log](https://example.com/log) and `echo.py`:\n\n```python\nprint('echo')\n```\n\n"
        "- one snake_case_name\n> quoted echo"
    )
    chat = conversation("What did the echo test find?", reply)
    index.update(chat)
    [hit] = [h for h in index.search("echo") if h.role is Role.ASSISTANT]
    assert hit.snippet.startswith("Echo report Findings The echo came back in two seconds, see")
    assert not set("#*`[]()") & set(hit.snippet)
    assert marked(hit)[:2] == ["Echo", "echo"]
    tail = make_snippet(plain_text(reply), Query.parse("snake"))[0]  # type: ignore[arg-type]
    assert tail.endswith("print('echo') one snake_case_name quoted echo")


def test_plain_text_keeps_words_and_drops_only_formatting() -> None:
    assert plain_text("2 * 3 * 4 and a_b_c, 5 - 1 > 3") == "2 * 3 * 4 and a_b_c, 5 - 1 > 3"
    assert plain_text("![a diagram](x.png) ~~old~~ __strong__ _it_") == "a diagram old strong it"
    assert plain_text("| a | b |\n|---|:-:|\n| 1 | 2 |").split() == ["a", "b", "1", "2"]


def test_snippet_of_a_short_text_is_the_whole_text() -> None:
    query = Query.parse("ab cd")
    assert query is not None
    assert make_snippet("xx ab, cd ab", query) == ("xx ab, cd ab", [(3, 5), (7, 9), (10, 12)])


def test_snippet_near_the_end_of_a_long_text_is_filled_from_before() -> None:
    snippet, highlights = make_snippet("word " * 100 + "last", Query.parse("last"))  # type: ignore[arg-type]

    assert snippet.startswith("…word") and snippet.endswith("last")
    assert len(snippet) >= SNIPPET_WIDTH - 5
    assert [snippet[a:b] for a, b in highlights] == ["last"]


def test_query_parsing_quotes_every_term() -> None:
    assert Query.parse('say "hi" -now') == Query(
        expression='"say" """hi""" "-now"*', words=frozenset({"say", "hi"}), prefix="now"
    )
    assert Query.parse("Köln AND ") == Query(
        expression='"Köln" "AND"', words=frozenset({"koln", "and"}), prefix=""
    )
    assert Query.parse("* - ") is None
    assert Query.parse("") is None


def test_update_replaces_changed_text(index: SearchIndex) -> None:
    chat = conversation("first question", "an answer about apples")
    index.update(chat)
    chat.messages[1].content = "an answer about oranges"
    chat.add_user_message("and pears?")
    index.update(chat)

    assert index.search("apples") == []
    assert [hit.message_id for hit in index.search("oranges")] == [chat.messages[1].id]
    assert [hit.message_id for hit in index.search("pears")] == [chat.messages[2].id]
    del chat.messages[2]
    index.update(chat)
    assert index.search("pears") == []


def test_an_unchanged_message_is_not_written_again(tmp_path: Path, index: SearchIndex) -> None:
    chat = conversation("one", "two")
    index.update(chat)
    rowids = sorted(row[0] for row in _rows(tmp_path))
    chat.add_user_message("three")
    index.update(chat)

    assert sorted(row[0] for row in _rows(tmp_path))[:3] == rowids


def test_a_renamed_conversation_is_found_by_its_new_title(index: SearchIndex) -> None:
    chat = conversation("hello there")
    index.update(chat)
    chat.rename("Planning the garden")
    index.update(chat)

    [hit] = index.search("garden")
    assert (hit.message_id, hit.title) == (None, "Planning the garden")
    assert index.search("hello")[0].title == "Planning the garden"


def test_remove(index: SearchIndex) -> None:
    kept, removed = conversation("apples"), conversation("apples too")
    index.update(kept)
    index.update(removed)
    index.remove(removed.id)
    index.remove("never-indexed")

    assert [hit.conversation_id for hit in index.search("apples")] == [kept.id]


def test_sync_follows_the_files(tmp_path: Path, index: SearchIndex) -> None:
    store = ConversationStore(tmp_path)
    first, second = conversation("apples"), conversation("bananas")
    store.save(first)
    store.save(second)

    assert index.sync(ConversationStore(tmp_path)) == 2
    assert index.sync(ConversationStore(tmp_path)) == 0
    assert len(index.search("apples")) == 1

    other = ConversationStore(tmp_path)  # another ollama-tui: changes, adds, deletes
    changed = other.load(first.id)
    changed.messages[0].content = "cherries"
    other.save(changed)
    added = conversation("dates")
    other.save(added)
    other.delete(second.id)

    assert index.sync(ConversationStore(tmp_path)) == 2
    assert [hit.message_id for hit in index.search("apples")] == [None]  # the title stays
    assert index.search("bananas") == []
    assert [hit.conversation_id for hit in index.search("cherries")] == [first.id]
    assert [hit.conversation_id for hit in index.search("dates")] == [added.id]


def test_sync_reads_a_rewritten_file_but_counts_only_changes(
    tmp_path: Path, index: SearchIndex
) -> None:
    store = ConversationStore(tmp_path)
    chat = conversation("apples")
    store.save(chat)
    index.sync(ConversationStore(tmp_path))
    store.save(chat)  # a new file with the same text
    index.update(chat)  # as the app does after saving

    assert index.sync(ConversationStore(tmp_path)) == 0
    assert len(index.search("apples")) == 1


def test_sync_drops_a_conversation_whose_file_is_damaged(
    tmp_path: Path, index: SearchIndex
) -> None:
    store = ConversationStore(tmp_path)
    chat = conversation("apples")
    store.save(chat)
    index.sync(ConversationStore(tmp_path))
    store.path_of(chat.id).write_text("{ not json")

    index.sync(ConversationStore(tmp_path))

    assert index.search("apples") == []
    assert len(list((tmp_path / "damaged").iterdir())) == 1


def test_sync_of_an_empty_data_dir(tmp_path: Path) -> None:
    assert SearchIndex(tmp_path / "new").sync(ConversationStore(tmp_path / "new")) == 0


@pytest.mark.parametrize(
    "damage",
    [b"this is not a database at all" * 100, b"SQLite format 3\x00" + b"\xff" * 5000, b""],
)
def test_a_damaged_index_is_rebuilt(tmp_path: Path, damage: bytes) -> None:
    store = ConversationStore(tmp_path)
    store.save(conversation("apples"))
    (tmp_path / "search.sqlite3").write_bytes(damage)
    index = SearchIndex(tmp_path)

    assert index.search("apples") == []
    assert index.sync(store) == 1
    assert len(index.search("apples")) == 1


def test_an_index_of_another_version_is_rebuilt(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "search.sqlite3") as connection:
        connection.execute("CREATE TABLE something (other TEXT)")
        connection.execute("PRAGMA user_version = 99")
    connection.close()
    index = SearchIndex(tmp_path)
    index.update(conversation("apples"))

    assert len(index.search("apples")) == 1


def test_a_damaged_index_found_while_open_is_rebuilt(tmp_path: Path) -> None:
    index = SearchIndex(tmp_path)
    index.update(conversation("apples"))
    index.close()
    (tmp_path / "search.sqlite3").write_bytes(b"garbage" * 1000)
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"search.sqlite3{suffix}").unlink(missing_ok=True)

    index.update(conversation("bananas"))

    assert index.search("apples") == [] and len(index.search("bananas")) == 1


def test_an_unusable_index_is_a_one_line_search_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    index = SearchIndex(tmp_path / "file")  # the data dir is a file

    with pytest.raises(SearchError) as caught:
        index.search("apples")
    assert "\n" not in str(caught.value)
    assert str(tmp_path / "file" / "search.sqlite3") in str(caught.value)


def test_usable_from_worker_threads(index: SearchIndex) -> None:
    index.update(conversation("apples"))
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(index.search, ["apples"] * 20))
    assert all(len(hits) == 1 for hits in results)


def _rows(data_dir: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(data_dir / "search.sqlite3") as connection:
        rows = connection.execute("SELECT rowid, message_id FROM entries").fetchall()
    connection.close()
    return rows


def test_the_index_imports_neither_textual_nor_httpx() -> None:
    code = (
        "import sys, ollama_tui.chat.search; print(sorted({'textual', 'httpx'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout == "[]\n"
