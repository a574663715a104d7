// Product detail: its lots with best-before dates and actions, its journal with undo.

import { ApiError, get, post, query } from "../api.js";
import {
  amount, bestBeforeLabel, coalesce, freshnessClass, h, replace, toast,
} from "../dom.js";

const KIND_LABEL = {
  purchase: "Added", consume: "Used", spoil: "Spoiled", open: "Opened", transfer: "Moved",
  recount: "Recounted", remove: "Removed",
};

/** Render the detail of product `params.id` into `root`. */
export function productView(root, params) {
  const id = params.id;
  const title = h("h1", { id: "product-name" }, "…");
  const summary = h("p", { class: "summary", id: "product-summary" });
  const lots = h("ul", { class: "rows lots", id: "lots" });
  const journal = h("ol", { class: "journal", id: "journal" });
  replace(root, h("a", { href: "#/stock", class: "back" }, "‹ Stock"), title, summary,
    h("h2", {}, "Lots"), lots, h("h2", {}, "History"), journal);

  async function act(path, body, done) {
    try {
      await post(path, body);
      if (done) toast(done, "ok");
    } catch (err) {
      toast(err.message);
    }
    load();
  }

  function drawSummary(product) {
    const below = product.min_stock != null && product.total < product.min_stock;
    replace(summary,
      h("span", { class: "total" }, `In stock: ${amount(product.total, product.unit)}`),
      product.brand ? h("span", { class: "brand" }, ` · ${product.brand}`) : null,
      below ? h("span", { class: "badge min" }, `below min ${amount(product.min_stock, product.unit)}`)
        : null,
      product.barcodes && product.barcodes.length
        ? h("small", { class: "barcodes" }, ` ${product.barcodes.join(", ")}`) : null);
  }

  function drawLots(items, unit) {
    replace(lots, items.length ? items.map((lot) =>
      h("li", { class: `row ${freshnessClass(lot.best_before)}`, dataset: { lotId: lot.id } },
        h("span", { class: "name" }, lot.location_name || "No location",
          lot.batch ? h("small", {}, ` lot ${lot.batch}`) : null),
        h("span", { class: "qty" }, amount(lot.amount, unit)),
        lot.best_before ? h("span", { class: "bbd" }, bestBeforeLabel(lot.best_before)) : null,
        lot.opened_on ? h("span", { class: "badge" }, `opened ${lot.opened_on}`) : null,
        h("span", { class: "actions" },
          h("button", { type: "button", class: "act consume", onclick: () =>
            act(`/api/inventory/${lot.id}/consume`, { amount: 1 }, "Used 1") }, "Use 1"),
          lot.opened_on ? null : h("button", { type: "button", class: "act open", onclick: () =>
            act(`/api/inventory/${lot.id}/open`, {}, "Opened") }, "Open"))))
      : h("li", { class: "empty" }, "No stock."));
  }

  function drawJournal(entries, unit) {
    replace(journal, entries.length ? entries.map((e) =>
      h("li", { class: `entry kind-${e.kind} ${e.undone ? "undone" : ""}`,
        dataset: { entryId: e.id, kind: e.kind } },
        h("span", { class: "when" }, (e.timestamp || "").replace("T", " ").slice(0, 16)),
        h("span", { class: "what" }, `${KIND_LABEL[e.kind] || e.kind} `,
          e.amount != null ? amount(Math.abs(e.amount), unit) : "",
          e.station_id ? h("small", {}, ` at ${e.station_id}`) : null),
        e.undone ? h("span", { class: "badge" }, "undone")
          : h("button", { type: "button", class: "act undo", onclick: () =>
            act(`/api/journal/${e.id}/undo`, {}, "Undone") }, "Undo")))
      : h("li", { class: "empty" }, "No changes yet."));
  }

  const load = coalesce(async () => {
    let product;
    try {
      product = await get(`/api/products/${encodeURIComponent(id)}`);
    } catch (err) {
      title.textContent = err instanceof ApiError && err.status === 404
        ? "This product no longer exists" : "Product";
      replace(summary, err.message);
      return;
    }
    const [inv, log] = await Promise.allSettled([
      get("/api/inventory" + query({ product_id: id, limit: 500 })),
      get("/api/journal" + query({ product_id: id, limit: 50 })),
    ]);
    title.textContent = product.name;
    drawSummary(product);
    if (inv.status === "fulfilled") drawLots(inv.value.items, product.unit);
    if (log.status === "fulfilled") drawJournal(log.value.items, product.unit);
  });

  load();
  return {
    onMessage(msg) {
      const data = msg.data || {};
      if (/^inventory\./.test(msg.type) && data.product_id === id) load();
      else if (/^product\./.test(msg.type) && msg.entity_id === id) load();
    },
    refresh: load,
  };
}
