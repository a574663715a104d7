"""Scan modes: what a scan does at a station."""

from __future__ import annotations

from enum import StrEnum


class ScanMode(StrEnum):
    """The action a station applies to a product scan."""

    ADD = "add"
    CONSUME = "consume"
    LOOKUP = "lookup"
    OPEN = "open"
    SPOILED = "spoiled"
    SHOPPING = "shopping"


ALL_MODES: tuple[ScanMode, ...] = tuple(ScanMode)
