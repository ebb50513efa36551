"""Each benchmark in bench/ runs end to end in its --quick mode and writes sane JSON.

No timing is asserted (CI machines are shared and noisy); only that every benchmark completes,
measures what it says, and that the streaming one's renders equal a from-scratch render.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_quick(name: str, tmp_path: Path, *extra: str) -> dict[str, Any]:
    results = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / f"{name}.py"), "--quick", *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env={
            **__import__("os").environ,
            "BENCH_RESULTS_DIR": str(results),
            "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
            "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
        },
    )
    assert done.returncode == 0, done.stderr[-3000:] or done.stdout[-3000:]
    document = json.loads((results / f"{name}-quick.json").read_text())
    assert document["benchmark"] == name
    assert document["quick"] is True
    return document


def positive(stat: dict[str, float]) -> bool:
    return stat["n"] > 0 and math.isfinite(stat["median"]) and stat["median"] > 0


def test_startup(tmp_path: Path) -> None:
    """Both methods, the real terminal's included: the published figures come from it."""
    assert shutil.which("tmux"), "tmux is needed for the start-up benchmark (.ci/run installs it)"
    document = run_quick("startup", tmp_path)
    assert [case["conversations"] for case in document["cases"]] == [0, 50]
    for case in document["cases"]:
        assert not case["errors"]
        assert positive(case["tmux"]) and positive(case["headless"])
        for method in ("tmux", "headless"):  # the whole page never comes before a usable one
            assert positive(case[f"{method}_whole"])
            assert all(r["whole"] >= r["startup"] for r in case["runs"][method])
        run = case["median_run"]
        parts = ("python_start", "domain_imports", "app_imports", "app_built", "first_frame")
        assert sum(run[part] for part in parts) == pytest.approx(run["startup"])
        assert all(run[part] >= 0 for part in parts)


def test_streaming(tmp_path: Path) -> None:
    """Every shape, at a size past the preview thresholds: the open code block and the long
    line are shown as plain text while they grow, and every final render equals a
    from-scratch one."""
    document = run_quick("streaming", tmp_path, "--sizes", "1500", "--token-delay", "0.0005")
    shapes = {case["shape"]: case for case in document["cases"]}
    assert set(shapes) == {"paragraphs", "code_blocks", "huge_code", "one_line"}
    for case in document["cases"]:
        assert not case["errors"], case["errors"]
        assert case["checks_ok"], case["runs"]
        assert positive(case["cpu"]) and positive(case["peak_rss_mb"])
        assert case["tokens"] >= 1500
        for run in case["runs"]:  # timed from where the client read the end of the stream
            assert 0 < run["latency"] <= run["wall"]
            assert run["text_latency"] <= run["latency"] and run["text_wall"] <= run["wall"]
            assert math.isfinite(run["client_lag"])
    assert shapes["huge_code"]["runs"][0]["previews"] == ["code"]
    assert shapes["one_line"]["runs"][0]["previews"] == ["text"]
    assert shapes["paragraphs"]["runs"][0]["previews"] == []
    # A paced reply: the server kept its pace, and the client's reading and frames were timed.
    (paced,) = document["paced"]
    assert not paced["errors"], paced["errors"]
    assert paced["checks_ok"], paced["runs"]
    (run,) = paced["runs"]
    assert run["tokens"] >= 150 and run["achieved_rate"] > 100
    assert positive(paced["cpu_streaming"]) and positive(paced["cpu_closing"])
    assert run["final_latency"] >= run["latency"]
    assert len(run["cpu_after"]) == 4


def test_interactivity(tmp_path: Path) -> None:
    document = run_quick("interactivity", tmp_path)
    assert not document["errors"], document["errors"]
    (result,) = document["results"]
    assert result["keystrokes"] > 0
    assert result["not_shown"] == 0 and result["shown"] == result["keystrokes"]
    assert positive(document["summary"]["p50"])


def test_open_long(tmp_path: Path) -> None:
    document = run_quick("open_long", tmp_path)
    assert not document["errors"], document["errors"]
    (result,) = document["results"]
    assert result["first_view"] > 0
    assert result["reached_top"]


def test_saving(tmp_path: Path) -> None:
    document = run_quick("saving", tmp_path)
    assert [case["messages"] for case in document["cases"]] == [20, 200]
    for case in document["cases"]:
        assert case["messages_saved"] == [case["messages"]]  # every timed save, exactly N
        assert positive(case["save"])
        assert case["file_kb"] > 0


def test_memory(tmp_path: Path) -> None:
    document = run_quick("memory", tmp_path)
    for case in document["cases"]:
        assert not case["errors"], case["errors"]
        assert positive(case["library_mb"]) and positive(case["open_mb"])
    assert all(run["mounted"] > 0 for run in document["cases"][1]["runs"])


def test_search(tmp_path: Path) -> None:
    document = run_quick("search", tmp_path)
    (size,) = document["sizes"]
    assert size["conversations"] == 31 and size["indexed"] == 31
    assert size["hits"]["xylophone"] == 1 and size["hits"]["zzz"] == 0
    assert positive(size["query"]) and positive(size["sync_unchanged"])
    assert positive(document["update"]["one_more_message"])


def test_attach(tmp_path: Path) -> None:
    document = run_quick("attach", tmp_path)
    assert document["image"]["width"] == 2000
    assert max(document["cold"]["stored_size"]) == 1568
    for run in [document["cold"], *document["runs"]]:
        assert 0 < run["first_byte"] <= run["last_byte"]
        assert run["request_kb"] > run["stored_kb"]  # the image went, base64-encoded
    assert positive(document["to_chip"]) and positive(document["first_byte"])


def test_docs(tmp_path: Path) -> None:
    document = run_quick("docs", tmp_path)
    indexing = document["indexing"]
    assert indexing["files"] == indexing["chunks"] / 2 == 20
    assert positive(indexing["chunks_per_second"])
    assert [case["chunks"] for case in document["queries"]] == [1000, 3000]
    for case in document["queries"]:
        assert positive(case["query"]) and positive(case["vector_scan"])
        assert case["rss_loaded_mb"] >= case["rss_open_mb"] > 0


def test_summary_requests(tmp_path: Path) -> None:
    figures = run_quick("summary_requests", tmp_path)["figures"]
    assert figures["summary requests"] > 0 and figures["most rounds in one send"] == 1
    assert figures["largest summary request"] <= figures["budget (num_ctx - reply reserve)"]


def test_pools(tmp_path: Path) -> None:
    document = run_quick("pools", tmp_path, "--connect-timeout", "0.5")
    cases = {case["case"]: case for case in document["cases"]}
    assert list(cases) == ["none", "refused", "known down", "no accept", "silent"]
    for case in cases.values():
        assert positive(case["first_token"])
        assert case["hosts"] == ["working"]
    # Bounded by the connect timeout, not the 60 s stall timeout (no timing asserted beyond).
    assert cases["silent"]["first_token"]["median"] < 30


def test_models(tmp_path: Path) -> None:
    document = run_quick("models", tmp_path)
    (case,) = document["cases"]
    assert case["models"] == 200
    assert not case["errors"], case["errors"]
    for figure in ("listing", "open", "sort", "end", "rss_before_mb", "peak_mb"):
        assert positive(case[figure]), figure
    assert case["open"]["median"] >= case["listing"]["median"] > 0  # opening lists once
