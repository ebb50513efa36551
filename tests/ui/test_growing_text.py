"""A paragraph's lines kept between renders while it grows draw exactly what Textual draws
when it wraps and draws the whole text afresh."""

from __future__ import annotations

import random

import pytest
from textual.content import Content, Span
from textual.strip import Strip
from textual.style import Style
from textual.visual import RenderOptions
from textual.widget import Widget

from ollama_tui.ui.growing_text import GrowingText
from ollama_tui.ui.widgets.message_body import MessageParagraph
from tests.fake_ollama import FakeOllama
from tests.fake_ollama.replies import tokenize
from tests.ui.conftest import MakeApp, connected, send, wait_until

PIECES = [
    "a",
    "word",
    "streaming",
    "   ",
    " ",
    "\n",
    "https://example.com/a/very/long/path/that/does/not/fit/on/any/line/at/all",
    "x" * 47,
    "y" * 47 + "      ",
    " " * 70,
    "\n   indented",
    "日本語のテキスト",
    "表",
    "🙂",
    "naïve",
    "end.",
]
STYLES = ["bold", "italic", "reverse", Style(bold=True, italic=True), "underline"]


def growing_paragraph(rng: random.Random, pieces: int) -> list[Content]:
    """The successive contents of a paragraph a reply streams into: text added at the end, now
    and then a styled stretch (which, as in Markdown, is complete when it appears)."""
    text = ""
    spans: list[Span] = []
    contents = []
    for _ in range(pieces):
        piece = rng.choice(PIECES)
        if rng.random() < 0.3:
            piece = piece[: rng.randint(1, len(piece))]
        if rng.random() < 0.2:
            spans.append(Span(len(text), len(text) + len(piece), rng.choice(STYLES)))
        text += piece
        contents.append(Content(text, list(spans)))
    return contents


def drawn(lines: list) -> list[list]:
    return [list(strip) for strip in lines]


@pytest.mark.parametrize("align", ["left", "center", "justify"])
@pytest.mark.parametrize("seed", range(30))
def test_the_lines_drawn_as_a_paragraph_grows_are_those_drawn_afresh(seed: int, align: str) -> None:
    rng = random.Random(seed)
    rules = {"text_align": align}
    base = Style(foreground=None, background=None)
    link_style = Style(underline=True).rich_style if seed % 2 else None
    growing = GrowingText()
    width = rng.choice([1, 2, 7, 20, 33, 50, 80])
    for step, content in enumerate(growing_paragraph(rng, 60)):
        if step == 40:
            width = rng.choice([5, 19, 64])  # the pane was resized
        expected = content.render_strips(width, None, base, RenderOptions(Style.parse, rules))
        if link_style is not None:
            expected = [strip._apply_link_style(link_style) for strip in expected]
        assert growing.height(content, width, rules, Style.parse) == content.get_height(
            rules, width
        )
        got = growing.strips(content, width, rules, Style.parse, base, link_style)
        assert drawn(got) == drawn(expected), (step, content.plain)


def test_only_the_last_line_and_the_new_ones_are_drawn_again() -> None:
    growing = GrowingText()
    rules: dict[str, str] = {}
    words = " ".join(f"word{n}" for n in range(40))
    before = growing.strips(Content(words), 30, rules, Style.parse, Style(), None)
    after = growing.strips(Content(words + " more and more"), 30, rules, Style.parse, Style(), None)
    assert after[: len(before) - 1] == before[:-1]
    assert all(a is b for a, b in zip(after, before[:-1], strict=False))
    assert after[len(before) - 1] is not before[-1]


def test_text_that_does_not_extend_the_last_is_wrapped_afresh() -> None:
    growing = GrowingText()
    rules: dict[str, str] = {}
    growing.strips(Content("first words of a reply"), 10, rules, Style.parse, Style(), None)
    changed = Content("**first** words", [Span(0, 5, "bold")])
    expected = changed.render_strips(10, None, Style(), RenderOptions(Style.parse, rules))
    got = growing.strips(changed, 10, rules, Style.parse, Style(), None)
    assert drawn(got) == drawn(expected)


async def test_the_paragraph_a_reply_streams_into_draws_as_textual_draws_it(
    fake_ollama: FakeOllama, build_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reply held mid-paragraph, after batches drawn with lines kept from the renders before
    (a word too long for any line among them): the paragraph's lines equal those Textual draws
    from its whole text."""
    words = [*(f"word{n}" for n in range(100)), "x" * 130, *(f"after{n}" for n in range(60))]
    shown = " ".join(words)
    reply = shown + " *emphasis*, `code` and words " + " ".join(f"more{n}" for n in range(60))
    fake_ollama.queue_reply(reply)
    fake_ollama.token_delay = 0.003  # a batch every ~30 words
    release = fake_ollama.hold(n=len(tokenize(shown)))
    kept: list[int] = []
    strips = GrowingText.strips

    def noting_kept_lines(growing: GrowingText, *args: object) -> list[Strip]:
        kept.append(len(growing._strips))
        return strips(growing, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(GrowingText, "strips", noting_kept_lines)
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(100, 40)) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "One long paragraph, please")

        def paragraph() -> MessageParagraph | None:
            found = app.chat.message_list.query(MessageParagraph)
            return found.last() if found else None

        await wait_until(pilot, lambda: (p := paragraph()) is not None and "after59" in p.source)
        await pilot.pause()
        held = paragraph()
        assert held is not None and held._growing is not None
        print("KEPT", kept, held._growing._lines[-1].x, len(held._growing._lines))
        assert kept[-1] > 1 and sum(1 for lines in kept if lines > 1) >= 3
        held._render_content()
        ours = held._render_cache.lines
        Widget._render_content(held)
        assert drawn(ours) == drawn(held._render_cache.lines)
        release.set()
        await wait_until(pilot, lambda: not app.chat.replies_in_progress)
        assert app.chat.conversation.messages[-1].content == reply


async def test_text_selected_in_a_streaming_paragraph_is_the_text_under_the_mouse(
    fake_ollama: FakeOllama, build_app: MakeApp
) -> None:
    """Lines kept from earlier renders carry the places of their characters, so text selected
    with the mouse while the paragraph grows is the text shown where it was dragged."""
    shown = " ".join(f"word{n}" for n in range(150))
    fake_ollama.queue_reply(shown + " and then some more words to end the reply.")
    fake_ollama.token_delay = 0.003
    release = fake_ollama.hold(n=len(tokenize(shown)))
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(100, 40)) as pilot:
        await connected(pilot, app)
        await send(pilot, app, "Words, please")
        found = app.chat.message_list.query(MessageParagraph)
        await wait_until(pilot, lambda: bool(found.nodes) and "word149" in found.last().source)
        await pilot.pause()
        paragraph = found.last()
        assert paragraph._growing is not None
        lines = [strip.text for strip in paragraph._render_cache.lines]
        row = next(y for y, line in enumerate(lines) if y > 2 and line.strip())  # a kept line
        words = lines[row].split()
        start = lines[row].index(words[1])
        end = start + len(words[1]) + len(words[2])  # on the last character of the second
        await pilot.mouse_down(paragraph, offset=(start, row))
        await pilot.hover(paragraph, offset=(end, row))
        await pilot.mouse_up(paragraph, offset=(end, row))
        await pilot.pause()
        assert app.screen.get_selected_text() == f"{words[1]} {words[2]}"
        release.set()
