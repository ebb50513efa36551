"""Make untrusted text (model output, server errors, titles) inert for the terminal."""

import re

# C0 controls except tab and newline, DEL, C1 controls, and the bidi embedding/override/isolate
# characters that can make text display in a different order than it is stored.
UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def sanitize(text: str) -> str:
    """Remove characters that could drive the terminal; works per character, so safe on chunks."""
    return UNSAFE.sub("", text)


def one_line(text: str, limit: int = 200) -> str:
    """Sanitize and collapse whitespace to a single line, shortened to `limit` characters."""
    line = " ".join(sanitize(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
