"""Inline styles (emphasis, strong, strike, inline code) are worked out once for Markdown blocks
alike and shared: each block must still show exactly what Textual gives it on its own, in a dark
theme and a light one, and after switching between them."""

from __future__ import annotations

from typing import Any

import pytest
from textual.dom import DOMNode
from textual.style import Style as VisualStyle
from textual.widget import Widget
from textual.widgets._markdown import MarkdownBlock, MarkdownParagraph

from ollama_tui.ui.app import OllamaTUI
from ollama_tui.ui.shared_styles import SharedComponentStyles
from tests.fake_ollama import FakeOllama
from tests.ui.conftest import MakeApp, connected, send, settle

INLINE = "*em* **strong** ~~gone~~ `code`"
REPLY = "\n\n".join(
    [f"# Title with `code` {n}" if n == 2 else f"Paragraph {n}: {INLINE}" for n in range(30)]
    + [f"- item {INLINE}", f"> quoted {INLINE}"]
)
COMPONENTS = ("em", "strong", "s", "code_inline")


def inline_styles(block: MarkdownBlock) -> tuple[VisualStyle, ...]:
    return tuple(block.get_visual_style(name, partial=True) for name in COMPONENTS)


def worked_out_alone(app: OllamaTUI, block: MarkdownBlock) -> tuple[VisualStyle, ...]:
    """The block's inline styles as Textual works them out for it, sharing nothing."""
    SharedComponentStyles._shared.clear()
    block._component_styles = {}
    block.notify_style_update()
    app.stylesheet.apply(block)
    return inline_styles(block)


def reply_blocks(app: OllamaTUI) -> list[MarkdownBlock]:
    return list(app.chat.message_list.query(MarkdownBlock).results(MarkdownBlock))


async def test_blocks_alike_share_inline_styles_and_show_what_each_would_alone(
    fake_ollama: FakeOllama, build_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_ollama.queue_reply(REPLY)
    app = build_app(fake_ollama.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        matched: list[DOMNode] = []  # the component classes the stylesheet matched
        apply = app.stylesheet.apply

        def counting_apply(node: DOMNode, **options: Any) -> None:
            if not isinstance(node, Widget):
                matched.append(node)
            apply(node, **options)

        monkeypatch.setattr(app.stylesheet, "apply", counting_apply)
        await send(pilot, app, "Inline styles, please")
        await settle(pilot, app)
        paragraphs = list(app.chat.message_list.query(MarkdownParagraph).results())
        assert len(paragraphs) >= 30
        # Each block is styled at least twice as the reply streams (with the `-end` class, then
        # without): alone, its 4 component classes would be matched ~250 times. Shared, they
        # are matched about once per context (type, classes, nesting): fifteen in this reply.
        of_blocks = [node for node in matched if isinstance(node._parent, MarkdownBlock)]
        assert 0 < len(of_blocks) <= 4 * 18
        monkeypatch.undo()
        # Blocks alike hold the very same styles, whose nodes belong to no block (a removed
        # block is not kept alive by the blocks that came after it).
        middle = paragraphs[5:25]
        for name in COMPONENTS:
            shared = {id(block._component_styles[name]) for block in middle}
            assert len(shared) == 1, name
            node = middle[0]._component_styles[name].node
            assert node is not None and node._parent is None

        by_theme: dict[str, tuple[VisualStyle, ...]] = {}
        for theme in ("textual-dark", "textual-light", "textual-dark"):
            app.theme = theme
            await settle(pilot, app)
            shown = {block: inline_styles(block) for block in reply_blocks(app)}
            by_theme[theme] = shown[paragraphs[1]]
            for block, styles in shown.items():
                assert styles == worked_out_alone(app, block), (theme, block)
            em, strong, strike, code = by_theme[theme]
            assert em.italic and strong.bold and strike.strike and code.background.a > 0
        assert by_theme["textual-dark"][3] != by_theme["textual-light"][3]
