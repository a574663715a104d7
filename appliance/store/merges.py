"""Merged products in the projection: what a merged product's stock, codes and entries read as.

A ``product.merged`` event only sets the merged product's ``merged_into`` register (last writer
wins), so it folds the same in any order. What belongs to the merged product (lots, barcodes,
shopping entries, journal entries) keeps naming it in the events and entity states; the
projection resolves it: ``merges`` maps every merged product to the product it now reads as,
following chains (A into B, B into C: A reads as C). Two nodes merging A into B and B into A
at the same time make a cycle; the smallest id in the cycle survives, on every node alike.

Rows are re-pointed at COMMIT in the same call as the other writes, so a lot bought offline
for a product that was merged meanwhile lands on the survivor as soon as it arrives.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass


def resolve(links: Mapping[str, str]) -> dict[str, str]:
    """Map each merged product to its survivor; products on a cycle go to its smallest id."""
    result: dict[str, str] = {}
    for start in links:
        path = [start]
        seen = {start}
        current = start
        while current in links:
            current = links[current]
            if current in seen:
                cycle = path[path.index(current) :]
                current = min(cycle)
                break
            path.append(current)
            seen.add(current)
        if current != start:
            result[start] = current
    return result


@dataclass
class MergesSeen:
    """Whether any product is merged, as the writer connection last saw it (None: look).

    One per store, shared by its transactions: a transaction that joins a group commit runs
    its writes after those of the members before it, so it must see what they found.
    """

    present: bool | None = None


def refresh(c: sqlite3.Connection, merged: Mapping[str, str | None], *, known: bool | None) -> bool:
    """Re-resolve merges when a merged product changed, then re-point rows at survivors.

    ``merged``: the changed products that are merged (id -> ``merged_into``). ``known``:
    whether any product was merged before (None: look). Returns whether any is now.
    """
    if not merged and known is False:
        return False
    if known is None and not merged:
        has_table = c.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'merges'"
        ).fetchone()[0]
        if not has_table:
            return False  # a database from before merges: none can exist
    rows = c.execute("SELECT source, target FROM merges").fetchall()
    if merged:
        links = {
            row[0]: row[1]
            for row in c.execute(
                "SELECT id, json_extract(view, '$.merged_into') FROM products"
                " WHERE json_extract(view, '$.merged_into') IS NOT NULL"
            )
        }
        resolved = resolve(links)
        if resolved != dict(rows):
            c.execute("DELETE FROM merges")
            c.executemany("INSERT INTO merges VALUES (?, ?)", sorted(resolved.items()))
            # A product that no longer merges (a cycle resolved to it) is live again.
            c.execute(
                "UPDATE products SET deleted = json_extract(view, '$.deleted')"
                " WHERE json_extract(view, '$.merged_into') IS NOT NULL"
                " AND id NOT IN (SELECT source FROM merges)"
            )
            rows = list(resolved.items())
    if not rows:
        return False
    _repoint(c)
    return True


def _repoint(c: sqlite3.Connection) -> None:
    """Move whatever still names a merged product onto its survivor."""
    # Each statement matches only rows not yet re-pointed: after the first commit these are
    # reads (a merge is rare, a scan is not).
    c.execute(
        "UPDATE products SET deleted = 1 WHERE deleted = 0 AND id IN (SELECT source FROM merges)"
    )
    c.execute(
        """UPDATE lots SET product_id = m.target,
               view = json_set(lots.view, '$.product_id', m.target, '$.product_name', p.name,
                               '$.unit', p.unit)
           FROM merges m JOIN products p ON p.id = m.target
           WHERE lots.product_id = m.source"""
    )
    c.execute(
        # From the merged products' own codes (a survivor's rows are rewritten whenever it
        # changes, so rows moved over once would not last).
        """INSERT OR IGNORE INTO barcodes (code, product_id)
           SELECT j.value, m.target FROM merges m JOIN products p ON p.id = m.source,
                  json_each(p.view, '$.barcodes') j"""
    )
    c.execute("DELETE FROM barcodes WHERE product_id IN (SELECT source FROM merges)")
    c.execute(
        """UPDATE shopping SET product_id = m.target,
               view = json_set(shopping.view, '$.product_id', m.target)
           FROM merges m WHERE shopping.product_id = m.source"""
    )
