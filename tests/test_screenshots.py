"""The README's pictures can be made again: docs/screenshots.py runs against the fake server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_screenshot_script_writes_real_pictures(tmp_path: Path) -> None:
    script = ROOT / "docs" / "screenshots.py"
    result = subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path), "main", "models"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    main, models = (tmp_path / "main.svg").read_text(), (tmp_path / "models.svg").read_text()
    assert main.startswith("<svg") and "Conversations" in main and "def" in main
    assert "Installed" in models and "Pull&#160;a&#160;model" in models
    assert "11434" in main  # the address Ollama usually has, not the fake's random port
    wrong = subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path), "nonsense"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert wrong.returncode == 2 and "unknown scene nonsense" in wrong.stderr
