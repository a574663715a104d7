"""pygrocy2 (the Grocy client of Home Assistant's Grocy integration) against a real node process."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from pygrocy2.data_models.generic import EntityType
from pygrocy2.errors import GrocyError
from pygrocy2.grocy import Grocy

from appliance.core import grocy_ids
from tests.perf.nodeproc import NodeProcess, create_token

MILK = "4006381333931"
RICE = "5000159484695"
BUTTER = "4000417025005"


@dataclass
class Running:
    """The node process, a token for its own API, and pygrocy2 pointed at its Grocy API."""

    proc: NodeProcess
    token: str
    grocy: Grocy

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """Our own API, to set things up and to check what pygrocy2 did."""
        response = requests.request(
            method,
            self.proc.url + path,
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )
        assert response.status_code < 300, (path, response.status_code, response.text)
        return response.json() if response.content else None


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    token = create_token(data_dir)
    proc = NodeProcess(data_dir)
    asyncio.run(proc.start())
    try:
        # pygrocy builds {base}:{port}/{path}/api/ — the node's Grocy API is /grocy/api/.
        grocy = Grocy("http://127.0.0.1", token, port=proc.port, path="grocy")
        yield Running(proc, token, grocy)
    finally:
        proc.stop()


def _days(n: int) -> str:
    return (date.today() + timedelta(days=n)).isoformat()


def _seed(node: Running) -> dict[str, dict[str, Any]]:
    milk = node.call("POST", "/api/products", {"name": "Milk", "barcodes": [MILK]})
    rice = node.call("POST", "/api/products", {"name": "Rice", "barcodes": [RICE]})
    butter = node.call(
        "POST", "/api/products", {"name": "Butter", "barcodes": [BUTTER], "min_stock": 2}
    )
    node.call("POST", "/api/inventory", {"product_id": milk["id"], "amount": 2,
                                         "best_before": _days(1)})  # fmt: skip
    node.call("POST", "/api/inventory", {"product_id": rice["id"], "amount": 1,
                                         "best_before": _days(-3)})  # fmt: skip
    return {"milk": milk, "rice": rice, "butter": butter}


def test_system_calls(running: Running) -> None:
    grocy = running.grocy
    info = grocy.get_system_info()
    assert tuple(int(x) for x in info.grocy_version.split(".")) >= (4, 0, 3)
    config = grocy.get_system_config()
    assert config.currency
    assert config.enabled_features  # the FEATURE_FLAG_* that are on
    assert "FEATURE_FLAG_STOCK" in config.enabled_features
    assert "FEATURE_FLAG_CHORES" not in config.enabled_features
    assert isinstance(grocy.get_last_db_changed(), datetime)
    assert grocy.get_system_time().timestamp > 0
    # What we do not keep, listed empty as Grocy does with the feature off.
    assert grocy.chores() == []
    assert grocy.batteries() == []
    assert grocy.tasks() == []
    assert grocy.meal_plan() == []
    assert grocy.product_groups() == []


def test_wrong_key_is_refused(running: Running) -> None:
    wrong = Grocy("http://127.0.0.1", "kn_nope", port=running.proc.port, path="grocy")
    with pytest.raises(GrocyError) as caught:
        wrong.get_system_info()
    assert caught.value.status_code == 401


def test_stock_volatile_and_products(running: Running) -> None:
    seeded = _seed(running)
    grocy = running.grocy
    milk_int = grocy_ids.product_int(seeded["milk"]["id"])
    stock = {p.id: p for p in grocy.stock()}
    assert set(stock) == {milk_int, grocy_ids.product_int(seeded["rice"]["id"])}
    assert stock[milk_int].name == "Milk"
    assert stock[milk_int].available_amount == 2
    assert stock[milk_int].best_before_date.date() == date.today() + timedelta(days=1)

    due = grocy.due_products(get_details=True)
    assert [p.id for p in due] == [milk_int]
    assert due[0].barcodes == [MILK]
    overdue = grocy.overdue_products(get_details=True)
    assert [p.name for p in overdue] == ["Rice"]
    assert grocy.expired_products() == []
    missing = grocy.missing_products(get_details=True)
    assert [(p.name, p.amount_missing, p.is_partly_in_stock) for p in missing] == [
        ("Butter", 2, False)
    ]

    product = grocy.product(milk_int)
    assert (product.name, product.available_amount) == ("Milk", 2)
    assert product.default_quantity_unit_purchase.name == "piece"
    assert grocy.product_by_barcode(MILK).id == milk_int
    with pytest.raises(GrocyError) as caught:
        grocy.product_by_barcode("5000000000009")
    assert caught.value.status_code == 400

    everything = {p.name for p in grocy.all_products()}
    assert everything == {"Milk", "Rice", "Butter"}
    places = grocy.get_generic_objects_for_type(EntityType.LOCATIONS)
    assert {p["name"] for p in places} >= {"Fridge", "Pantry", "Freezer"}
    units = grocy.get_generic_objects_for_type(EntityType.QUANTITY_UNITS)
    assert [u["name"] for u in units] == ["piece"]
    codes = grocy.get_generic_objects_for_type(
        EntityType.PRODUCT_BARCODES, query_filters=[f"barcode={RICE}"]
    )
    assert [c["product_id"] for c in codes] == [grocy_ids.product_int(seeded["rice"]["id"])]


def test_add_consume_open_inventory_are_our_events(running: Running) -> None:
    seeded = _seed(running)
    grocy = running.grocy
    milk_id = seeded["milk"]["id"]
    milk_int = grocy_ids.product_int(milk_id)

    grocy.add_product(milk_int, 3, 1.19, best_before_date=datetime.now() + timedelta(days=7))
    assert running.call("GET", f"/api/products/{milk_id}")["total"] == 5.0
    grocy.consume_product(milk_int, 1)
    grocy.open_product(milk_int, 1)
    assert running.call("GET", f"/api/products/{milk_id}")["total"] == 4.0
    lots = running.call("GET", f"/api/inventory?product_id={milk_id}")["items"]
    assert sum(1 for lot in lots if lot["opened_on"]) == 1

    butter_int = grocy_ids.product_int(seeded["butter"]["id"])
    logged = grocy.add_product_by_barcode(BUTTER, 1, 2.5)
    assert (logged.id, logged.name, logged.available_amount) == (butter_int, "Butter", 1)
    assert grocy.consume_product_by_barcode(BUTTER, 1).id == butter_int
    corrected = grocy.inventory_product(milk_int, 6)
    assert (corrected.id, corrected.available_amount) == (milk_int, 6)
    rice = grocy.inventory_product_by_barcode(RICE, 4)
    assert (rice.name, rice.available_amount) == ("Rice", 4)
    assert running.call("GET", f"/api/products/{milk_id}")["total"] == 6.0

    # The Grocy app's consume is in our journal and undoable there.
    journal = running.call("GET", f"/api/journal?product_id={milk_id}")["items"]
    kinds = [entry["kind"] for entry in journal]
    assert kinds[:4] == ["recount", "open", "consume", "purchase"]
    consume = journal[2]
    running.call("POST", f"/api/journal/{consume['id']}/undo")
    assert running.call("GET", f"/api/products/{milk_id}")["total"] == 7.0

    with pytest.raises(GrocyError) as caught:
        grocy.consume_product(milk_int, 100)
    assert caught.value.status_code == 400
    with pytest.raises(GrocyError):
        grocy.consume_product_by_barcode("5000000000009", 1)


def test_shopping_list(running: Running) -> None:
    seeded = _seed(running)
    grocy = running.grocy
    milk_int = grocy_ids.product_int(seeded["milk"]["id"])
    grocy.add_product_to_shopping_list(milk_int, amount=2)
    (item,) = grocy.shopping_list(get_details=True)
    assert (item.product_id, item.amount, item.product.name) == (milk_int, 2, "Milk")
    grocy.remove_product_in_shopping_list(milk_int, amount=1)
    assert [i.amount for i in grocy.shopping_list()] == [1]
    grocy.clear_shopping_list()
    assert grocy.shopping_list() == []
    grocy.add_missing_product_to_shopping_list()
    (auto,) = grocy.shopping_list(get_details=True)
    assert (auto.product.name, auto.amount) == ("Butter", 2)
    entries = running.call("GET", "/api/shopping")["items"]
    assert [(e["product_id"], e["auto"]) for e in entries] == [(seeded["butter"]["id"], True)]
