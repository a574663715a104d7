"""Fixtures of the receipt-reading tests: one OCR engine for the whole session."""

from __future__ import annotations

import pytest

from central.receipts.ocr import OcrEngine
from central.receipts.read import Reading
from tests.fakes.leaks import no_leaks

__all__ = ["no_leaks"]


@pytest.fixture(scope="session")
def engine() -> OcrEngine:
    """RapidOCR with its bundled models, loaded once (it takes about a second)."""
    return OcrEngine()


@pytest.fixture
def reading(engine: OcrEngine) -> Reading:
    """The reading pipeline on the shared engine, in the test process."""
    return Reading(engine_factory=lambda: engine)
