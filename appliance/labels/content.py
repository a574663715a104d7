"""What a lot's label says: the product, the amount, the dates and the code to scan.

Pure: built from the lot's and the product's views as the API gives them, in the node's
language (``[node] language``), so the same lot always gives the same label.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from appliance.core.lotcode import lot_code
from appliance.core.stock import lot_due

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "best_before": "Best before {date}",
        "use_by": "Use by {date}",
        "opened": "Opened {date}",
        "frozen": "Frozen {date}",
        "stored": "Stored {date}",
        "unit.piece": "pcs",
        "unit.pack": "packs",
        "due": "DD",  # Grocy's abbreviation in the webhook's due_date
    },
    "de": {
        "best_before": "MHD {date}",
        "use_by": "Verbrauchen bis {date}",
        "opened": "Geöffnet {date}",
        "frozen": "Eingefroren {date}",
        "stored": "Eingelagert {date}",
        "unit.piece": "Stk.",
        "unit.pack": "Pack.",
        "due": "MHD",
    },
}


def local_date(language: str, iso: str) -> str:
    """A date as people write it: 2027-03-15, or 15.03.2027 in German (as the display does)."""
    if language == "de" and len(iso) >= 10 and iso[4] == "-" and iso[7] == "-":
        return f"{iso[8:10]}.{iso[5:7]}.{iso[0:4]}"
    return iso


def label_text(language: str, key: str, **params: object) -> str:
    """The label text ``key`` in ``language`` (English when unknown)."""
    template = TEXTS.get(language, TEXTS["en"]).get(key, TEXTS["en"][key])
    return template.format(**params)


@dataclass(frozen=True, slots=True)
class LabelContent:
    """The lines of one label and the code its DataMatrix holds."""

    code: str  # what the DataMatrix encodes (and the small line under it says)
    product: str
    amount: str  # "500 g", "2 pcs"
    best_before: str | None  # "Best before 2026-12-05", or "Use by ..." (use-by wins)
    since: str | None  # "Opened 2026-12-01", "Frozen ...", "Stored ..."
    note: str | None


def amount_text(language: str, amount: float, unit: str) -> str:
    """A lot's amount as the label prints it: ``500 g``, ``2 pcs`` / ``1,5 kg``, ``2 Stk.``."""
    number = f"{amount:g}"
    if language == "de":
        number = number.replace(".", ",")
    shown = label_text(language, f"unit.{unit}") if unit in ("piece", "pack") else unit
    return f"{number} {shown}"


def label_content(
    lot: dict[str, Any],
    product: dict[str, Any] | None,
    language: str,
    *,
    code: str | None = None,
) -> LabelContent:
    """The label of ``lot`` (a lot view), with ``code`` (default: its ``LOT:`` code)."""
    name = str((product or {}).get("name") or lot.get("product_name") or "?")
    unit = str((product or {}).get("unit") or lot.get("unit") or "piece")
    amount = amount_text(language, float(lot.get("amount") or 0), unit)
    if lot.get("net_weight") and lot.get("net_weight_unit"):
        weight = amount_text(language, float(lot["net_weight"]), str(lot["net_weight_unit"]))
        amount = f"{amount} · {weight}"
    due, use_by = lot_due(lot)
    since = None
    for key in ("opened_on", "frozen_on", "purchased_on"):
        if lot.get(key):
            word = {"opened_on": "opened", "frozen_on": "frozen", "purchased_on": "stored"}[key]
            since = label_text(language, word, date=local_date(language, str(lot[key])))
            break
    return LabelContent(
        code=code or lot_code(str(lot["id"])),
        product=name,
        amount=amount,
        best_before=(
            label_text(
                language, "use_by" if use_by else "best_before", date=local_date(language, due)
            )
            if due
            else None
        ),
        since=since,
        note=str(lot["note"]) if lot.get("note") else None,
    )
