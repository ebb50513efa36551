"""Progress of a model pull: one line per layer with its bar, bytes, speed and time left."""

from __future__ import annotations

from collections import deque

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Label, ProgressBar, Static

from ollama_tui.ui.formatting import duration, human_bytes


class TransferRate:
    """Speed of a download over its last few seconds, and the time it still needs."""

    WINDOW = 5.0

    def __init__(self) -> None:
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, now: float, completed: int) -> None:
        """Record that `completed` bytes had arrived at monotonic time `now`."""
        self._samples.append((now, completed))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self.WINDOW:
            self._samples.popleft()

    @property
    def speed(self) -> float | None:
        """Bytes per second, None until two samples are apart in time."""
        if len(self._samples) < 2:
            return None
        (start, first), (end, last) = self._samples[0], self._samples[-1]
        return (last - first) / (end - start) if end > start else None

    def seconds_left(self, total: int) -> float | None:
        """Time to get the rest of `total` bytes at the current speed; None while unknown."""
        speed = self.speed
        if not speed or not self._samples:
            return None
        return max(0.0, total - self._samples[-1][1]) / speed


class LayerProgress(Horizontal):
    """One layer of a pull: its digest, a progress bar, bytes, speed and time left."""

    DEFAULT_CSS = """
    LayerProgress {
        height: 1;
        & > .layer-name {
            width: 13;
            color: $text-muted;
        }
        & > ProgressBar {
            width: 25;
            & Bar {
                width: 18;
            }
        }
        & > .layer-stats {
            width: 1fr;
        }
    }
    """

    def __init__(self, digest: str) -> None:
        super().__init__()
        self.digest = digest
        self.rate = TransferRate()

    def compose(self) -> ComposeResult:
        short = self.digest.removeprefix("sha256:")[:12]
        yield Label(Content(short), classes="layer-name")
        yield ProgressBar(show_eta=False)
        yield Static(classes="layer-stats")

    def show(self, total: int | None, completed: int | None, now: float) -> None:
        """Move the bar to `completed` of `total` bytes, as reported at monotonic time `now`."""
        done = completed or 0
        self.query_one(ProgressBar).update(total=total, progress=done)
        if total is None:
            return
        self.rate.add(now, done)
        parts = [f"{human_bytes(done)}/{human_bytes(total)}"]
        if done < total:
            speed = self.rate.speed
            left = self.rate.seconds_left(total)
            if speed is not None:
                parts.append(f"{human_bytes(speed)}/s")
            if left is not None:
                parts.append(f"{duration(left)} left")
        self.query_one(".layer-stats", Static).update(Content(" · ".join(parts)))
