"""Limits of receipt uploads, shared in shape by node and central (``[receipts]``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from appliance.settings_base import Section


class ReceiptLimits(Section):
    """What one receipt upload may be."""

    # Bytes a single file may take (a phone photo is 2-6 MB; a PDF eBon well under 1 MB).
    max_file_bytes: int = Field(default=20_000_000, ge=1024, le=200_000_000)
    # Photos of one long receipt sent together.
    max_files: int = Field(default=10, ge=1, le=10)
    # Images over this many pixels are refused before decoding (decompression bombs).
    max_pixels: int = Field(default=40_000_000, ge=10_000)
    max_pdf_pages: int = Field(default=10, ge=1, le=1000)

    def upload_limits(self) -> Any:
        """The limits in the form ``appliance.uploads.inspect_upload`` takes."""
        from appliance.uploads import UploadLimits

        return UploadLimits(
            max_bytes=self.max_file_bytes,
            max_pixels=self.max_pixels,
            max_pdf_pages=self.max_pdf_pages,
        )
