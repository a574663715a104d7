"""Upload inspection: every bad file is refused with a reason, from its bytes, before decoding."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import pytest
from fpdf import FPDF
from fpdf.enums import EncryptionMethod
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from appliance import uploads
from appliance.uploads import UploadLimits, UploadRefused, inspect_upload
from tests.receipts.synth import REWE_LAYOUT, encode, render, text_pdf

LIMITS = UploadLimits()


def refused(data: bytes, limits: UploadLimits = LIMITS) -> UploadRefused:
    with pytest.raises(UploadRefused) as caught:
        inspect_upload(data, limits)
    return caught.value


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header announces ``width`` x ``height``: a decompression bomb's shape."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def jpeg() -> bytes:
    return encode(render(REWE_LAYOUT), "JPEG", quality=80)


def pdf_pages(n: int) -> bytes:
    return text_pdf(["SUMME EUR 1,00"], pages=n)


def test_a_receipt_photo_is_accepted_with_its_size() -> None:
    info = inspect_upload(jpeg(), LIMITS)
    assert (info.kind, info.content_type) == ("jpeg", "image/jpeg")
    assert info.width == 560 and info.height and info.height > 300


def test_png_and_pdf_are_told_by_their_bytes() -> None:
    png = encode(render(REWE_LAYOUT), "PNG")
    assert inspect_upload(png, LIMITS).kind == "png"
    info = inspect_upload(pdf_pages(2), LIMITS)
    assert (info.kind, info.pages) == ("pdf", 2)


def test_heic_size_comes_from_its_header() -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()
    data = encode(Image.new("RGB", (640, 480), "white"), "HEIF")
    info = inspect_upload(data, LIMITS)
    assert info.kind == "heic" and info.width and info.width >= 640
    assert refused(data, UploadLimits(max_pixels=100_000)).reason.startswith("the image is")


def test_empty_file() -> None:
    assert refused(b"").reason == "the file is empty"


def test_zip_renamed_jpg_is_refused_by_content() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("receipt.jpg", b"not really")
    error = refused(out.getvalue())
    assert error.status == 415 and "ZIP archive" in error.reason


def test_text_is_not_an_image() -> None:
    assert "not a JPEG, PNG, HEIC or PDF" in refused(b"hello, I am a receipt").reason


def test_over_the_size_limit_is_refused_before_anything_else() -> None:
    data = b"\xff\xd8\xff" + b"\x00" * 50_000_000
    error = refused(data)
    assert error.status == 413 and "at most 20 MB" in error.reason


def test_truncated_jpeg() -> None:
    data = jpeg()
    assert "truncated" in refused(data[: len(data) // 2]).reason


def test_truncated_png() -> None:
    data = encode(render(REWE_LAYOUT), "PNG")
    assert "truncated" in refused(data[:-30]).reason


def test_decompression_bomb_refused_from_the_header() -> None:
    bomb = png_header_only(30_000, 30_000)  # 900 megapixels in about 100 bytes
    assert len(bomb) < 200
    error = refused(bomb)
    assert "megapixels" in error.reason or "too large" in error.reason


def test_pixel_limit_is_configurable() -> None:
    data = png_header_only(5000, 5000)
    assert inspect_upload(data, LIMITS).width == 5000  # 25 MP: under the default 40 MP
    assert "at most 10 megapixels" in refused(data, UploadLimits(max_pixels=10_000_000)).reason


def test_too_many_pdf_pages() -> None:
    assert "11 pages; at most 10" in refused(pdf_pages(11)).reason
    assert inspect_upload(pdf_pages(11), UploadLimits(max_pdf_pages=12)).pages == 11


def encrypted_pdf(user_password: str) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Courier", size=8)
    pdf.text(10, 10, "SUMME EUR 1,00")
    pdf.set_encryption(
        owner_password="owner", user_password=user_password, encryption_method=EncryptionMethod.RC4
    )
    return bytes(pdf.output())


def test_password_protected_pdf_is_refused() -> None:
    assert "password" in refused(encrypted_pdf("secret")).reason


def test_pdf_encrypted_only_against_editing_is_accepted() -> None:
    # REWE eBons are like this: encrypted with an empty user password, they open fine.
    assert inspect_upload(encrypted_pdf(""), LIMITS).pages == 1


def test_malformed_pdf() -> None:
    data = b"%PDF-1.7\n" + b"garbage " * 100 + b"\n%%EOF\n"
    assert "damaged" in refused(data).reason


def test_truncated_pdf() -> None:
    data = pdf_pages(1)
    assert "truncated" in refused(data[: len(data) - 200]).reason


def test_page_count_without_pdfium_reads_the_page_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    # The node may run without PDFium: the page tree's /Count still gives the pages.
    monkeypatch.setattr(uploads, "_pdf_pages_pdfium", lambda data: None)
    assert inspect_upload(pdf_pages(3), LIMITS).pages == 3
    assert "11 pages" in refused(pdf_pages(11)).reason


MAGICS = [b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"\x00\x00\x00\x18ftypheic", b"%PDF-1.7\n"]


@settings(max_examples=300, deadline=None)
@given(
    magic=st.sampled_from(MAGICS),
    body=st.binary(max_size=3000),
    tail=st.sampled_from([b"", b"\xff\xd9", b"IEND\xaeB`\x82", b"\n%%EOF\n"]),
)
def test_any_bytes_are_accepted_or_refused_never_crash(
    magic: bytes, body: bytes, tail: bytes
) -> None:
    try:
        info = inspect_upload(magic + body + tail, LIMITS)
    except UploadRefused as exc:
        assert exc.reason and 400 <= exc.status < 500
    else:
        assert info.kind in ("jpeg", "png", "heic", "pdf")
