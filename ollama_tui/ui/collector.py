"""Garbage-collector settings that keep a streaming reply from stalling the screen.

Textual allocates many short-lived container objects per frame, so with Python's default
thresholds the cyclic collector ran about 200 times a second while a reply streamed, and a full
collection (every ~0.7 s) walked every object the app had made since it started: 50–150 ms
pauses, during which keys waited. Objects that exist when the app mounts (modules, classes,
the stylesheet, the screen's widgets) live as long as the app, so they are moved out of the
collector's sight, and young collections run less often.
"""

from __future__ import annotations

import gc
from collections.abc import Callable

YOUNG_COLLECTION_THRESHOLD = 20_000
"""Allocations between young collections (Python's default is 700). A middle-generation pass
every 3 young ones instead of 10 made each pause shorter but full collections more frequent, and
keys waited longer at p95 (54 vs 50 ms), so the other two thresholds keep their values."""


def quiet_collector() -> Callable[[], None]:
    """Apply the settings, and set the collector going if the command paused it for the
    start (`ollama_tui/__main__.py`); returns the function that restores the previous
    thresholds (the collector stays on)."""
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *previous[1:])
    gc.enable()

    def restore() -> None:
        gc.unfreeze()
        gc.set_threshold(*previous)

    return restore
