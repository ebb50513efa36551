"""Benchmark 7 — attaching a 12-megapixel JPEG: time to chip, time to first request byte, memory.

    .venv/bin/python bench/attach.py [--quick] [--runs N]

Method. A 4,000×3,000 JPEG of a colour gradient under heavy noise is written to a temp folder:
7.4 MB at quality 90, noisier than a phone's photo of the same size (3–5 MB), so its decoding is
a worst case. Each run starts from an empty data dir and times:

* **to chip** — `prepare()` (stat, read, detect, decode at reduced scale, EXIF orientation,
  downscale to 1,568 px, re-encode) plus `AttachmentStore.add()` (hash-named atomic write): all
  the app waits for before the chip appears above the prompt;
* **to first request byte** — from the send (the message added to the conversation, the request
  planned, the image read back and base64-encoded) to the first byte of the HTTP request reaching
  a loopback server, through OllamaClient.chat as the app sends it; and to the last byte;
* **memory** — the process's peak RSS during the attach above its RSS before (Linux VmHWM).

The first run is also reported apart: it includes importing Pillow. `--quick` uses a
2,000×1,500 image and one warm run.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    fmt,
    parser,
    peak_rss_mb,
    print_table,
    reset_peak_rss,
    rss_mb,
    summary,
    write_results,
)

from ollama_tui.chat.attachments import with_images
from ollama_tui.chat.context import Calibration, plan_request
from ollama_tui.chat.conversation import Conversation
from ollama_tui.chat.intake import prepare
from ollama_tui.chat.store import ConversationStore
from ollama_tui.ollama.client import OllamaClient

DONE_LINE = (
    b'{"model":"gemma3:4b","created_at":"2026-12-01T00:00:00Z","message":{"role":"assistant",'
    b'"content":""},"done":true,"done_reason":"stop"}\n'
)


def photo(width: int, height: int) -> bytes:
    """A photo-like JPEG: a colour gradient under noise, at quality 90."""
    from PIL import Image

    gradient = Image.linear_gradient("L").resize((width, height))
    noise = Image.effect_noise((width, height), 40)
    image = Image.merge("RGB", (gradient, noise, gradient.transpose(Image.Transpose.ROTATE_180)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


class FirstByteServer:
    """A loopback HTTP server that notes when a request's first and last bytes arrive and
    answers with one done line, as Ollama's shortest reply."""

    def __init__(self) -> None:
        self.first_byte: float | None = None
        self.last_byte: float | None = None
        self.body_bytes = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            first = await reader.read(1)
            self.first_byte = time.perf_counter()
            head = first + await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            self.last_byte = time.perf_counter()
            self.body_bytes = length
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
                + f"Content-Length: {len(DONE_LINE)}\r\n\r\n".encode()
                + DONE_LINE
            )
            await writer.drain()
        writer.close()


async def send(store: ConversationStore, conversation: Conversation) -> dict[str, float]:
    server = FirstByteServer()
    url = await server.start()
    calibration = Calibration()
    try:
        async with OllamaClient(url) as client:
            started = time.perf_counter()
            plan = plan_request(
                conversation, num_ctx=8192, reserve=1024, estimator_for_model=calibration.estimator
            )
            messages = with_images(plan.messages, plan.images, store.attachments.base64_of)
            async for _ in client.chat(conversation.model, messages):
                pass
    finally:
        await server.stop()
    assert server.first_byte is not None and server.last_byte is not None
    return {
        "first_byte": server.first_byte - started,
        "last_byte": server.last_byte - started,
        "request_kb": server.body_bytes / 1000,
    }


def one_run(source: Path) -> dict[str, Any]:
    store = ConversationStore(Path(tempfile.mkdtemp(prefix="bench-attach-")) / "data")
    before = rss_mb()
    reset_peak_rss()
    started = time.perf_counter()
    attachment = store.attachments.add(prepare(source))
    to_chip = time.perf_counter() - started
    peak = peak_rss_mb()
    conversation = Conversation(model="gemma3:4b")
    conversation.add_user_message("What is in this picture?", [attachment])
    sent = asyncio.run(send(store, conversation))
    return {
        "to_chip": to_chip,
        "peak_over_start_mb": peak - before,
        "stored_kb": attachment.size / 1000,
        "stored_size": [attachment.width, attachment.height],
        **sent,
    }


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    width, height = (2000, 1500) if args.quick else (4000, 3000)
    runs = args.runs or (1 if args.quick else 7)
    folder = Path(tempfile.mkdtemp(prefix="bench-attach-src-"))
    source = folder / "photo.jpg"
    source.write_bytes(photo(width, height))
    cold = one_run(source)  # imports Pillow
    warm = [one_run(source) for _ in range(runs)]

    def stat(key: str) -> dict[str, float]:
        return summary([run[key] for run in warm])

    print_table(
        f"Attaching a {width}×{height} JPEG ({source.stat().st_size / 1e6:.1f} MB), "
        f"{runs} warm runs",
        ["", "to chip ms", "to first byte ms", "to last byte ms", "peak RSS +MB"],
        [
            [
                "first (imports Pillow)",
                f"{cold['to_chip'] * 1000:.0f}",
                f"{cold['first_byte'] * 1000:.0f}",
                f"{cold['last_byte'] * 1000:.0f}",
                f"{cold['peak_over_start_mb']:.0f}",
            ],
            [
                "warm",
                fmt(stat("to_chip"), 1000),
                fmt(stat("first_byte"), 1000),
                fmt(stat("last_byte"), 1000),
                fmt(stat("peak_over_start_mb")),
            ],
        ],
    )
    print(
        f"stored {cold['stored_size'][0]}×{cold['stored_size'][1]}, {cold['stored_kb']:.0f} KB;"
        f" request body {cold['request_kb']:.0f} KB"
    )
    write_results(
        "attach",
        {
            "quick": args.quick,
            "image": {"width": width, "height": height, "bytes": source.stat().st_size},
            "cold": cold,
            "runs": warm,
            "to_chip": stat("to_chip"),
            "first_byte": stat("first_byte"),
            "last_byte": stat("last_byte"),
            "peak_over_start_mb": stat("peak_over_start_mb"),
        },
    )


if __name__ == "__main__":
    main()
