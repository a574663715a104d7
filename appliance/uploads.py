"""What an uploaded receipt file is, checked from its bytes before anything decodes it.

Shared by node and central: the node refuses a bad upload at once, central checks again. Nothing
here decodes pixels or renders a page; images are judged by their header (so a decompression bomb
is refused before it can allocate), PDFs by their structure: PDFium (pypdfium2) opens them to
count pages and to tell a password-protected file, without rendering anything.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
from dataclasses import dataclass
from typing import Literal

Kind = Literal["jpeg", "png", "heic", "pdf"]

CONTENT_TYPES: dict[str, str] = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "heic": "image/heic",
    "pdf": "application/pdf",
}

# ISO base media brands of HEIF stills (HEIC from iPhones and iPads says "heic" or "mif1").
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}


@dataclass(frozen=True)
class UploadLimits:
    """What a receipt upload may be; configurable on node and central."""

    max_bytes: int = 20_000_000
    max_pixels: int = 40_000_000
    max_pdf_pages: int = 10


@dataclass(frozen=True)
class UploadInfo:
    """What a file turned out to be: its kind and its size in pixels or pages."""

    kind: Kind
    content_type: str
    size: int
    width: int | None = None
    height: int | None = None
    pages: int | None = None


class UploadRefused(Exception):
    """An upload that is not accepted; ``reason`` is a sentence for a person (becomes a 4xx)."""

    def __init__(self, reason: str, *, status: int = 422) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def sniff(data: bytes) -> Kind | None:
    """The kind the bytes say they are (never the file name), or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if len(data) >= 12 and data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "heic"
    if data[:1024].lstrip().startswith(b"%PDF-"):
        return "pdf"
    return None


def _describe_unknown(data: bytes) -> str:
    if data.startswith(b"PK\x03\x04"):
        return "this is a ZIP archive, not an image or PDF (whatever its name says)"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "GIF images are not supported: send a JPEG, PNG, HEIC or PDF"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "WebP images are not supported: send a JPEG, PNG, HEIC or PDF"
    return "this is not a JPEG, PNG, HEIC or PDF file (whatever its name says)"


def inspect_upload(data: bytes, limits: UploadLimits) -> UploadInfo:
    """Tell what ``data`` is; raise UploadRefused with a reason if it cannot be a receipt file.

    Refuses an empty or oversized file, anything that is not JPEG/PNG/HEIC/PDF by content,
    images whose header announces more than ``max_pixels`` (before decoding), truncated images,
    encrypted or malformed PDFs and PDFs over ``max_pdf_pages``.
    """
    if not data:
        raise UploadRefused("the file is empty")
    if len(data) > limits.max_bytes:
        raise UploadRefused(
            f"the file is {len(data) / 1e6:.1f} MB; at most {limits.max_bytes / 1e6:g} MB "
            "is accepted",
            status=413,
        )
    kind = sniff(data)
    if kind is None:
        raise UploadRefused(_describe_unknown(data), status=415)
    if kind == "pdf":
        pages = _pdf_pages(data)
        if pages > limits.max_pdf_pages:
            raise UploadRefused(
                f"the PDF has {pages} pages; at most {limits.max_pdf_pages} are accepted"
            )
        return UploadInfo(kind, CONTENT_TYPES[kind], len(data), pages=pages)
    if kind == "heic":
        width, height = _heic_size(data)
    else:
        width, height = _pil_size(data, kind)
        _check_complete(data, kind)
    if width <= 0 or height <= 0:
        raise UploadRefused(f"the {kind.upper()} header gives no image size")
    if width * height > limits.max_pixels:
        raise UploadRefused(
            f"the image is {width}×{height} pixels ({width * height / 1e6:.0f} megapixels); "
            f"at most {limits.max_pixels / 1e6:g} megapixels are accepted"
        )
    return UploadInfo(kind, CONTENT_TYPES[kind], len(data), width=width, height=height)


def _pil_size(data: bytes, kind: Kind) -> tuple[int, int]:
    """Width and height from the header; Pillow's open() reads no pixel data."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            # Pillow warns (and past twice its limit raises) about huge images; we decide.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[kind.upper()]) as image:
                return image.size
    except Image.DecompressionBombError as exc:
        raise UploadRefused(f"the image is far too large to decode ({exc})") from exc
    except Exception as exc:  # any parse error of a header is bad input
        raise UploadRefused(f"the {kind.upper()} file is damaged: {exc}") from exc


def _check_complete(data: bytes, kind: Kind) -> None:
    """Refuse a file cut short (an interrupted upload or copy)."""
    if kind == "png":
        if b"IEND" not in data[-16:]:
            raise UploadRefused("the PNG file is truncated (it has no end)")
        return
    end = _jpeg_scan_start(data)
    # Inside entropy-coded data 0xFF is always followed by 0x00 or a restart marker, so an
    # end-of-image marker after the first scan header is the real end of the main image.
    if end is None or data.find(b"\xff\xd9", end) < 0:
        raise UploadRefused("the JPEG file is truncated (it has no end of image)")


def _jpeg_scan_start(data: bytes) -> int | None:
    """Offset just after the first start-of-scan header, skipping segments by their length."""
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker == 0xDA:
            return pos + 2 + length
        pos += 2 + length
    return None


def _heic_size(data: bytes) -> tuple[int, int]:
    """The largest image-spatial-extent ('ispe') property: the primary image or its grid."""
    best = (0, 0)
    head = data[:2_000_000]  # the meta box comes first in HEIC files from phones
    for match in re.finditer(b"ispe", head):
        at = match.end() + 4  # version and flags
        if at + 8 > len(head):
            continue
        width, height = struct.unpack(">II", head[at : at + 8])
        if width * height > best[0] * best[1]:
            best = (width, height)
    if best == (0, 0):
        raise UploadRefused("the HEIC file is damaged: it gives no image size")
    return best


_COUNT = re.compile(rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)|/Count\s+(\d+)[^>]*?/Type\s*/Pages\b")
_PAGE = re.compile(rb"/Type\s*/Page\b(?!s)")


def _pdf_pages(data: bytes) -> int:
    """Page count of a PDF that is complete, not encrypted and parses; else UploadRefused."""
    if b"%%EOF" not in data[-2048:]:
        raise UploadRefused("the PDF is truncated (it has no end-of-file marker)")
    # Many e-receipts (REWE eBons among them) are encrypted with an empty user password, only
    # to forbid editing: they open fine. PDFium tells them from those that need a password.
    pages = _pdf_pages_pdfium(data)
    if pages is None:
        # Without PDFium a password cannot be told from none; central checks again.
        counts = [int(a or b) for a, b in _COUNT.findall(data)]
        pages = max(counts) if counts else len(_PAGE.findall(data))
    if pages <= 0:
        raise UploadRefused("the PDF is damaged: it has no pages")
    return pages


def _pdf_pages_pdfium(data: bytes) -> int | None:
    """The page count as PDFium reads it, where it is installed (central); None elsewhere."""
    try:
        import pypdfium2 as pdfium
    except ImportError:
        return None
    try:
        document = pdfium.PdfDocument(data)
    except Exception as exc:  # PdfiumError mostly; whatever it is, the file is bad input
        text = str(exc).lower()
        if "password" in text:
            raise UploadRefused(
                "the PDF is encrypted or password-protected; send an unprotected one"
            ) from exc
        raise UploadRefused(f"the PDF is damaged and cannot be read ({exc})") from exc
    try:
        return len(document)
    finally:
        document.close()
