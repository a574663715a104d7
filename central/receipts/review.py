"""Reviewing a read receipt: product suggestions per line, a person's edits, and confirm.

Suggestions come first from what this household confirmed before for the same shop and
printed text (``match`` entities, learned from ``receipt.match_learned`` events that every
node folds too), then from fuzzy matching on product names (rapidfuzz);
nothing is chosen for a person. Confirm writes one ``stock.purchased`` per item line as
central's own events (``CENTRAL_ORIGIN``) with ids derived from the receipt and the line, in
the transaction that marks the receipt ``confirmed`` under its row lock: a repeated or
concurrent confirm finds it confirmed and writes nothing, so one receipt is one stock.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

import asyncpg

from appliance.core import events as ev
from appliance.core.events import Event
from appliance.core.ids import seed_location_id
from appliance.receipts.edits import LineEdit, ReceiptPatch
from appliance.receipts.ids import derived_id, line_lot_id, match_id
from central.db.store import emit_own
from central.receipts.store import VIEW_SQL, build_view

MAX_SUGGESTIONS = 3
MIN_SCORE = 55.0
_SPACE = re.compile(r"\s+")


class ReviewError(Exception):
    """A review request refused with ``status`` (404, 409, 422) and a reason."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _key(text: str | None) -> str:
    return _SPACE.sub(" ", (text or "").strip().casefold())


# --- suggestions ----------------------------------------------------------------------------


async def add_suggestions(
    db: asyncpg.Pool | asyncpg.Connection, draft: dict[str, Any]
) -> dict[str, Any]:
    """Put ``suggestions`` (best first, with a score) on every item line of a draft."""
    from rapidfuzz import fuzz, process, utils

    rows = await db.fetch(
        "SELECT id::text AS id, view->>'name' AS name FROM entities"
        " WHERE kind = 'product' AND active"
    )
    names = {r["id"]: r["name"] or "" for r in rows}
    # Learned matches are entities of the shared fold (MATCH_LEARNED events), like stock.
    learned = {
        (r["merchant"], r["text"]): r["product_id"]
        for r in await db.fetch(
            "SELECT view->>'merchant' AS merchant, view->>'text' AS text,"
            " view->>'product_id' AS product_id FROM entities WHERE kind = 'match'"
        )
    }
    merchant = _key(draft.get("merchant"))
    for line in draft.get("lines", []):
        if line.get("kind") != "item":
            line["suggestions"] = []
            continue
        found: list[dict[str, Any]] = []
        known = learned.get((merchant, _key(line.get("text"))))
        if known in names:
            found.append(
                {"product_id": known, "name": names[known], "score": 100.0, "source": "learned"}
            )
        for name, score, product_id in process.extract(
            line.get("text") or "",
            names,
            scorer=fuzz.token_set_ratio,
            processor=utils.default_process,
            limit=MAX_SUGGESTIONS + 1,
            score_cutoff=MIN_SCORE,
        ):
            if product_id != known:
                found.append(
                    {
                        "product_id": product_id,
                        "name": name,
                        "score": round(score, 1),
                        "source": "name",
                    }
                )
        line["suggestions"] = found[:MAX_SUGGESTIONS]
    return draft


# --- edits ----------------------------------------------------------------------------------


def _apply_line(line: dict[str, Any], edit: LineEdit) -> None:
    for name, value in edit.model_dump(exclude_unset=True, exclude={"index"}).items():
        if isinstance(value, uuid.UUID | Decimal | dt.date):
            value = str(value) if not isinstance(value, dt.date) else value.isoformat()
        line[name] = value


async def patch(pool: asyncpg.Pool, receipt_id: str, change: ReceiptPatch) -> dict[str, Any]:
    """Apply a person's edits to a completed receipt; return its new view."""
    async with pool.acquire() as conn, conn.transaction():
        row = await _locked(conn, receipt_id)
        if row["status"] not in ("completed", "failed"):
            raise ReviewError(
                409, f"only a completed or failed receipt can be changed (it is {row['status']})"
            )
        draft = json.loads(row["draft"]) if row["draft"] else {"lines": []}
        lines: list[dict[str, Any]] = draft.setdefault("lines", [])
        for edit in change.lines:
            if edit.index >= len(lines):
                raise ReviewError(
                    422, f"line {edit.index} does not exist (the receipt has {len(lines)})"
                )
            _apply_line(lines[edit.index], edit)
        for new in change.add_lines:
            line: dict[str, Any] = {
                "kind": new.kind,
                "quantity": None,
                "unit": None,
                "unit_price": None,
                "vat": None,
                "added": True,
            }
            _apply_line(line, new)
            line["kind"] = new.kind
            lines.append(line)
        for name in ("merchant", "total"):
            value = getattr(change, name)
            if value is not None:
                draft[name] = str(value)
        if change.date is not None:
            draft["date"] = change.date.isoformat()
        await _check_products(conn, lines)
        _recheck(draft)
        # A receipt that could not be read becomes reviewable once a person entered lines.
        status = "completed" if lines else row["status"]
        await conn.execute(
            "UPDATE receipts SET draft = $2, status = $3, revision = revision + 1,"
            " error = CASE WHEN $3 = 'completed' THEN NULL ELSE error END, updated_at = now()"
            " WHERE id = $1",
            receipt_id,
            json.dumps(draft, ensure_ascii=False),
            status,
        )
        return await _view(conn, receipt_id)


def _recheck(draft: dict[str, Any]) -> None:
    """The sum of the lines against the total, after edits (a mismatch is shown)."""
    try:
        total = sum(
            (
                Decimal(str(line["total"]))
                for line in draft["lines"]
                if line.get("total") is not None
            ),
            Decimal("0.00"),
        )
    except (InvalidOperation, KeyError):
        return
    draft["lines_sum"] = str(total)
    printed = draft.get("total")
    draft["consistent"] = printed is not None and Decimal(str(printed)) == total


async def _check_products(conn: asyncpg.Connection, lines: list[dict[str, Any]]) -> None:
    wanted = {line["product_id"] for line in lines if line.get("product_id")}
    wanted_locations = {line["location_id"] for line in lines if line.get("location_id")}
    if wanted:
        found = {
            r["id"]
            for r in await conn.fetch(
                "SELECT id::text AS id FROM entities WHERE kind = 'product' AND active"
                " AND id = ANY($1::uuid[])",
                list(wanted),
            )
        }
        if missing := sorted(wanted - found):
            raise ReviewError(422, f"no such product: {', '.join(missing)}")
    if wanted_locations:
        found = {
            r["id"]
            for r in await conn.fetch(
                "SELECT id::text AS id FROM entities WHERE kind = 'location' AND active"
                " AND id = ANY($1::uuid[])",
                list(wanted_locations),
            )
        }
        if missing := sorted(wanted_locations - found):
            raise ReviewError(422, f"no such location: {', '.join(missing)}")


# --- confirm --------------------------------------------------------------------------------


async def confirm(pool: asyncpg.Pool, receipt_id: str) -> tuple[dict[str, Any], list[Event], bool]:
    """Write the receipt's stock; return (view, new events, whether it was confirmed now)."""
    async with pool.acquire() as conn, conn.transaction():
        row = await _locked(conn, receipt_id)
        if row["status"] == "confirmed":
            return await _view(conn, receipt_id), [], False
        if row["status"] != "completed":
            raise ReviewError(
                409, f"only a completed receipt can be confirmed (it is {row['status']})"
            )
        draft = json.loads(row["draft"]) if row["draft"] else {"lines": []}
        lines = draft.get("lines", [])
        await _check_products(conn, lines)
        undecided = [
            str(i)
            for i, line in enumerate(lines)
            if line.get("kind") == "item" and not line.get("skip") and not line.get("product_id")
        ]
        if undecided:
            raise ReviewError(
                422,
                f"line(s) {', '.join(undecided)} have no product: choose one or skip the line",
            )
        units = {
            r["id"]: (r["unit"] or "piece", r["location"])
            for r in await conn.fetch(
                "SELECT id::text AS id, view->>'unit' AS unit,"
                " view->>'default_location_id' AS location FROM entities"
                " WHERE kind = 'product' AND id = ANY($1::uuid[])",
                [line["product_id"] for line in lines if line.get("product_id")],
            )
        }
        specs = []
        for index, line in enumerate(lines):
            if line.get("kind") != "item" or line.get("skip") or not line.get("product_id"):
                continue
            unit, default_location = units[line["product_id"]]
            lot: dict[str, Any] = {
                "source": "receipt",
                "location_id": line.get("location_id")
                or default_location
                or seed_location_id("pantry"),
                "note": f"receipt {draft.get('merchant') or ''} {draft.get('date') or ''}".strip(),
            }
            if line.get("total") is not None:
                lot["price"] = float(Decimal(str(line["total"])))
            if line.get("best_before"):
                lot["best_before"] = line["best_before"]
            if draft.get("date"):
                lot["purchased_on"] = draft["date"]
            specs.append(
                (
                    derived_id(receipt_id, "line", index, "event"),
                    ev.STOCK_PURCHASED,
                    line_lot_id(receipt_id, index),
                    {"product_id": line["product_id"], "amount": _amount(line, unit), "lot": lot},
                )
            )
        specs += await _shopping_done(conn, receipt_id, specs)
        specs += _learned(receipt_id, draft)
        events = await _emit(conn, specs)
        await conn.execute(
            "UPDATE receipts SET status = 'confirmed', revision = revision + 1, updated_at = now()"
            " WHERE id = $1",
            receipt_id,
        )
        return await _view(conn, receipt_id), events, True


def _amount(line: dict[str, Any], unit: str) -> float:
    """How much of the product a line adds: the person's amount, else what was printed."""
    if line.get("amount") is not None:
        return float(line["amount"])
    quantity = line.get("quantity")
    printed_unit = line.get("unit") or "piece"
    if quantity is not None and (printed_unit == unit or printed_unit == "piece"):
        return float(Decimal(str(quantity)))
    return 1.0


Spec = tuple[str, str, str, dict[str, Any]]  # event id, type, entity id, data


async def _shopping_done(
    conn: asyncpg.Connection, receipt_id: str, purchases: list[Spec]
) -> list[Spec]:
    """Tick off the open shopping-list entries of the products bought (as a purchase from
    the list does), each with the lot that satisfied it."""
    lots = {data["product_id"]: lot_id for _, _, lot_id, data in purchases}
    if not lots:
        return []
    rows = await conn.fetch(
        "SELECT id::text AS id, view->>'product_id' AS product_id FROM entities"
        " WHERE kind = 'shopping' AND active AND view->>'product_id' = ANY($1::text[])"
        " AND NOT coalesce((view->>'purchased')::boolean, false) ORDER BY id",
        list(lots),
    )
    return [
        (
            derived_id(receipt_id, "shopping", r["id"]),
            ev.SHOPPING_PURCHASED,
            r["id"],
            {"lot_id": lots[r["product_id"]]},
        )
        for r in rows
    ]


async def _emit(conn: asyncpg.Connection, specs: list[Spec]) -> list[Event]:
    """Central's own purchase events, skipping ids already stored (so the seq stays gap-free)."""
    return await emit_own(conn, specs)


def _learned(receipt_id: str, draft: dict[str, Any]) -> list[Spec]:
    """Remember which product each printed text of this shop turned out to be: one
    MATCH_LEARNED event per item line, folded on central and every node like any change.

    The match's id is the shop and text's, so a later confirm of the same text writes the
    same entity (last writer wins); the event's id is this receipt's line's, so confirming
    twice learns once.
    """
    merchant = _key(draft.get("merchant"))[:200]
    specs: list[Spec] = []
    for index, line in enumerate(draft.get("lines", [])):
        if line.get("kind") != "item" or not line.get("product_id") or line.get("skip"):
            continue
        text = _key(line.get("text"))[:200]
        fields = {"merchant": merchant, "text": text, "product_id": line["product_id"]}
        specs.append(
            (
                derived_id(receipt_id, "line", index, "match"),
                ev.MATCH_LEARNED,
                match_id(merchant, text),
                {"fields": fields},
            )
        )
    return specs


async def _locked(conn: asyncpg.Connection, receipt_id: str) -> Any:
    row = await conn.fetchrow(
        "SELECT status, draft FROM receipts WHERE id = $1 AND NOT deleted FOR UPDATE", receipt_id
    )
    if row is None:
        raise ReviewError(404, f"receipt {receipt_id} does not exist")
    return row


async def _view(conn: asyncpg.Connection, receipt_id: str) -> dict[str, Any]:
    row = await conn.fetchrow(VIEW_SQL + " WHERE r.id = $1", receipt_id)
    return build_view(row)
