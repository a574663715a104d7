"""Scan stations: per-station modes with a household default, scans and their undo."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import orjson

from appliance.core import events as ev
from appliance.core.amounts import is_count_unit, scan_amount
from appliance.core.barcode import Scan, ScanError, parse_scan
from appliance.core.entities import LotState, ProductState, ShoppingState
from appliance.core.events import Event
from appliance.core.lotcode import label_scan_amount
from appliance.core.messages import Message
from appliance.core.modes import ScanMode
from appliance.services import catalog, inventory, shopping
from appliance.services.errors import CommandError, Conflict, Invalid, NotFound, NotInStock
from appliance.services.kitchen import Kitchen
from appliance.store import queries
from appliance.store.sql import fetch_all
from appliance.store.transaction import WriteTx

log = logging.getLogger(__name__)

DEFAULT_STATION = "kitchen"
#: Stations an owner may create by naming them (devices' and configured ones come on top).
MAX_STATIONS = 64
_OUTCOME = {
    ScanMode.ADD: "added",
    ScanMode.CONSUME: "consumed",
    ScanMode.SPOILED: "spoiled",
    ScanMode.OPEN: "opened",
    ScanMode.SHOPPING: "listed",
    ScanMode.LOOKUP: "looked_up",
}
#: Outcomes whose lot a station remembers as the one to print a label for.
_LABEL_OUTCOMES = frozenset({"added", "opened", "looked_up"})


class Stations:
    """Modes and scans of every station; implements the ``StationControl`` port."""

    def __init__(
        self,
        kitchen: Kitchen,
        *,
        default_mode: str = "add",
        revert_after_seconds: float = 0,
        revert_after_scan: bool = False,
        cycle: list[str] | None = None,
    ) -> None:
        self.kitchen = kitchen
        self.configure(
            default_mode=default_mode,
            revert_after_seconds=revert_after_seconds,
            revert_after_scan=revert_after_scan,
            cycle=cycle,
        )
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._reverts: set[asyncio.Task[None]] = set()
        self._modes: dict[str, str | None] = {}  # a station's own mode; None follows the default
        self._status: dict[str, dict[str, Any]] = {}
        # One scan at a time per station keeps its "last scan" (and so its undo) exact; scans
        # at different stations run side by side. [lock, holders and waiters]; dropped at 0.
        self._station_locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}
        # Stations known to exist: the default, configured ones, and rows seen in the table.
        self._known: set[str] = {DEFAULT_STATION}
        self.max_stations = MAX_STATIONS
        # The lot each station's last scan added, opened or showed (what "print" prints).
        self._last_lot: dict[str, str] = {}

    def configure(
        self,
        *,
        default_mode: str,
        revert_after_seconds: float,
        revert_after_scan: bool,
        cycle: list[str] | None,
    ) -> None:
        """Set the mode rules (at start, and again when the configuration is reloaded)."""
        self._config_default = ScanMode(default_mode)
        self._default: ScanMode | None = None  # read again: the stored default may be unset
        self.revert_after_seconds = revert_after_seconds
        self.revert_after_scan = revert_after_scan
        self.cycle = [ScanMode(m) for m in (cycle or ["add", "consume", "lookup"])]

    # --- which stations exist -----------------------------------------------------------------

    def register(self, station_id: str) -> None:
        """A station the configuration names (a scan box): it exists before its first scan."""
        _check_station_id(station_id)
        self._known.add(station_id)

    async def exists(self, station_id: str) -> bool:
        """Whether the station is configured, the default, or has a row (a mode, a scan)."""
        if station_id in self._known or station_id in self._status:
            return True
        rows = await fetch_all(
            self.kitchen.store.reader, "SELECT 1 FROM stations WHERE id = ?", (station_id,)
        )
        if rows:
            self._known.add(station_id)
        return bool(rows)

    async def make_room(self, station_id: str) -> None:
        """Refuse a new station past ``max_stations`` (the list must stay short)."""
        _check_station_id(station_id)
        rows = await fetch_all(self.kitchen.store.reader, "SELECT count(*) FROM stations")
        if int(rows[0][0]) >= self.max_stations:
            raise Conflict(
                f"there are {self.max_stations} stations already: scan as an existing station"
                " or as this device's own (omit station_id)"
            )

    # --- modes -------------------------------------------------------------------------------

    async def default_mode(self) -> ScanMode:
        """The household default mode."""
        if self._default is None:
            stored = await self.kitchen.store.kv_get("default_mode")
            self._default = ScanMode(stored) if stored else self._config_default
        return self._default

    async def get_mode(self, station_id: str) -> str:
        """The station's mode (its own, else the default)."""
        if station_id not in self._modes:
            rows = await fetch_all(
                self.kitchen.store.reader, "SELECT mode FROM stations WHERE id = ?", (station_id,)
            )
            self._modes[station_id] = str(rows[0][0]) if rows and rows[0][0] else None
        own = self._modes[station_id]
        return own if own is not None else str(await self.default_mode())

    async def set_mode(self, station_id: str | None, mode: str) -> str:
        """Set a station's mode, or the household default when ``station_id`` is None."""
        try:
            chosen = ScanMode(mode)
        except ValueError:
            names = ", ".join(m.value for m in ScanMode)
            raise Invalid(f"unknown mode {mode!r}; use one of {names}") from None
        default = await self.default_mode()
        if station_id is None:
            await self.kitchen.store.kv_set("default_mode", chosen.value)
            self._default = chosen
            self.kitchen.notify(
                Message(
                    "scanner.mode",
                    None,
                    {"station_id": None, "mode": chosen.value, "default": chosen.value},
                )
            )
            # Stations that follow the default now scan in the new mode: each outlet (a scan
            # box's display among them) hears its own station's effective mode, not only the
            # household's, or it goes on showing the old one.
            for follower in await self._followers():
                self.kitchen.notify(
                    Message(
                        "scanner.mode",
                        None,
                        {"station_id": follower, "mode": chosen.value, "default": chosen.value},
                    )
                )
            return chosen.value
        _check_station_id(station_id)
        # Choosing the default means following it, also when the default changes later.
        own = None if chosen == default else chosen.value
        await self._write_station(station_id, mode=own)
        self._modes[station_id] = own
        self._arm_revert(station_id, chosen, default)
        self.kitchen.notify(
            Message(
                "scanner.mode",
                None,
                {"station_id": station_id, "mode": chosen.value, "default": default.value},
            )
        )
        return chosen.value

    async def _followers(self) -> list[str]:
        """Known stations without a mode of their own (they scan in the household default)."""
        rows = await fetch_all(self.kitchen.store.reader, "SELECT id, mode FROM stations")
        own = {row[0]: row[1] for row in rows}
        own.update(self._modes)
        known = set(own) | set(self._status) | {DEFAULT_STATION}
        return sorted(s for s in known if not own.get(s))

    async def cycle_mode(self, station_id: str) -> str:
        """Step the station to the next mode of the configured cycle."""
        current = ScanMode(await self.get_mode(station_id))
        index = self.cycle.index(current) + 1 if current in self.cycle else 0
        return await self.set_mode(station_id, self.cycle[index % len(self.cycle)])

    def _arm_revert(self, station_id: str, mode: ScanMode, default: ScanMode) -> None:
        timer = self._timers.pop(station_id, None)
        if timer is not None:
            timer.cancel()
        if self.revert_after_seconds > 0 and mode != default:
            loop = asyncio.get_running_loop()
            # loop.time() is monotonic: a clock jump cannot revert early or never.
            self._timers[station_id] = loop.call_later(
                self.revert_after_seconds, self._start_revert, station_id
            )

    def _start_revert(self, station_id: str) -> None:
        self._timers.pop(station_id, None)
        task = asyncio.get_running_loop().create_task(self._revert(station_id))
        self._reverts.add(task)
        task.add_done_callback(self._reverts.discard)

    async def _revert(self, station_id: str) -> None:
        try:
            await self.set_mode(station_id, (await self.default_mode()).value)
        except Exception:
            log.exception("Could not revert station %s to the default mode", station_id)

    async def close(self) -> None:
        """Cancel pending mode reverts, including one already running."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        for task in list(self._reverts):
            task.cancel()
        await asyncio.gather(*self._reverts, return_exceptions=True)

    async def _write_station(self, station_id: str, **values: Any) -> None:
        store = self.kitchen.store
        async with store.transaction() as tx:
            await tx.conn.execute("INSERT OR IGNORE INTO stations (id) VALUES (?)", (station_id,))
            for column, value in values.items():
                await tx.conn.execute(
                    f"UPDATE stations SET {column} = ? WHERE id = ?", (value, station_id)
                )

    def set_station_status(self, station_id: str, **status: Any) -> None:
        """Hardware status shown by ``GET /api/scanner/stations``."""
        self._status.setdefault(station_id, {}).update(status)
        self.kitchen.notify(
            Message("scanner.status", None, {"station_id": station_id, **self._status[station_id]})
        )

    async def list(self) -> list[dict[str, Any]]:
        """Every known station with its mode and hardware status."""
        rows = await fetch_all(
            self.kitchen.store.reader, "SELECT id, mode, last_scan FROM stations"
        )
        default = (await self.default_mode()).value
        known = {row[0]: row for row in rows}
        result = []
        for station_id in sorted(set(known) | set(self._status) | {DEFAULT_STATION}):
            row = known.get(station_id)
            last = json.loads(row[2]) if row and row[2] else None
            result.append(
                {
                    "id": station_id,
                    "mode": (row[1] if row and row[1] else default),
                    "default": default,
                    "last_scan": None if last is None else last.get("summary"),
                    **self._status.get(station_id, {}),
                }
            )
        return result

    # --- scans -------------------------------------------------------------------------------

    @asynccontextmanager
    async def _one_at_a_time(self, station_id: str) -> AsyncIterator[None]:
        """Hold the station's lock; the lock is forgotten when nobody holds or awaits it."""
        lock, users = self._station_locks.setdefault(station_id, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._station_locks[station_id]

    async def scan(
        self,
        code: str,
        station_id: str,
        mode: str | None = None,
        *,
        allow_negative: bool = False,
        unknown: str = "create",
    ) -> dict[str, Any]:
        """Handle one raw scan and return (and broadcast) its outcome.

        ``allow_negative``: a consume of what is not in stock is recorded anyway (below zero).
        ``unknown``: ``"create"`` (the scan box: an unknown code in add mode becomes a
        placeholder product) or ``"ask"`` (a screen: the answer says what creating it needs;
        the same scan sent again once the product exists carries on with the mode).
        """
        _check_station_id(station_id)
        async with self._one_at_a_time(station_id):
            outcome = await self._scan(
                code, station_id, mode, allow_negative=allow_negative, ask=unknown == "ask"
            )
        log.info("Scan at %s: %s (%s)", station_id, outcome["message"], outcome["outcome"])
        lot = outcome.get("lot")
        if outcome["outcome"] in _LABEL_OUTCOMES and isinstance(lot, dict) and lot.get("id"):
            self._last_lot[station_id] = str(lot["id"])
        self.kitchen.notify(Message("scanner.scan", None, outcome))
        return outcome

    def last_lot(self, station_id: str) -> str | None:
        """The lot the station's last scan added, opened or looked up (for its label)."""
        return self._last_lot.get(station_id)

    async def _scan(
        self,
        code: str,
        station_id: str,
        mode_name: str | None,
        *,
        allow_negative: bool = False,
        ask: bool = False,
    ) -> dict[str, Any]:
        try:
            scan = _parse(code, self.kitchen.gs_substitute, date.today())
        except ScanError as exc:
            return _outcome("error", station_id, None, code, message=str(exc))
        if scan.kind == "mode":
            assert scan.mode is not None
            new_mode = await self.set_mode(station_id, scan.mode.value)
            return _outcome(
                "mode_changed", station_id, new_mode, scan.raw, message=f"Mode: {new_mode}"
            )
        mode = ScanMode(mode_name) if mode_name else ScanMode(await self.get_mode(station_id))
        try:
            async with self.kitchen.change() as tx:
                result = await self._act(
                    tx, scan, mode, station_id, allow_negative=allow_negative, ask=ask
                )
                own = [e.event_id for e in tx.applied]
                if own and result["outcome"] not in ("unknown", "looked_up"):
                    tx.later(
                        "INSERT INTO stations (id, last_scan) VALUES (?, ?) ON CONFLICT(id)"
                        " DO UPDATE SET last_scan = excluded.last_scan",
                        (
                            station_id,
                            orjson.dumps(
                                result.pop("_undo")
                                | {"summary": {"outcome": result["outcome"], "code": scan.raw}}
                            ).decode(),
                        ),
                    )
                result.pop("_undo", None)
        except CommandError as exc:
            outcome = _outcome("error", station_id, mode.value, scan.raw, message=exc.detail)
            if isinstance(exc, NotInStock):
                # Short for the scan box's display ("None of Tea in stock"); a screen can offer
                # to record it anyway: the same scan with allow_negative.
                short = exc.detail.split(";")[0]
                outcome["message"] = short[:1].upper() + short[1:]
                outcome["reason"] = "none_in_stock"
                outcome["in_stock"] = exc.extra.get("in_stock")
            elif "reason" in exc.extra:
                outcome["reason"] = exc.extra["reason"]
            return outcome
        if result["outcome"] == "unknown":
            unknown = _outcome(
                "unknown", station_id, mode.value, scan.raw, message=result["message"], scan=scan
            )
            unknown["create"] = result["create"]
            return unknown
        total = None
        if result.get("product"):
            product_id = result["product"]["id"]
            # As committed: from the transaction when it changed the product's stock, else read.
            result["product"] = tx.product_view(product_id) or await queries.product(
                self.kitchen.store.reader, product_id
            )
            total = result["product"]["total"] if result["product"] else None
        if self.revert_after_scan and mode != await self.default_mode() and not mode_name:
            await self.set_mode(station_id, (await self.default_mode()).value)
        return _outcome(
            result["outcome"],
            station_id,
            mode.value,
            scan.raw,
            product=result.get("product"),
            lot=result.get("lot"),
            total=total,
            message=result.get("message", ""),
            scan=scan,
        )

    async def _act(
        self,
        tx: WriteTx,
        scan: Scan,
        mode: ScanMode,
        station_id: str,
        *,
        allow_negative: bool = False,
        ask: bool = False,
    ) -> dict[str, Any]:
        assert scan.code is not None
        if scan.kind == "lot":
            assert scan.lot_id is not None
            return await _act_on_lot(tx, scan.lot_id, scan.code, mode, station_id)
        if scan.kind == "grocy":
            product_id: str | None = await _grocy_product(tx, scan)
        else:
            product_id = await catalog.product_for_scan(tx, scan.code)
        if product_id is None and (ask or mode != ScanMode.ADD):
            return {
                "outcome": "unknown",
                "message": f"No product with barcode {scan.code}",
                "create": _create_offer(scan, mode, station_id),
            }
        if product_id is None:
            product_id = await catalog.placeholder_product(tx, scan.code)
        product = await catalog.live_product(tx, product_id)
        undo: dict[str, Any] = {"events": [], "shopping": []}
        lot_view = None
        if mode == ScanMode.LOOKUP:
            return {"outcome": "looked_up", "product": {"id": product_id}, "_undo": undo}
        view = product.view()
        # One scan is one pack: a carton of milk adds its 1,000 ml, a weighed cheese its weight.
        amount = scan_amount(view["unit"], view["pack_size"], scan.net_weight, scan.net_weight_unit)
        if mode == ScanMode.ADD:
            event = await inventory.purchase(
                tx, product, amount, _lot_fields(scan), source="scan", station_id=station_id
            )
            lot_view = await _lot_view(tx, event.entity_id)
        elif mode in (ScanMode.CONSUME, ScanMode.SPOILED):
            event = await inventory.take(
                tx,
                product_id,
                amount,
                up_to_recorded=True,  # the last, half-used carton is used up, not refused
                spoiled=mode == ScanMode.SPOILED,
                batch=scan.batch,
                best_before=scan.best_before.isoformat() if scan.best_before else None,
                station_id=station_id,
                allow_negative=allow_negative,
            )
            lot_view = await _lot_view(tx, event.data["lots"][0]["lot_id"])
        elif mode == ScanMode.OPEN:
            event = await inventory.open_lot(tx, None, product_id=product_id, station_id=station_id)
            lot_view = await _lot_view(tx, event.data.get("new_lot_id") or event.data["lot_id"])
        else:
            before = await shopping.open_entry_for(tx, product_id)
            previous = None if before is None else before.view()
            entry_id, _ = await shopping.add(tx, product_id=product_id, amount=amount)
            undo["shopping"].append({"id": entry_id, "previous": previous})
        undo["events"] = [e.event_id for e in tx.applied if e.type in ev.JOURNAL_TYPES]
        undo["added"] = [e.event_id for e in tx.applied if e.type == ev.SHOPPING_ADDED]
        return {
            "outcome": _OUTCOME[mode],
            "product": {"id": product.id},
            "lot": lot_view,
            "_undo": undo,
        }

    async def undo_last_scan(self, station_id: str) -> dict[str, Any]:
        """Withdraw what the station's last scan did."""
        _check_station_id(station_id)
        async with self._one_at_a_time(station_id):
            rows = await fetch_all(
                self.kitchen.store.reader,
                "SELECT last_scan FROM stations WHERE id = ?",
                (station_id,),
            )
            if not rows or not rows[0][0]:
                return {"undone": False, "message": "Nothing to undo"}
            last = json.loads(rows[0][0])
            async with self.kitchen.change() as tx:
                for event_id in last.get("events", []):
                    if not (await tx.fetch("SELECT 1 FROM undone WHERE target = ?", (event_id,))):
                        await inventory.undo(tx, event_id, station_id=station_id)
                await _undo_shopping(tx, last)
                tx.later("UPDATE stations SET last_scan = NULL WHERE id = ?", (station_id,))
        summary = last.get("summary", {})
        result = {
            "undone": True,
            "message": f"Undid {summary.get('outcome', 'scan')}",
            "scan": summary,
        }
        self.kitchen.notify(Message("scanner.undo", None, {"station_id": station_id, **result}))
        return result


async def _grocy_product(tx: WriteTx, scan: Scan) -> str:
    """The product a Grocy product code names (its integer through the Grocy id index)."""
    if scan.grocy_stock is not None:
        raise NotFound(
            f"The Grocy label {scan.code} names stock entry {scan.grocy_stock}, which is no lot "
            "of this household (a label printed by Grocy itself?)",
            reason="unknown_lot",
        )
    rows = await tx.fetch(
        "SELECT key FROM grocy_ids WHERE kind = 'product' AND int_id = ?", (scan.grocy_product,)
    )
    if not rows:
        raise NotFound(
            f"No product has the Grocy id {scan.grocy_product} (code {scan.code})",
            reason="unknown_product",
        )
    product_id = str(rows[0][0])
    return await catalog.merged_into(tx, product_id) or product_id


async def _act_on_lot(
    tx: WriteTx, lot_id: str, code: str, mode: ScanMode, station_id: str
) -> dict[str, Any]:
    """A lot label scanned: consume, spoil or open exactly that lot, or show it.

    A lot counted in pieces that holds more than one gives one piece (one portion of a
    labelled box of six); any other lot is used or opened whole (the soup in the jar). In add
    mode the label is only shown: it names stock that is already there.
    """
    lot = await tx.get("lot", lot_id)
    if not isinstance(lot, LotState) or lot.product_id is None:
        raise NotFound(
            f"No lot with the label {code} is known here (printed on a node that has not "
            "synced it yet?)",
            reason="unknown_lot",
        )
    product_id = await catalog.merged_into(tx, lot.product_id) or lot.product_id
    product = await tx.get("product", product_id)
    # The product's view once: its name, unit and pack size (an unknown one counts pieces).
    shown = product.view() if isinstance(product, ProductState) else {}
    name = str(shown["name"]) if shown else "this lot"
    undo: dict[str, Any] = {"events": [], "shopping": []}
    lot_view = lot.view()
    if lot.removed or lot.milli <= 0:
        if mode in (ScanMode.LOOKUP, ScanMode.SHOPPING):
            pass  # showing it, or listing its product, needs no stock
        else:
            raise Conflict(f"This lot of {name} is used up", reason="lot_used_up")
    unit = shown["unit"] if shown else "piece"
    amount = label_scan_amount(str(unit), lot.milli)
    if mode in (ScanMode.CONSUME, ScanMode.SPOILED):
        await inventory.take(
            tx,
            product_id,
            "all" if amount is None else amount,
            spoiled=mode == ScanMode.SPOILED,
            lot_id=lot_id,
            station_id=station_id,
        )
    elif mode == ScanMode.OPEN:
        event = await inventory.open_lot(tx, lot_id, amount=amount, station_id=station_id)
        lot_id = event.data.get("new_lot_id") or lot_id
    elif mode == ScanMode.SHOPPING:
        before = await shopping.open_entry_for(tx, product_id)
        previous = None if before is None else before.view()
        # One pack, as the product's own barcode lists it (a carton of milk: 1,000 ml).
        entry_id, _ = await shopping.add(
            tx, product_id=product_id, amount=scan_amount(str(unit), shown.get("pack_size"))
        )
        undo["shopping"].append({"id": entry_id, "previous": previous})
    outcome = _OUTCOME[mode] if mode != ScanMode.ADD else "looked_up"
    if mode in (ScanMode.CONSUME, ScanMode.SPOILED, ScanMode.OPEN):
        lot_view = await _lot_view(tx, lot_id) or lot_view
    undo["events"] = [e.event_id for e in tx.applied if e.type in ev.JOURNAL_TYPES]
    undo["added"] = [e.event_id for e in tx.applied if e.type == ev.SHOPPING_ADDED]
    result: dict[str, Any] = {
        "outcome": outcome,
        "product": {"id": product_id},
        "lot": lot_view,
        "_undo": undo,
    }
    if mode == ScanMode.ADD:
        result["message"] = f"{name}: a labelled lot; scan it in consume or open mode to use it"
    return result


async def _undo_shopping(tx: WriteTx, last: dict[str, Any]) -> None:
    added = set(last.get("added", []))
    for change in last.get("shopping", []):
        entry = await tx.get("shopping", change["id"])
        if not isinstance(entry, ShoppingState) or not entry.present:
            continue
        previous = change.get("previous")
        if previous is None or any(tag in added for tag in entry.live_tags):
            await tx.emit(ev.SHOPPING_REMOVED, entry.id, {"tags": entry.live_tags})
        else:
            await tx.emit(
                ev.SHOPPING_UPDATED,
                entry.id,
                {"fields": {"amount": previous["amount"], "priority": previous["priority"]}},
            )


def _create_offer(scan: Scan, mode: ScanMode, station_id: str) -> dict[str, Any]:
    """What a screen needs to offer "create product" for an unknown code, and to carry on.

    ``product``: a body for ``POST /api/products`` (the code as its barcode; a net weight
    read from a GS1 code gives unit and pack size). ``enrich``: the request that asks central
    for Open Food Facts' data (it creates a placeholder the answer fills in, over the
    WebSocket as ``product.updated``). ``resume``: the scan to send again once the product
    exists, which then does what the mode meant.
    """
    assert scan.code is not None
    product: dict[str, Any] = {"name": "", "barcodes": [scan.code], "unit": "piece"}
    if scan.net_weight is not None and scan.net_weight_unit in ("kg", "g", "l", "ml"):
        grams = float(scan.net_weight) * (1000 if scan.net_weight_unit in ("kg", "l") else 1)
        product["unit"] = "g" if scan.net_weight_unit in ("kg", "g") else "ml"
        product["pack_size"] = grams
    return {
        "barcode": scan.code,
        "product": product,
        "enrich": {"method": "POST", "path": "/api/products/enrich", "barcode": scan.code},
        "resume": {
            "method": "POST",
            "path": "/api/scanner/scan",
            "body": {"code": scan.raw, "station_id": station_id, "mode": mode.value},
        },
    }


def _lot_fields(scan: Scan) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "best_before": scan.best_before.isoformat() if scan.best_before else None,
        "use_by": scan.expiry.isoformat() if scan.expiry else None,
        "batch": scan.batch,
        "serial": scan.serial,
    }
    if scan.net_weight is not None:
        fields["net_weight"] = float(scan.net_weight)
        fields["net_weight_unit"] = scan.net_weight_unit
    if scan.price is not None:
        fields["price"] = float(scan.price)
    return {k: v for k, v in fields.items() if v is not None}


async def _lot_view(tx: WriteTx, lot_id: str) -> dict[str, Any] | None:
    lot = await tx.get("lot", lot_id)
    return lot.view() if isinstance(lot, LotState) else None


# The same rule as the API's Station type (ASCII only: str.isalnum() takes any script).
_STATION_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


@functools.lru_cache(maxsize=512)
def _parse(code: str, gs_substitute: str | None, today: date) -> Scan:
    """``parse_scan``, remembered: a kitchen scans the same few hundred codes over and over.

    By day, because a GS1 date's century is read relative to today.
    """
    return parse_scan(code, gs_substitute=gs_substitute)


def _check_station_id(station_id: str) -> None:
    if not _STATION_ID.fullmatch(station_id):
        raise Invalid("station_id must be 1-64 letters, digits, '-', '_' or '.'")


def _outcome(
    outcome: str,
    station_id: str,
    mode: str | None,
    code: str,
    *,
    product: dict[str, Any] | None = None,
    lot: dict[str, Any] | None = None,
    total: float | None = None,
    message: str = "",
    scan: Scan | None = None,
) -> dict[str, Any]:
    return {
        "outcome": outcome,
        "station_id": station_id,
        "mode": mode,
        "code": code,
        "product": product,
        "lot": lot,
        "total": total,
        "message": message or _message(outcome, product, total),
        "scan": scan.to_dict() if scan is not None else None,
    }


def _message(outcome: str, product: dict[str, Any] | None, total: float | None) -> str:
    name = product["name"] if product else "?"
    verbs = {
        "added": "Added",
        "consumed": "Consumed",
        "spoiled": "Spoiled",
        "opened": "Opened",
        "listed": "On the list:",
        "looked_up": "",
    }
    verb = verbs.get(outcome, outcome)
    unit = (product or {}).get("unit")
    shown = "" if is_count_unit(unit) else f" {unit}"  # "1000 ml", but "3" eggs
    stock = f" ({total:g}{shown} in stock)" if total is not None else ""
    return f"{verb} {name}{stock}".strip()


__all__ = ["Event", "ProductState", "Stations"]
