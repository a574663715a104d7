"""Product pictures: the bound node and central agree on (central shrinks, nodes check)."""

from __future__ import annotations

MAX_BYTES = 48 * 1024  # central shrinks to 256 px and at most this; larger ones are refused


def is_jpeg(data: bytes) -> bool:
    """Whether ``data`` looks like a JPEG within the size a node accepts."""
    return 0 < len(data) <= MAX_BYTES and data[:3] == b"\xff\xd8\xff"
