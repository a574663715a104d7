"""Printing through Grocy's label-printer webhook, so receivers made for Grocy print ours.

Grocy POSTs to ``LABEL_PRINTER_WEBHOOK`` the fields ``product`` (the name), ``grocycode``
(the code to put in the DataMatrix), ``due_date`` (``"DD: 2026-12-05"``, its abbreviation
translated) when dates are tracked, ``details`` (the product) and ``stock_entry`` (the
stock row), then every ``LABEL_PRINTER_PARAMS`` entry over them; as JSON, or as form fields
(PHP's nested ``details[product][name]`` keys) when ``LABEL_PRINTER_HOOK_JSON`` is false.
brother_ql_web and similar receivers read ``product``, ``grocycode`` and ``due_date``.

Unlike Grocy, which logs a failed webhook and carries on, the node tells the person who
pressed "print": an unreachable receiver or one that answers with an error is a
``PrinterError`` (the API answers 502).
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp

from appliance.core.lotcode import lot_code
from appliance.core.stock import lot_due
from appliance.labels.config import LabelsConfig
from appliance.labels.content import LabelContent, label_text

log = logging.getLogger(__name__)


class PrinterError(Exception):
    """The label printer's webhook could not be reached or refused the label."""


def grocy_payload(
    content: LabelContent,
    lot: dict[str, Any],
    product: dict[str, Any] | None,
    config: LabelsConfig,
    language: str,
    *,
    ids: dict[str, Any] | None = None,
    grocycode: str | None = None,
) -> dict[str, Any]:
    """The body Grocy sends for a stock entry's label, for ``lot``.

    ``ids`` may give Grocy's integer ids (``product_id``, ``location_id``, ``stock_id``,
    ``entry_id``); without them the node's own ids stand in. ``grocycode`` is the code the
    receiver puts in its DataMatrix (Grocy's form; default the label's own code); the
    label's code is ``lot_code`` either way. The scanner reads both.
    """
    ids = ids or {}
    product_id = ids.get("product_id", lot.get("product_id"))
    name = content.product
    stock_entry = {
        "id": ids.get("entry_id", lot.get("id")),
        "product_id": product_id,
        "amount": lot.get("amount"),
        "best_before_date": lot_due(lot)[0],
        "purchased_date": lot.get("purchased_on"),
        "stock_id": ids.get("stock_id", lot.get("id")),
        "price": lot.get("price"),
        "open": 1 if lot.get("opened_on") else 0,
        "opened_date": lot.get("opened_on"),
        "location_id": ids.get("location_id", lot.get("location_id")),
        "note": lot.get("note"),
    }
    payload: dict[str, Any] = {
        "product": name,
        "grocycode": grocycode or content.code,
        "details": {"product": {"id": product_id, "name": name}},
        "stock_entry": stock_entry,
        # Ours on top of Grocy's: the label as the node words it, for receivers that want it.
        "amount": content.amount,
        "lot_code": lot_code(str(lot["id"])),
    }
    if product and product.get("unit"):
        payload["details"]["quantity_unit_stock"] = {"name": product["unit"]}
    due, _ = lot_due(lot)  # the use-by date when the lot has one, as the label prints
    if due:
        payload["due_date"] = f"{label_text(language, 'due')}: {due}"
    payload.update(config.params)
    return payload


def grocy_product_payload(
    product: dict[str, Any], product_int: int, config: LabelsConfig
) -> dict[str, Any]:
    """The body Grocy sends for a product's label (no lot: no amount and no due date)."""
    name = str(product.get("name") or "?")
    details: dict[str, Any] = {"product": {"id": product_int, "name": name}}
    if product.get("unit"):
        details["quantity_unit_stock"] = {"name": product["unit"]}
    payload: dict[str, Any] = {
        "product": name,
        "grocycode": f"grcy:p:{product_int}",
        "details": details,
    }
    payload.update(config.params)
    return payload


def php_form(data: dict[str, Any]) -> list[tuple[str, str]]:
    """``data`` as PHP's http_build_query writes it (Guzzle's ``form_params``).

    Nested objects become ``outer[inner]`` keys, true/false become 1/0, None is left out.
    """
    fields: list[tuple[str, str]] = []

    def add(key: str, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, dict):
            for inner, item in value.items():
                add(f"{key}[{inner}]", item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                add(f"{key}[{index}]", item)
        elif isinstance(value, bool):
            fields.append((key, "1" if value else "0"))
        else:
            fields.append((key, str(value)))

    for key, value in data.items():
        add(key, value)
    return fields


async def send(config: LabelsConfig, payload: dict[str, Any]) -> None:
    """POST ``payload`` to the configured webhook; raise ``PrinterError`` when it fails."""
    if config.webhook is None:
        raise PrinterError("no label printer is configured")
    timeout = aiohttp.ClientTimeout(total=config.timeout_seconds)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            if config.send_json:
                request = session.post(config.webhook, json=payload)
            else:
                request = session.post(config.webhook, data=php_form(payload))
            async with request as response:
                if response.status >= 400:
                    text = (await response.text(errors="replace"))[:200].strip()
                    raise PrinterError(
                        f"the label printer answered {response.status}"
                        + (f": {text}" if text else "")
                    )
    except TimeoutError:
        raise PrinterError(
            f"the label printer did not answer within {config.timeout_seconds:g} s"
        ) from None
    except aiohttp.ClientError as exc:
        raise PrinterError(f"the label printer cannot be reached: {exc}") from None
    log.info("Label %s sent to the label printer", payload.get("grocycode"))
