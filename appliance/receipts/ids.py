"""Ids derived from a receipt, the same wherever they are computed.

Central names the events and lots of a confirmed receipt with them (so a confirm that comes
twice writes nothing new), and a node finds which receipt a lot came from with them.
"""

from __future__ import annotations

import uuid

_NAMESPACE = uuid.UUID("5f0b7c1e-8d2a-4c39-9e61-3a7d2b9c4e80")


def derived_id(receipt_id: str, *parts: object) -> str:
    """An id every confirm of this receipt computes the same."""
    return str(uuid.uuid5(_NAMESPACE, ":".join(["receipt", receipt_id, *map(str, parts)])))


def line_lot_id(receipt_id: str, index: int) -> str:
    """The lot a confirmed receipt's line ``index`` became."""
    return derived_id(receipt_id, "line", index, "lot")


def match_id(merchant: str, text: str) -> str:
    """The learned match of a shop's printed text (both normalised): one per pair."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(["match", merchant, text])))


__all__ = ["derived_id", "line_lot_id", "match_id"]
