"""The receipt transport between nodes and central over MQTT (pure, no I/O).

A node uploads a receipt as an ``offer`` (its files' sizes and SHA-256) followed by ``chunk``
messages, one at a time; central answers each with a ``progress`` naming how many bytes of
each file it has committed in PostgreSQL, so a node resumes after a cut from what central
really holds and a chunk sent twice is stored once. When every file is complete and its
SHA-256 checks, central enqueues the job and answers ``delivered``. Receipt states go to every
node as one retained message per receipt, ordered by a revision number central increments.
See docs/protocol.md.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any, Final, TypeGuard

from appliance.core.ids import is_uuid
from appliance.sync.protocol import ROOT, ProtocolError, encode

#: Raw bytes per chunk message (base64 makes about 4/3 of it; central's payload limit is 1 MiB).
CHUNK_BYTES: Final = 192 * 1024
MAX_FILES: Final = 10
STATUSES: Final = ("queued", "processing", "completed", "failed", "confirmed")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CONTENT_TYPE = re.compile(r"^[a-z]+/[a-z0-9.+-]+$")


def receipt_topics(household: str) -> ReceiptTopics:
    """The receipt topics of one household."""
    return ReceiptTopics(household)


@dataclass(frozen=True, slots=True)
class ReceiptTopics:
    """Topic names of the receipt transport."""

    household: str

    def up(self, node: str) -> str:
        """Node → central: offers, chunks and deletions."""
        return f"{ROOT}/{self.household}/node/{node}/receipts/up"

    def down(self, node: str) -> str:
        """Central → node: upload progress and delivery."""
        return f"{ROOT}/{self.household}/node/{node}/receipts/ack"

    def state(self, receipt_id: str) -> str:
        """Central → all, retained: the current view of one receipt (empty: deleted)."""
        return f"{ROOT}/{self.household}/receipts/{receipt_id}"

    @property
    def states(self) -> str:
        """The subscription filter of every receipt state."""
        return f"{ROOT}/{self.household}/receipts/+"

    def receipt_of(self, topic: str) -> str | None:
        """The receipt id in a state topic of this household."""
        prefix = f"{ROOT}/{self.household}/receipts/"
        if not topic.startswith(prefix):
            return None
        receipt_id = topic[len(prefix) :]
        return receipt_id if is_uuid(receipt_id) else None


@dataclass(frozen=True, slots=True)
class FileInfo:
    """One file of a receipt as the node holds it."""

    index: int
    size: int
    sha256: str
    content_type: str

    def to_dict(self) -> dict[str, Any]:
        """Wire form."""
        return {
            "index": self.index,
            "size": self.size,
            "sha256": self.sha256,
            "content_type": self.content_type,
        }

    @classmethod
    def parse(cls, value: Any, max_bytes: int) -> FileInfo:
        """From a decoded offer entry."""
        if not isinstance(value, dict):
            raise ProtocolError("a file must be an object")
        index, size = value.get("index"), value.get("size")
        sha, ctype = value.get("sha256"), value.get("content_type")
        if not _whole(index) or not 0 <= index < MAX_FILES:
            raise ProtocolError(f"file index must be 0..{MAX_FILES - 1}")
        if not _whole(size) or not 0 < size <= max_bytes:
            raise ProtocolError(f"file size must be 1..{max_bytes} bytes")
        if not isinstance(sha, str) or not _SHA256.match(sha):
            raise ProtocolError("sha256 must be 64 lowercase hex digits")
        if not isinstance(ctype, str) or not _CONTENT_TYPE.match(ctype):
            raise ProtocolError("content_type must be a media type")
        return cls(index, size, sha, ctype)


@dataclass(frozen=True, slots=True)
class Offer:
    """The start (or restart) of an upload: what the receipt is made of."""

    receipt_id: str
    files: list[FileInfo]
    req: int = 0

    def to_bytes(self) -> bytes:
        """Wire form."""
        return encode(
            {
                "op": "offer",
                "req": self.req,
                "receipt_id": self.receipt_id,
                "files": [f.to_dict() for f in self.files],
            }
        )


@dataclass(frozen=True, slots=True)
class Chunk:
    """``data`` of file ``index`` starting at byte ``offset``."""

    receipt_id: str
    index: int
    offset: int
    data: bytes
    req: int = 0

    def to_bytes(self) -> bytes:
        """Wire form."""
        return encode(
            {
                "op": "chunk",
                "req": self.req,
                "receipt_id": self.receipt_id,
                "index": self.index,
                "offset": self.offset,
                "data": base64.b64encode(self.data).decode("ascii"),
            }
        )


@dataclass(frozen=True, slots=True)
class Delete:
    """The node's user deleted the receipt."""

    receipt_id: str
    req: int = 0

    def to_bytes(self) -> bytes:
        """Wire form."""
        return encode({"op": "delete", "req": self.req, "receipt_id": self.receipt_id})


@dataclass(frozen=True, slots=True)
class Review:
    """A person on a node changes (``patch``) or confirms a receipt; central answers with an
    ``Answer`` carrying the HTTP status and body the node passes on."""

    receipt_id: str
    action: str
    body: dict[str, Any]
    req: int = 0

    def to_bytes(self) -> bytes:
        """Wire form."""
        return encode(
            {
                "op": "review",
                "req": self.req,
                "receipt_id": self.receipt_id,
                "action": self.action,
                "body": self.body,
            }
        )


@dataclass(frozen=True, slots=True)
class Answer:
    """Central's answer to a ``Review``: an HTTP status and a JSON body."""

    receipt_id: str
    req: int
    status: int
    body: dict[str, Any]

    def to_bytes(self) -> bytes:
        """Wire form."""
        return encode(
            {
                "op": "answer",
                "req": self.req,
                "receipt_id": self.receipt_id,
                "status": self.status,
                "body": self.body,
            }
        )

    @classmethod
    def parse(cls, value: dict[str, Any]) -> Answer:
        """From a decoded payload."""
        receipt_id, req = value.get("receipt_id"), value.get("req")
        status, body = value.get("status"), value.get("body")
        if not isinstance(receipt_id, str) or not _whole(req) or not _whole(status):
            raise ProtocolError("an answer needs receipt_id, req and status")
        if not 200 <= status < 600 or not isinstance(body, dict):
            raise ProtocolError("an answer needs an HTTP status and an object body")
        return cls(receipt_id, req, status, body)


@dataclass(frozen=True, slots=True)
class Lookup:
    """A node asks what central knows of a barcode (Open Food Facts) while a person creates
    the product; central answers with an ``Answer`` (``receipt_id`` empty) whose body is
    ``{"found": ...}``. It rides on the receipt topics' request/answer pairing by ``req``."""

    barcode: str
    req: int = 0

    def to_bytes(self) -> bytes:
        """Wire form."""
        return encode({"op": "lookup", "req": self.req, "barcode": self.barcode})


REVIEW_ACTIONS: Final = ("patch", "confirm")
Upload = Offer | Chunk | Delete | Review | Lookup
_BARCODE = re.compile(r"^[0-9]{8,14}$")


def parse_upload(value: dict[str, Any], max_file_bytes: int) -> Upload:
    """A decoded node → central receipt message."""
    if value.get("op") == "lookup":
        barcode, req = value.get("barcode"), value.get("req", 0)
        if not _whole(req) or not 0 <= req < 2**53:
            raise ProtocolError("req must be a whole number")
        if not isinstance(barcode, str) or not _BARCODE.match(barcode):
            raise ProtocolError("a lookup needs a barcode of 8 to 14 digits")
        return Lookup(barcode, req)
    receipt_id = value.get("receipt_id")
    if not isinstance(receipt_id, str) or not is_uuid(receipt_id):
        raise ProtocolError("receipt_id must be a UUID")
    op = value.get("op")
    req = value.get("req", 0)
    if not _whole(req) or not 0 <= req < 2**53:
        raise ProtocolError("req must be a whole number")
    if op == "offer":
        raw = value.get("files")
        if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_FILES:
            raise ProtocolError(f"an offer needs 1..{MAX_FILES} files")
        files = [FileInfo.parse(f, max_file_bytes) for f in raw]
        if sorted(f.index for f in files) != list(range(len(files))):
            raise ProtocolError("file indexes must be 0..n-1, each once")
        return Offer(receipt_id, sorted(files, key=lambda f: f.index), req)
    if op == "chunk":
        index, offset, data = value.get("index"), value.get("offset"), value.get("data")
        if not _whole(index) or not 0 <= index < MAX_FILES:
            raise ProtocolError("chunk index out of range")
        if not _whole(offset) or offset < 0:
            raise ProtocolError("chunk offset must be a whole number")
        if not isinstance(data, str):
            raise ProtocolError("chunk data must be base64 text")
        try:
            raw_data = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolError("chunk data is not valid base64") from None
        if not raw_data or len(raw_data) > CHUNK_BYTES:
            raise ProtocolError(f"a chunk holds 1..{CHUNK_BYTES} bytes")
        return Chunk(receipt_id, index, offset, raw_data, req)
    if op == "delete":
        return Delete(receipt_id, req)
    if op == "review":
        action, body = value.get("action"), value.get("body", {})
        if action not in REVIEW_ACTIONS:
            raise ProtocolError(f"review action must be one of {', '.join(REVIEW_ACTIONS)}")
        if not isinstance(body, dict):
            raise ProtocolError("a review body must be an object")
        return Review(receipt_id, action, body, req)
    raise ProtocolError(f"unknown receipt operation {op!r}")


@dataclass(frozen=True, slots=True)
class Progress:
    """Central → node: bytes committed per file, and whether the receipt is delivered.

    ``error`` explains a refusal (a file whose SHA-256 did not match is started again; an
    offer that contradicts an earlier one for the same id is refused for good: ``final``).
    ``req`` echoes the request's number, so a late answer to an older request is ignored.
    """

    receipt_id: str
    received: list[int] = field(default_factory=list)
    delivered: bool = False
    error: str | None = None
    final: bool = False
    req: int = 0

    def answering(self, req: int) -> Progress:
        """This answer for request ``req``."""
        return Progress(self.receipt_id, self.received, self.delivered, self.error, self.final, req)

    def to_bytes(self) -> bytes:
        """Wire form."""
        return encode(
            {
                "req": self.req,
                "receipt_id": self.receipt_id,
                "received": self.received,
                "delivered": self.delivered,
                "error": self.error,
                "final": self.final,
            }
        )

    @classmethod
    def parse(cls, value: dict[str, Any]) -> Progress:
        """From a decoded payload."""
        receipt_id = value.get("receipt_id")
        received = value.get("received", [])
        if not isinstance(receipt_id, str) or not is_uuid(receipt_id):
            raise ProtocolError("receipt_id must be a UUID")
        if not isinstance(received, list) or not all(_whole(r) and r >= 0 for r in received):
            raise ProtocolError("received must list byte counts")
        error = value.get("error")
        req = value.get("req", 0)
        return cls(
            receipt_id,
            list(received),
            bool(value.get("delivered", False)),
            str(error) if error is not None else None,
            bool(value.get("final", False)),
            req if _whole(req) else -1,
        )


def state_payload(view: dict[str, Any]) -> bytes:
    """A retained receipt state: the receipt's view with its ``revision``."""
    return encode({"receipt": view})


def parse_state(value: dict[str, Any]) -> dict[str, Any]:
    """The receipt view of a decoded state message (checked enough to store it)."""
    view = value.get("receipt")
    if not isinstance(view, dict):
        raise ProtocolError("receipt must be an object")
    if not isinstance(view.get("id"), str) or not is_uuid(view["id"]):
        raise ProtocolError("receipt.id must be a UUID")
    if view.get("status") not in STATUSES:
        raise ProtocolError(f"unknown receipt status {view.get('status')!r}")
    if not _whole(view.get("revision")):
        raise ProtocolError("receipt.revision must be a whole number")
    return view


def _whole(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def new_view(
    receipt_id: str, origin: str, files: list[FileInfo], created_at: str | None
) -> dict[str, Any]:
    """The view of a receipt nobody has read yet (node and central start from it)."""
    return {
        "id": receipt_id,
        "origin": origin,
        "status": "queued",
        "revision": 0,
        "created_at": created_at,
        "files": [
            {"index": f.index, "content_type": f.content_type, "size": f.size} for f in files
        ],
        "merchant": None,
        "date": None,
        "time": None,
        "currency": None,
        "total": None,
        "payment": None,
        "lines": [],
        "lines_sum": None,
        "consistent": None,
        "warnings": [],
        "error": None,
    }
