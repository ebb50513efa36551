"""How sizes, times and model facts read on screen, written as Ollama's own CLI writes them."""

from __future__ import annotations

from datetime import datetime

from ollama_tui.ollama import RunningModel

_UNITS = ("B", "KB", "MB", "GB", "TB")
_SCALE = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}


def human_bytes(count: float) -> str:
    """Decimal units as Ollama's CLI prints them: "815 MB", "2.0 GB", "12 GB"."""
    unit = 0
    while count >= 1000 and unit < len(_UNITS) - 1:
        count /= 1000
        unit += 1
    if count >= 10 or unit == 0 or count == int(count):
        return f"{int(count)} {_UNITS[unit]}"
    return f"{count:.1f} {_UNITS[unit]}"


def parameter_count(size: str | None) -> float:
    """ "3.2B" → 3.2e9, "751.63M" → 7.5163e8; -1 when absent or unreadable (sorts last)."""
    if not size or size[-1].upper() not in _SCALE:
        return -1
    try:
        return float(size[:-1]) * _SCALE[size[-1].upper()]
    except ValueError:
        return -1


def timestamp(moment: str | None) -> float | None:
    """Seconds since the epoch of an RFC 3339 time from the server; None if unreadable."""
    if not moment:
        return None
    try:
        return datetime.fromisoformat(moment).timestamp()
    except ValueError:
        return None


def time_left(expires_at: str | None, now: float) -> str:
    """When a loaded model will be unloaded, as `ollama ps` says it: "in 4 min", "forever"."""
    moment = timestamp(expires_at)
    if moment is None:
        return "?"
    left = moment - now
    if left > 100 * 365 * 86400:  # a negative keep_alive: Go's largest duration
        return "forever"
    if left <= 0:
        return "now"
    for limit, unit, seconds in ((90, "s", 1), (90 * 60, "min", 60), (48 * 3600, "h", 3600)):
        if left < limit:
            return f"in {round(left / seconds)} {unit}"
    return f"in {round(left / 86400)} days"


def duration(seconds: float) -> str:
    """ "0:35", "12:03", "1:02:03"."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def tidy_parameters(parameters: str) -> str:
    """Ollama pads each parameter name to 30 columns; pad to the longest name instead."""
    rows = [line.split(None, 1) for line in parameters.splitlines() if line.strip()]
    width = max((len(row[0]) for row in rows), default=0)
    return "\n".join(f"{row[0].ljust(width)}  {row[-1] if len(row) > 1 else ''}" for row in rows)


def processor(model: RunningModel) -> str:
    """Where the model runs, as `ollama ps` shows it: "100% GPU", "40%/60% CPU/GPU"."""
    if not model.size or model.size_vram is None:
        return "?"
    gpu = round(100 * model.size_vram / model.size)
    if gpu >= 100:
        return "100% GPU"
    if gpu <= 0:
        return "100% CPU"
    return f"{100 - gpu}%/{gpu}% CPU/GPU"
