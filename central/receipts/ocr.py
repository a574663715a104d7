"""Photos into rows: decoding, orientation, shrinking, and RapidOCR with its bundled models.

Runs in the receipt worker process only (it loads ONNX models and is CPU-bound). RapidOCR 3.x
ships PP-OCRv6 small models inside its wheel; nothing is downloaded at run time.
"""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING, Any

from central.receipts.draft import ReadFailed
from central.receipts.layout import Row, group_rows

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

log = logging.getLogger(__name__)

# Receipt text stays legible at this width; wider images only cost time and memory.
TARGET_WIDTH = 800


class OcrEngine:
    """RapidOCR loaded once, tuned for a small machine (two threads, one crop at a time)."""

    def __init__(self, threads: int = 2) -> None:
        from rapidocr import RapidOCR

        self._engine = RapidOCR(
            params={
                "Global.log_level": "warning",
                "Rec.rec_batch_num": 1,
                "EngineConfig.onnxruntime.intra_op_num_threads": threads,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            }
        )

    def boxes(self, image: np.ndarray) -> list[tuple[list[tuple[float, float]], str]]:
        """Text boxes (four corners) and their text, for a BGR image."""
        # Flags passed each time: RapidOCR keeps the last call's flags as its settings.
        result: Any = self._engine(image, use_det=True, use_cls=True, use_rec=True)
        if result.boxes is None or result.txts is None:
            return []
        return [
            ([(float(x), float(y)) for x, y in box], str(text))
            for box, text in zip(result.boxes, result.txts, strict=False)
        ]

    def detect(self, image: np.ndarray) -> list[list[tuple[float, float]]]:
        """Where text is (boxes only, no recognition: a fraction of the time)."""
        result: Any = self._engine(image, use_det=True, use_cls=False, use_rec=False)
        if result.boxes is None:
            return []
        return [[(float(x), float(y)) for x, y in box] for box in result.boxes]

    def rows(self, image: Image.Image) -> list[Row]:
        """The printed rows of an upright-ish receipt photo."""
        return group_rows(self.boxes(to_bgr(image)))


def _heif_opener() -> None:
    try:
        import pillow_heif
    except ImportError as exc:
        raise ReadFailed(
            "HEIC photos cannot be read here (pillow-heif is not installed): "
            "send a JPEG or set the camera to 'Most compatible'"
        ) from exc
    pillow_heif.register_heif_opener()


def load_image(data: bytes, kind: str) -> Image.Image:
    """Decode a photo, turned upright by its EXIF orientation, as RGB."""
    from PIL import Image, ImageOps

    if kind == "heic":
        _heif_opener()
    try:
        with Image.open(io.BytesIO(data)) as raw:
            raw.load()
            upright = ImageOps.exif_transpose(raw)
            return upright.convert("RGB")
    except ReadFailed:
        raise
    except Exception as exc:  # a decoder error of any kind means a damaged file
        raise ReadFailed(f"the image could not be decoded: {exc}") from exc


def shrink(image: Image.Image, width: int = TARGET_WIDTH) -> Image.Image:
    """At most ``width`` pixels wide, by area averaging (what keeps thin print legible)."""
    if image.width <= width:
        return image
    import cv2
    import numpy as np

    height = max(1, round(image.height * width / image.width))
    from PIL import Image as PILImage

    small = cv2.resize(np.asarray(image), (width, height), interpolation=cv2.INTER_AREA)
    return PILImage.fromarray(small)


def to_bgr(image: Image.Image) -> np.ndarray:
    """The array layout OpenCV and RapidOCR expect."""
    import numpy as np

    rgb = np.asarray(image.convert("RGB"))
    return np.ascontiguousarray(rgb[:, :, ::-1])
