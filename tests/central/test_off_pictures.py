"""Shrinking Open Food Facts pictures for the nodes (pure: no database, no network)."""

from __future__ import annotations

import io

from PIL import Image

from appliance.core.pictures import MAX_BYTES, is_jpeg
from central.off.pictures import SIDE, shrink
from tests.fakes.off_server import sample_jpeg


def _size(jpeg: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(jpeg)) as image:
        assert image.format == "JPEG"
        return image.size


def test_a_photo_becomes_a_small_jpeg_within_the_bound() -> None:
    small = shrink(sample_jpeg(1600, 1200))
    assert small is not None and is_jpeg(small)
    assert _size(small) == (SIDE, SIDE * 3 // 4)
    assert len(small) <= MAX_BYTES


def test_png_with_transparency_and_tall_pictures() -> None:
    image = Image.new("RGBA", (300, 900), (10, 200, 30, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    small = shrink(out.getvalue())
    assert small is not None
    assert _size(small) == (SIDE // 3 + 1, SIDE) or _size(small) == (SIDE // 3, SIDE)


def test_noise_that_does_not_fit_at_any_quality_is_dropped_or_bounded() -> None:
    import random

    rng = random.Random(7)
    noisy = Image.frombytes(
        "RGB", (SIDE, SIDE), bytes(rng.randrange(256) for _ in range(SIDE * SIDE * 3))
    )
    out = io.BytesIO()
    noisy.save(out, "PNG")
    small = shrink(out.getvalue())
    assert small is None or len(small) <= MAX_BYTES


def test_what_is_not_a_picture_gives_none() -> None:
    assert shrink(b"<html>not found</html>") is None
    assert shrink(b"") is None
    assert shrink(sample_jpeg()[:200]) is None  # cut off


def test_a_decompression_bomb_is_refused_before_decoding() -> None:
    image = Image.new("1", (7_000, 7_000))  # 49 MP: over our bound, under Pillow's warning
    out = io.BytesIO()
    image.save(out, "PNG")
    assert shrink(out.getvalue()) is None


def test_the_node_accepts_only_bounded_jpegs() -> None:
    assert is_jpeg(sample_jpeg(100, 100))
    assert not is_jpeg(b"\x89PNG\r\n")
    assert not is_jpeg(b"")
    assert not is_jpeg(b"\xff\xd8\xff" + b"0" * MAX_BYTES)
