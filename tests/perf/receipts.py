"""Receipt reading over the development set: accuracy per kind, seconds and memory per receipt.

``python -m tests.perf.receipts --fixtures ../shared/fixtures/receipts --out
bench-results/receipts.json``. The fixtures are not part of the repository: when the folder is
absent this says so and exits 0 (it is a benchmark, not a test).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from central.receipts.draft import ReadFailed, ReceiptDraft
from central.receipts.layout import rows_from_text
from central.receipts.parse import parse_rows
from central.receipts.worker import ReceiptReader

CENT = Decimal("0.01")
PHOTO_BUDGET_S = 10.0
PHOTO_BUDGET_BYTES = 1_000_000_000


def money(value: Any) -> Decimal:
    """A ground-truth amount as cents."""
    return Decimal(str(value)).quantize(CENT)


def merchant_matches(found: str | None, expected: str | None) -> bool | None:
    """Loose: one name inside the other, ignoring case; None when nothing is expected."""
    if not expected:
        return None
    if not found:
        return False
    a, b = found.casefold(), expected.casefold()
    return a in b or b in a


def cases(root: Path) -> list[dict[str, Any]]:
    """Every receipt of the development set with what is known about it."""
    found: list[dict[str, Any]] = []
    photos = json.loads((root / "photos_ground_truth.json").read_text())["photos"]
    for name, truth in photos.items():
        found.append(
            {
                "kind": "photo",
                "name": name,
                "total": money(truth["total"]),
                "items": [money(x) for x in truth["items"]],
                "date": truth.get("date"),
                "merchant": truth.get("merchant"),
            }
        )
    ebon = json.loads((root / "rewe-ebon-parser" / "ground_truth.json").read_text())
    for name, truth in sorted(ebon.items()):
        if name.startswith("_"):
            continue
        date = truth.get("date", "")[:10] or None
        found.append(
            {
                "kind": "pdf",
                "name": f"rewe-ebon-parser/{name}",
                "total": money(truth["summe_from_pdf_text"]),
                "count": truth.get("items_count_ekotov"),
                "date": date,
                "merchant": "REWE",
            }
        )
    ereceipt = json.loads(
        (root / "rewe-ereceipt-parser" / "ground_truth_from_tests.json").read_text()
    )
    for name, truth in sorted(ereceipt.items()):
        if name.startswith("_"):
            continue
        kind = "pdf" if name.endswith(".pdf") else "text"
        stamp = truth.get("timestamp_unix")
        found.append(
            {
                "kind": kind,
                "name": f"rewe-ereceipt-parser/{name}",
                "total": money(truth["total"]) if "total" in truth else None,
                # The tests list every position of the weight receipt; the other lists are
                # partial, so only a stated count or a full list is a count.
                "count": truth.get("positions_count")
                or (len(truth["positions"]) if name == "weight_eccash.pdf" else None),
                "date": (
                    datetime.fromtimestamp(stamp, tz=UTC).date().isoformat() if stamp else None
                ),
                "merchant": "REWE",
            }
        )
    # The noisy Tesseract text of IMG0001 (SOURCES.md: same store, date and Bon-Nr.).
    found.append(
        {
            "kind": "text",
            "name": "knipknap-receiptparser/txt/sample_text_receipt.txt",
            "total": money("0.99"),
            "count": 1,
            "date": "2014-12-04",
            "merchant": "REWE",
        }
    )
    texts = root / "rewe-ebon-parser-py"
    truth_texts = json.loads((texts / "ground_truth_from_tests.json").read_text())
    for name, truth in sorted(truth_texts.items()):
        if name.startswith("_"):
            continue
        found.append(
            {
                "kind": "text",
                "name": f"rewe-ebon-parser-py/eBons_txt_anonymized/{name}",
                "total": money(truth["summe"]),
                "count": truth.get("items_count"),
                "date": None,
                "merchant": None,
                "note": truth.get("test_comment"),
            }
        )
    return found


def judge(case: dict[str, Any], draft: ReceiptDraft | None) -> dict[str, bool | None]:
    """Per measure: True, False, or None where the ground truth says nothing."""
    if draft is None:
        return {
            "total": False if case["total"] is not None else None,
            "count": False,
            "lines": False if "items" in case else None,
            "date": False if case["date"] else None,
            "merchant": False if case["merchant"] else None,
        }
    totals = [line.total for line in draft.lines]
    expected_count = len(case["items"]) if "items" in case else case.get("count")
    return {
        "total": None if case["total"] is None else draft.total == case["total"],
        "count": None if expected_count is None else len(totals) == expected_count,
        "lines": totals == case["items"] if "items" in case else None,
        "date": None if not case["date"] else draft.date == case["date"],
        "merchant": merchant_matches(draft.merchant, case["merchant"]),
    }


async def run(root: Path) -> dict[str, Any]:
    """Read every receipt through a real worker; the figures as a dict."""
    results = []
    async with ReceiptReader() as reader:
        health = await reader.health()
        for case in cases(root):
            path = root / case["name"]
            draft: ReceiptDraft | None = None
            error = None
            seconds = cpu = peak = None
            try:
                if case["kind"] == "text":
                    draft = parse_rows(rows_from_text(path.read_text()))
                else:
                    draft = await reader.read([("", path.read_bytes())])
                    seconds, peak = reader.stats.seconds, reader.stats.peak_rss
                    cpu = reader.stats.cpu_seconds
            except ReadFailed as exc:
                error = exc.reason
                if case["kind"] != "text":
                    seconds, peak = reader.stats.seconds, reader.stats.peak_rss
                    cpu = reader.stats.cpu_seconds
            verdict = judge(case, draft)
            results.append(
                {
                    "kind": case["kind"],
                    "name": case["name"],
                    "seconds": seconds,
                    "cpu_seconds": cpu,
                    "peak_rss": peak,
                    "error": error,
                    "read_total": None
                    if draft is None or draft.total is None
                    else str(draft.total),
                    "read_lines": None if draft is None else len(draft.lines),
                    "consistent": None if draft is None else draft.consistent,
                    **verdict,
                }
            )
            mark = {True: "ok", False: "NO", None: "-"}
            print(
                f"  {case['kind']:<5} {case['name']:<62} "
                + " ".join(f"{k}={mark[verdict[k]]:<2}" for k in verdict)
                + (
                    f" {seconds:5.2f} s ({cpu:5.2f} s CPU) {peak / 1e6:6.0f} MB"
                    if seconds is not None and cpu is not None and peak
                    else ""
                )
                + (f"  ({error})" if error else ""),
                flush=True,
            )
    summary: dict[str, Any] = {}
    print()
    print(
        f"  {'kind':<6} {'n':>3} "
        + " ".join(f"{k:>10}" for k in ("total", "count", "lines", "date", "merchant"))
    )
    for kind in ("photo", "pdf", "text"):
        rows = [r for r in results if r["kind"] == kind]
        if not rows:
            continue
        summary[kind] = {}
        cells = []
        for measure in ("total", "count", "lines", "date", "merchant"):
            judged = [r[measure] for r in rows if r[measure] is not None]
            ok = sum(1 for v in judged if v)
            summary[kind][measure] = {"ok": ok, "of": len(judged)}
            cells.append(f"{ok:>4}/{len(judged):<5}" if judged else f"{'-':>10}")
        print(f"  {kind:<6} {len(rows):>3} " + " ".join(cells))
    timed = [r for r in results if r["kind"] == "photo" and r["seconds"] is not None]
    if timed:
        worst_s = max(r["seconds"] for r in timed)
        worst_m = max(r["peak_rss"] for r in timed)
        median_s = sorted(r["seconds"] for r in timed)[len(timed) // 2]
        cpus = sorted(r["cpu_seconds"] for r in timed)
        summary["photo_cpu_seconds"] = {"median": cpus[len(cpus) // 2], "max": cpus[-1]}
        summary["photo_seconds"] = {"median": median_s, "max": worst_s, "budget": PHOTO_BUDGET_S}
        summary["photo_peak_rss"] = {"max": worst_m, "budget": PHOTO_BUDGET_BYTES}
        print()
        print(
            f"  photos: median {median_s:.2f} s, max {worst_s:.2f} s "
            f"(budget {PHOTO_BUDGET_S:g} s); "
            f"peak worker memory {worst_m / 1e6:.0f} MB (budget {PHOTO_BUDGET_BYTES / 1e6:.0f} MB)"
        )
        print(
            f"  photos, CPU seconds of the worker's threads: median {cpus[len(cpus) // 2]:.2f} s, "
            f"max {cpus[-1]:.2f} s (an idle machine takes about this long or less)"
        )
    return {"health": health, "summary": summary, "receipts": results, "machine": platform.node()}


def main(argv: list[str] | None = None) -> int:
    """Command line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", type=Path, default=Path("../shared/fixtures/receipts"))
    parser.add_argument("--out", type=Path, default=Path("bench-results/receipts.json"))
    args = parser.parse_args(argv)
    if not (args.fixtures / "photos_ground_truth.json").is_file():
        print(
            f"receipts bench skipped: no development set at {args.fixtures} "
            "(it is not part of the repository; pass --fixtures)"
        )
        return 0
    print(f"receipts bench over {args.fixtures}")
    # Timings depend on what else the machine runs: say so beside them.
    load_before = os.getloadavg()[0]
    report = asyncio.run(run(args.fixtures))
    report["load_average"] = {"before": load_before, "after": os.getloadavg()[0]}
    print(
        f"  load average: {load_before:.1f} before, {report['load_average']['after']:.1f} after "
        f"({os.cpu_count()} cores)"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str))
    print(f"\n  written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
