"""Documents for the tests: a small corpus with known topics, and PDFs made with pypdf."""

from __future__ import annotations

import io
from pathlib import Path

from pypdf import PdfWriter
from pypdf.generic import (
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
)

CORPUS = {
    "bread.md": "# Sourdough\n\nFeed the sourdough starter with flour and water, then bake the "
    "bread in a hot oven.\n",
    "server.md": "# Server setup\n\nInstall the server with pip, then start the server and "
    "check the port it listens on.\n",
    "garden/roses.txt": "Prune the roses in early spring and water the garden roses weekly.\n",
    "code/errors.py": 'def explain(code):\n    """Explain an error code."""\n'
    '    if code == "ERR_4711":\n        return "the disk is full"\n',
}


def write_corpus(root: Path, files: dict[str, str] = CORPUS) -> Path:
    """Write `files` under `root` (made if needed); returns root."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def make_pdf(pages: list[str], password: str | None = None) -> bytes:
    """A PDF whose pages show these texts (one line each), encrypted when given a password."""
    writer = PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    for text in pages:
        page = writer.add_blank_page(width=612, height=792)
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = DecodedStreamObject()
        stream.set_data(f"BT /F1 12 Tf 72 720 Td ({escaped}) Tj ET".encode("latin-1"))
        page[NameObject("/Contents")] = writer._add_object(stream)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
    if password is not None:
        writer.encrypt(password, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
