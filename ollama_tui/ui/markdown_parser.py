"""The Markdown parser messages are rendered with: markdown-it's "gfm-like" preset, one per
thread, with a quicker first look for links."""

from __future__ import annotations

import re
import threading

from linkify_it import LinkifyIt
from markdown_it import MarkdownIt

_MAY_HOLD_LINK = re.compile(r"[:@]|//|\.\S|localhost|www\.", re.IGNORECASE)
"""Text that linkify-it's pretest can match holds one of these: a scheme's ':' or '//', an
e-mail's '@', 'localhost', 'www.', or a '.' before a domain's ending or an address's digit.
IGNORECASE as in linkify-it, so the same letters fold alike."""


class QuickLinkify(LinkifyIt):
    """LinkifyIt whose pretest first asks a small pattern. Its own pretest is one large
    case-insensitive pattern (~0.3 µs a character: 17 ms for a 16k-token reply, more than
    half of parsing it); most paragraphs hold none of the few characters a link needs, and
    for those the answer is the same without it."""

    def pretest(self, text: str) -> bool:
        return _MAY_HOLD_LINK.search(text) is not None and super().pretest(text)


_parsers = threading.local()


def markdown_parser() -> MarkdownIt:
    """This thread's Markdown parser. Textual makes a new one for every append (~1 ms each, as
    long as parsing a streamed batch); parsing keeps no state in it, so one serves every call."""
    parser: MarkdownIt | None = getattr(_parsers, "parser", None)
    if parser is None:
        parser = _parsers.parser = MarkdownIt("gfm-like")
        parser.linkify = QuickLinkify()
    return parser
