"""The message parser's quick first look for links changes no answer: every text linkify-it's
own pretest would pass, it passes too, so the same links are found."""

from __future__ import annotations

import random

from linkify_it import LinkifyIt
from markdown_it import MarkdownIt

from ollama_tui.ui.markdown_parser import QuickLinkify, markdown_parser

PIECES = [
    *("http:", "HTTPS:", "ftp:", "mailto:", "MailTo:", "//", "/", ":", "@", "＠"),
    *(".", "..", "...", ". ", ".\n", ".\u00a0", "。", "．"),
    *("www", "www.", "WWW.", "localhost", "LOCALHOST", "localhoſt", "loca\u212ahost"),
    *("com", "org", "io", "uk", "рф", "РФ", "xn--p1ai", "\u212am", "ſe", "museum", "zz"),
    *("1", "23", "456", "7890", " ", "\n", "\t", "a", "word", ">", "｜", "_", "-", "(", ")"),
    *("**", "`", "[", "]", "<", "é", "中", "🙂"),
]


def random_text(rng: random.Random) -> str:
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 12)))


def test_the_quick_pretest_answers_as_linkify_it_does() -> None:
    rng = random.Random(20261204)
    quick, full = QuickLinkify(), LinkifyIt()
    answers = {True: 0, False: 0}
    for _ in range(20_000):
        text = random_text(rng)
        answer = full.pretest(text)
        assert quick.pretest(text) is answer, repr(text)
        answers[answer] += 1
    # Both answers are common, so both sides of the quick look are exercised.
    assert min(answers.values()) > 2_000, answers


def test_links_are_found_as_before() -> None:
    text = (
        "See https://example.com/a?b=c, www.Example.org and docs.python.org/3/.\n\n"
        "Mail ME@example.com or visit localhost:8080 and 192.168.1.1.\n\n"
        "A sentence. Another one... and e.g. this; no links here.\n\n"
        "- item at ftp://files.example.net\n- `code.example.com` in code\n"
    )
    reference = MarkdownIt("gfm-like")
    ours = markdown_parser()
    assert isinstance(ours.linkify, QuickLinkify)
    assert [t.as_dict() for t in ours.parse(text)] == [t.as_dict() for t in reference.parse(text)]
    links = [
        child.attrs["href"]
        for token in ours.parse(text)
        for child in token.children or ()
        if child.type == "link_open"
    ]
    assert links == [
        "https://example.com/a?b=c",
        "http://www.Example.org",
        "http://docs.python.org/3/",
        "mailto:ME@example.com",
        "ftp://files.example.net",
    ]
