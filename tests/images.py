"""Small test images made with Pillow: a gradient with a marked corner, so orientation shows."""

from __future__ import annotations

import io

from PIL import Image


def picture(width: int, height: int, image_format: str = "PNG", **save: object) -> bytes:
    """An image whose top-left quarter is red and the rest a blue gradient."""
    image = Image.new("RGB", (width, height))
    for x in range(0, width, max(1, width // 16)):
        image.paste((0, 0, 40 + 200 * x // width), (x, 0, width, height))
    image.paste((255, 0, 0), (0, 0, width // 2, height // 2))
    out = io.BytesIO()
    image.save(out, image_format, **save)
    return out.getvalue()


def rotated_jpeg(width: int, height: int, orientation: int) -> bytes:
    """A JPEG stored `width`×`height` whose EXIF says to show it turned (6: 90° clockwise)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    return picture(width, height, "JPEG", exif=exif.tobytes())


def animated_gif(width: int, height: int, frames: int = 3) -> bytes:
    """A GIF whose first frame is red and the others green."""
    images = [
        Image.new("RGB", (width, height), (255, 0, 0) if index == 0 else (0, 255, 0))
        for index in range(frames)
    ]
    out = io.BytesIO()
    images[0].save(out, "GIF", save_all=True, append_images=images[1:], duration=100)
    return out.getvalue()


def size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def pixel(data: bytes, x: int, y: int) -> tuple[int, ...]:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB").getpixel((x, y))  # type: ignore[return-value]
