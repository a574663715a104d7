"""One receipt from its files: PDFs by their text layer, photos by OCR, several photos joined.

Runs inside the worker process. ``Reading`` holds the OCR engine, made on first use, so a
central without working OCR still reads text PDFs.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from appliance.uploads import UploadLimits, UploadRefused, inspect_upload
from central.receipts.draft import ReadFailed, ReceiptDraft
from central.receipts.layout import Row, group_rows
from central.receipts.parse import fold, parse_rows

if TYPE_CHECKING:
    from PIL import Image

    from central.receipts.ocr import OcrEngine

log = logging.getLogger(__name__)

# Fewer text boxes than this on a photo: nothing worth turning around (a cat, a wall).
MIN_ROWS = 3


class Reading:
    """Reads receipts; the OCR engine is loaded once, on first need."""

    def __init__(
        self,
        limits: UploadLimits | None = None,
        engine_factory: Callable[[], OcrEngine] | None = None,
    ) -> None:
        self.limits = limits or UploadLimits()
        self._factory = engine_factory
        self._engine: OcrEngine | None = None
        self.ocr_error: str | None = None

    def engine(self) -> OcrEngine:
        """The OCR engine, loading it the first time; ReadFailed when OCR cannot work here."""
        if self._engine is None:
            if self.ocr_error is not None:
                raise ReadFailed(self.ocr_error)
            try:
                if self._factory is not None:
                    self._engine = self._factory()
                else:
                    from central.receipts.ocr import OcrEngine

                    self._engine = OcrEngine()
            except Exception as exc:  # an import or model error: report it, keep PDFs working
                log.exception("OCR engine could not be loaded")
                self.ocr_error = (
                    f"OCR is unavailable on this central ({exc}); enter the lines by hand"
                )
                raise ReadFailed(self.ocr_error) from exc
        return self._engine

    def read(self, files: Sequence[tuple[str, bytes]]) -> ReceiptDraft:
        """Read the files of one receipt (several photos or pages form one receipt)."""
        if not files:
            raise ReadFailed("no file was given")
        parts: list[list[Row]] = []
        photos: list[bool] = []  # per part: a photo, which may overlap its neighbour
        sources = set()
        for _content_type, data in files:
            try:
                info = inspect_upload(data, self.limits)
            except UploadRefused as exc:
                raise ReadFailed(exc.reason) from exc
            if info.kind == "pdf":
                from central.receipts import pdf

                pages = pdf.text_rows(data)
                if pages is not None:
                    parts.extend(pages)
                    photos.extend(False for _ in pages)
                    sources.add("pdf-text")
                    continue
                images = pdf.page_images(data)
            else:
                from central.receipts.ocr import load_image

                images = [load_image(data, info.kind)]
            for image in images:
                parts.append(self._photo_rows(image, alone=len(files) == 1 and len(images) == 1))
                photos.append(True)
                sources.add("ocr")
        rows = join_parts(parts, photos)
        draft = parse_rows(rows)
        draft.source = "pdf-text" if sources == {"pdf-text"} else "ocr"
        return draft

    def _photo_rows(self, image: Image.Image, *, alone: bool) -> list[Row]:
        """Rows of one photo: cropped to its text when the receipt is small in the frame,
        turned round when upside down."""
        from central.receipts.ocr import shrink, to_bgr

        engine = self.engine()
        small = shrink(image)
        if image.width >= 1.5 * small.width:
            # A receipt in part of a 12-megapixel photo: find where its text is, then read
            # that part at its own resolution.
            region = text_region(engine.detect(to_bgr(small)), small.size, image.size)
            if region is not None:
                small = shrink(image.crop(region))
        rows = group_rows(engine.boxes(to_bgr(small)))
        if len(rows) < MIN_ROWS or _looks_read(rows, alone):
            return rows
        turned = engine.rows(small.rotate(180, expand=True))
        return turned if _score(turned) > _score(rows) else rows


def text_region(
    boxes: Sequence[Sequence[tuple[float, float]]],
    shrunk: tuple[int, int],
    original: tuple[int, int],
) -> tuple[int, int, int, int] | None:
    """The part of the original photo that holds the text, when reading it alone gains
    resolution (the text spans less than 60 % of the shrunk width); else None."""
    if len(boxes) < MIN_ROWS or shrunk[0] == 0:
        return None
    scale = original[0] / shrunk[0]
    xs = [x for box in boxes for x, _ in box]
    ys = [y for box in boxes for _, y in box]
    left, right, top, bottom = min(xs), max(xs), min(ys), max(ys)
    if right - left > 0.6 * shrunk[0] or scale < 1.5:
        return None
    margin = 0.04 * shrunk[0]
    return (
        max(0, int((left - margin) * scale)),
        max(0, int((top - margin) * scale)),
        min(original[0], int((right + margin) * scale)),
        min(original[1], int((bottom + margin) * scale)),
    )


def _looks_read(rows: list[Row], alone: bool) -> bool:
    """Whether the rows read as a receipt the right way up (a whole one has its total)."""
    try:
        draft = parse_rows(rows)
    except ReadFailed:
        return False
    if alone:
        return draft.total is not None
    return bool(draft.lines)


def _score(rows: list[Row]) -> tuple[int, int, int]:
    try:
        draft = parse_rows(rows)
    except ReadFailed:
        return (0, 0, 0)
    return (int(draft.total is not None), int(draft.consistent), len(draft.lines))


def _same(a: Row, b: Row) -> bool:
    x, y = fold(a.text), fold(b.text)
    return x == y or difflib.SequenceMatcher(None, x, y).ratio() >= 0.85


def join_parts(parts: Sequence[list[Row]], photos: Sequence[bool] | None = None) -> list[Row]:
    """Concatenate the rows of several photos, dropping what two neighbours both show.

    The longest run of rows that ends one photo and starts the next (compared loosely, OCR
    varies a little between two shots) is kept once. A row cut in half at the edge of a photo
    may stand at either end of the run: it is dropped when the run behind it is longer.
    Pages of a text PDF (``photos`` False) never overlap: they are only concatenated.
    """
    joined: list[Row] = []
    for n, part in enumerate(parts):
        overlapping = photos is None or (photos[n] and n > 0 and photos[n - 1])
        if not joined or not overlapping:
            joined.extend(part)
            continue
        best = (0, 0, 0)  # rows in the run, cut rows dropped at the end of joined, at the start
        for end_cut in (0, 1):
            for start_cut in (0, 1):
                head, tail = joined[: len(joined) - end_cut], part[start_cut:]
                for k in range(min(len(head), len(tail)), 0, -1):
                    if all(_same(a, b) for a, b in zip(head[-k:], tail[:k], strict=True)):
                        # A run beside a dropped row must be longer, to be sure of it.
                        if k > best[0] and (k >= 2 or end_cut + start_cut == 0):
                            best = (k, end_cut, start_cut)
                        break
        k, end_cut, start_cut = best
        if k == 0:
            joined.extend(part)
        else:
            joined = joined[: len(joined) - end_cut] + part[start_cut + k :]
    return joined
