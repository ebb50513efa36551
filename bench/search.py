"""Benchmark 8 — search: the full-text index with 1,000 and 10,000 saved conversations.

    .venv/bin/python bench/search.py [--quick] [--runs N]

Method. A library is written with ConversationStore (4 messages each, as the start-up benchmark
does), plus one conversation holding a rare word. Then, in this process:

* first sync: SearchIndex.sync() on an empty index (what the first start after upgrading does);
* sync, nothing changed: a new SearchIndex and a new ConversationStore each run, as at start-up;
* sync, 10 changed: ten conversations get one more message (saved by another store) first;
* queries: each query of QUERIES typed one character at a time, as the search screen sends
  them; every prefix is one search() (limit 50, 3 hits per conversation), snippets included.
  The generated text repeats a small vocabulary, so common words match most messages: a worst
  case for ranking;
* update: one conversation of 2,000 messages indexed, then indexed again with one more message.

Timings are wall-clock medians over --runs repetitions (queries: over every keystroke).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    fmt,
    long_conversation,
    make_library,
    no_fsync,
    parser,
    print_table,
    summary,
    write_results,
)

from ollama_tui.chat.conversation import Conversation
from ollama_tui.chat.search import SearchIndex
from ollama_tui.chat.store import ConversationStore

SIZES = (1000, 10000)
QUICK_SIZES = (30,)
QUERIES = ("terminal", "markdown json", "xylophone", "zzz")
"""Common word, two common words, a word in one conversation, no match."""


def timed(action: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def measure(count: int, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"ollama-tui-bench-search-{count}-") as folder:
        return measure_in(Path(folder), count, runs)


def measure_in(data_dir: Path, count: int, runs: int) -> dict[str, Any]:
    make_library(data_dir, count)
    needle = Conversation(model="llama3.2:latest")
    needle.add_user_message("Which instrument is a xylophone?")
    with no_fsync():
        ConversationStore(data_dir).save(needle)

    first_sync, indexed = timed(lambda: SearchIndex(data_dir).sync(ConversationStore(data_dir)))
    size_mb = sum(path.stat().st_size for path in data_dir.glob("search.sqlite3*")) / 1e6

    unchanged = []
    for _ in range(runs):
        index = SearchIndex(data_dir)
        elapsed, result = timed(lambda index=index: index.sync(ConversationStore(data_dir)))
        index.close()
        assert result == 0, result
        unchanged.append(elapsed)

    writer = ConversationStore(data_dir)
    ids = [summary.id for summary in writer.list()[:10]]
    changed = []
    for _ in range(runs):
        with no_fsync():  # generating the change is not what is measured
            for conversation_id in ids:
                conversation = writer.load(conversation_id)
                conversation.add_user_message(f"one more question {time.perf_counter()}")
                writer.save(conversation)
        index = SearchIndex(data_dir)
        elapsed, result = timed(lambda index=index: index.sync(ConversationStore(data_dir)))
        index.close()
        assert result == len(ids), result
        changed.append(elapsed)

    index = SearchIndex(data_dir)
    per_query: dict[str, list[float]] = {}
    hits: dict[str, int] = {}
    for _ in range(runs):
        for query in QUERIES:
            for end in range(1, len(query) + 1):
                elapsed, result = timed(lambda typed=query[:end]: index.search(typed))
                per_query.setdefault(query, []).append(elapsed)
            hits[query] = len(result)
    every_keystroke = [value for values in per_query.values() for value in values]
    index.close()
    return {
        "conversations": count + 1,
        "indexed": indexed,
        "first_sync": first_sync,
        "index_mb": size_mb,
        "sync_unchanged": summary(unchanged),
        "sync_10_changed": summary(changed),
        "query": summary(every_keystroke),
        "query_p_max": max(every_keystroke),
        "queries": {query: summary(values) for query, values in per_query.items()},
        "hits": hits,
    }


def measure_update(messages: int, runs: int) -> dict[str, Any]:
    conversation = long_conversation(messages)
    with tempfile.TemporaryDirectory(prefix="ollama-tui-bench-search-long-") as folder:
        index = SearchIndex(Path(folder))
        first, _ = timed(lambda: index.update(conversation))
        again = []
        for _ in range(runs):
            conversation.add_user_message(f"and one more {time.perf_counter()}")
            elapsed, _ = timed(lambda: index.update(conversation))
            again.append(elapsed)
        index.close()
    return {"messages": messages, "first": first, "one_more_message": summary(again)}


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    runs = args.runs or (1 if args.quick else 5)
    sizes = QUICK_SIZES if args.quick else SIZES
    results = [measure(count, runs) for count in sizes]
    update = measure_update(50 if args.quick else 2000, runs)

    ms = {"scale": 1000, "digits": 1}
    print_table(
        "Index and sync (ms; median (min–max))",
        ("conversations", "first sync", "index MB", "sync, unchanged", "sync, 10 changed"),
        [
            (
                f"{r['conversations']:,}",
                f"{r['first_sync'] * 1000:,.0f}",
                f"{r['index_mb']:.1f}",
                fmt(r["sync_unchanged"], **ms),
                fmt(r["sync_10_changed"], **ms),
            )
            for r in results
        ],
    )
    print_table(
        "search() per keystroke (ms; median (min–max)), hits for the whole word",
        ("conversations", *QUERIES, "all keystrokes"),
        [
            (
                f"{r['conversations']:,}",
                *(f"{fmt(r['queries'][q], **ms)} [{r['hits'][q]}]" for q in QUERIES),
                fmt(r["query"], **ms),
            )
            for r in results
        ],
    )
    print_table(
        f"update() of a conversation of {update['messages']:,} messages (ms)",
        ("first time", "again, one message more"),
        [(f"{update['first'] * 1000:,.1f}", fmt(update["one_more_message"], **ms))],
    )
    median_query = statistics.median(r["query"]["median"] for r in results) * 1000
    print(f"\nmedian query time over all sizes: {median_query:.1f} ms")
    write_results("search", {"quick": args.quick, "runs": runs, "sizes": results, "update": update})


if __name__ == "__main__":
    main()
