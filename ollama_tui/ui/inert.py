"""Dynamic text for widgets: never markup, never a terminal control sequence."""

from textual.content import Content

from ollama_tui.sanitize import sanitize


def inert(text: str, style: str = "") -> Content:
    """Untrusted text as Content: markup is not parsed, control characters are removed.

    Text is cleaned where it enters the app too; this is the last guard before the screen,
    for text that came another way (a hand-edited file, a pasted escape, a command-line flag).
    """
    clean = sanitize(text)
    return Content.styled(clean, style) if style else Content(clean)
