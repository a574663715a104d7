"""Receiving receipt files: a multipart body streamed to disk, then inspected.

A file never sits whole in memory while it arrives: each part is written a chunk at a time
to a temporary file beside its final place, hashed on the way, fsynced, and only then checked
by ``appliance.uploads.inspect_upload`` (type, pixel count before decoding, PDF pages). Node
and central both take uploads this way; central keeps the bytes in PostgreSQL afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from appliance.core.ids import new_id
from appliance.receipts.config import ReceiptLimits

log = logging.getLogger(__name__)

_READ = 64 * 1024
FIELD = "file"


class UploadError(Exception):
    """An upload refused with a 4xx problem (``status``, ``title``, ``detail``)."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail


@dataclass(slots=True)
class Received:
    """One file written to ``path`` (fsynced), with what is known about it."""

    path: Path
    size: int
    sha256: str
    content_type: str
    filename: str | None


async def receive_files(
    request: web.Request, directory: Path, limits: ReceiptLimits
) -> list[Received]:
    """Stream every ``file`` part of a multipart body into ``directory``; inspect them.

    On any refusal the files written so far are removed and ``UploadError`` is raised.
    """
    if request.content_type != "multipart/form-data":
        raise UploadError(
            415,
            "Unsupported media type",
            "send the receipt as multipart/form-data with one or more 'file' fields",
        )
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    received: list[Received] = []
    try:
        try:
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader):
                    raise UploadError(400, "Malformed body", "nested multipart is not accepted")
                if part.name != FIELD:
                    raise UploadError(
                        422, "Invalid request", f"unknown field {part.name!r}; send 'file' parts"
                    )
                if len(received) >= limits.max_files:
                    raise UploadError(
                        413,
                        "Too many files",
                        f"a receipt takes at most {limits.max_files} files",
                    )
                received.append(await _write_part(part, directory, limits))
        except (ValueError, AssertionError, HttpProcessingError) as exc:
            # aiohttp's multipart reader signals a malformed body with these.
            raise UploadError(
                400, "Malformed body", f"the multipart body is malformed: {exc}"
            ) from None
        if not received:
            raise UploadError(422, "Invalid request", "no 'file' part in the body")
        for item in received:
            item.content_type = await asyncio.to_thread(_inspect, item, limits)
    except BaseException:
        for item in received:
            with contextlib.suppress(OSError):
                item.path.unlink()
        raise
    return received


async def _write_part(part: BodyPartReader, directory: Path, limits: ReceiptLimits) -> Received:
    path = directory / f"upload-{new_id()}.part"
    digest = hashlib.sha256()
    size = 0
    handle = await asyncio.to_thread(path.open, "wb")
    try:
        while chunk := await part.read_chunk(_READ):
            size += len(chunk)
            if size > limits.max_file_bytes:
                raise UploadError(
                    413,
                    "Payload too large",
                    f"{part.filename or 'a file'} is larger than the limit of "
                    f"{limits.max_file_bytes} bytes",
                )
            digest.update(chunk)
            await asyncio.to_thread(handle.write, chunk)
        await asyncio.to_thread(_flush, handle)
    except BaseException:
        handle.close()
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    handle.close()
    if size == 0:
        path.unlink()
        raise UploadError(422, "Empty file", f"{part.filename or 'a file'} is empty (0 bytes)")
    declared = part.headers.get("Content-Type", "application/octet-stream")
    return Received(path, size, digest.hexdigest(), declared, part.filename)


def _flush(handle: Any) -> None:
    handle.flush()
    os.fsync(handle.fileno())


def _inspect(item: Received, limits: ReceiptLimits) -> str:
    """Check the file's content (not its name or declared type); return its media type."""
    from appliance.uploads import UploadRefused, inspect_upload

    # inspect_upload reads bytes; the file is read once, after it is safely on disk, and
    # dropped at once (at most max_file_bytes for a moment, never the whole request).
    data = item.path.read_bytes()
    try:
        info = inspect_upload(data, limits.upload_limits())
    except UploadRefused as exc:
        name = item.filename or "the file"
        raise UploadError(exc.status, "Unusable file", f"{name}: {exc.reason}") from None
    finally:
        del data
    return str(info.content_type)


def fsync_directory(directory: Path) -> None:
    """Make a rename inside ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
