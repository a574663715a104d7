"""A receipt reader with the interface of ``central.receipts.worker.ReceiptReader`` whose
answers a test chooses (the real one is tested with real OCR in tests/receipts)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from central.receipts.draft import ReadFailed, ReceiptDraft, ReceiptLine


def draft(total: str = "3.48") -> ReceiptDraft:
    """A small consistent draft."""
    lines = [
        ReceiptLine("item", "BIO VOLLMILCH 3,8%", total=Decimal("1.19"), vat="B"),
        ReceiptLine(
            "item",
            "BANANEN",
            quantity=Decimal("1.53"),
            unit="kg",
            unit_price=Decimal("1.49"),
            total=Decimal("2.29"),
        ),
    ]
    return ReceiptDraft(
        merchant="REWE", date="2026-11-28", total=Decimal(total), lines=lines
    ).check()


class ScriptedReader:
    """Returns ``draft()``; ``gate`` holds each read until set; ``fail`` raises per call.

    ``fail`` items: an exception instance to raise on that call, or None to read normally.
    """

    def __init__(
        self,
        *,
        gate: asyncio.Event | None = None,
        fail: list[BaseException | None] | None = None,
        health: str = "ok",
    ) -> None:
        self.gate = gate
        self.fail = list(fail or [])
        self.state = health
        self.calls: list[list[tuple[str, bytes]]] = []
        self.started = asyncio.Event()
        self.closed = False

    async def start(self) -> None:
        """Nothing to load."""

    async def health(self) -> str:
        """What the test set."""
        return self.state

    async def read(self, files: list[tuple[str, bytes]]) -> ReceiptDraft:
        """Record the call, wait for the gate, then answer as scripted."""
        self.calls.append(files)
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            outcome = self.fail.pop(0)
            if outcome is not None:
                raise outcome
        return draft()

    async def close(self) -> None:
        """Note it."""
        self.closed = True


__all__ = ["ReadFailed", "ScriptedReader", "draft"]
