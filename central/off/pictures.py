"""Product pictures: fetched from Open Food Facts by central, shrunk, cached, sent to nodes.

A picture is at most ``SIDE`` pixels on its longer side, a JPEG of at most ``MAX_BYTES``
(quality lowered step by step until it fits), so a node can keep thousands of them and the
broker carries them as retained messages (one per product, ``.../pictures/{product_id}``):
a node that connects later, or comes back after a long absence, gets every picture at once.
"""

from __future__ import annotations

import io
import logging

from appliance.core.pictures import MAX_BYTES  # a node refuses larger ones

log = logging.getLogger(__name__)

SIDE = 256

MAX_SOURCE_BYTES = 4 * 1024 * 1024  # what central downloads at most
MAX_SOURCE_PIXELS = 40_000_000  # decompression bombs are refused, not decoded
_QUALITIES = (82, 70, 55, 40)


def shrink(data: bytes) -> bytes | None:
    """The picture as a small JPEG, or None when ``data`` is not an image Pillow can read."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > MAX_SOURCE_PIXELS:
                log.warning("picture of %dx%d pixels refused", width, height)
                return None
            image.draft("RGB", (SIDE, SIDE))  # JPEG: decode at a smaller scale, much faster
            picture = image.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        log.warning("picture not readable: %s", exc)
        return None
    picture.thumbnail((SIDE, SIDE))
    for quality in _QUALITIES:
        out = io.BytesIO()
        picture.save(out, "JPEG", quality=quality, optimize=True)
        if out.tell() <= MAX_BYTES:
            return out.getvalue()
    return None
