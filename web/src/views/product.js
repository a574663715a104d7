// Product detail: its lots with best-before dates and actions, its journal with undo.

import { get, post, query } from "../api.js";
import { h, replace, amount, freshnessClass, bestBeforeLabel } from "../dom.js";

const REFRESH_TYPES = /^(inventory|product)\./;

/** Render the detail of product `params.id` into `root`. */
export function productView(root, params) {
  const id = params.id;
  const title = h("h1", { id: "product-name" }, "…");
  const summary = h("p", { class: "summary" });
  const lots = h("ul", { class: "rows lots", id: "lots" });
  const journal = h("ol", { class: "journal", id: "journal" });
  replace(root, h("a", { href: "#/stock", class: "back" }, "‹ Stock"), title, summary,
    h("h2", {}, "Lots"), lots, h("h2", {}, "History"), journal);

  async function act(path, body) {
    try {
      await post(path, body);
    } catch (err) {
      alert(err.message);
    }
    load();
  }

  async function load() {
    const [inv, log, sum] = await Promise.allSettled([
      get("/api/inventory" + query({ product_id: id, limit: 500 })),
      get("/api/journal" + query({ product_id: id })),
      get("/api/inventory/summary"),
    ]);
    const item = sum.status === "fulfilled" ? sum.value.items.find((p) => p.product_id === id)
      : null;
    const lotItems = inv.status === "fulfilled" ? inv.value.items : [];
    const entries = log.status === "fulfilled" ? log.value.items : [];
    title.textContent = (item && item.name) || (lotItems[0] && lotItems[0].product_name)
      || (entries[0] && entries[0].product_name) || "Product";
    replace(summary, item ? [
      `In stock: ${amount(item.total, item.unit)}`,
      item.below_min ? h("span", { class: "badge min" }, `below min ${amount(item.min_stock, item.unit)}`)
        : null,
    ] : null);
    replace(lots, lotItems.length ? lotItems.map((lot) =>
      h("li", { class: `row ${freshnessClass(lot.best_before)}`, dataset: { lotId: lot.id } },
        h("span", { class: "name" }, lot.location_name || "", lot.batch ? h("small", {}, ` lot ${lot.batch}`) : null),
        h("span", { class: "qty" }, amount(lot.amount, lot.unit)),
        lot.best_before ? h("span", { class: "bbd" }, bestBeforeLabel(lot.best_before)) : null,
        lot.opened_on ? h("span", { class: "badge" }, `opened ${lot.opened_on}`) : null,
        h("span", { class: "actions" },
          h("button", { type: "button", class: "act", onclick: () =>
            act(`/api/inventory/${lot.id}/consume`, { amount: 1 }) }, "Use 1"),
          lot.opened_on ? null : h("button", { type: "button", class: "act", onclick: () =>
            act(`/api/inventory/${lot.id}/open`, {}) }, "Open"))))
      : h("li", { class: "empty" }, "No stock."));
    replace(journal, entries.map((e) =>
      h("li", { class: `entry kind-${e.kind} ${e.undone ? "undone" : ""}`, dataset: { entryId: e.id } },
        h("span", { class: "when" }, (e.timestamp || "").replace("T", " ").slice(0, 16)),
        h("span", { class: "what" }, `${e.kind} ${amount(e.amount)}`),
        e.station_id ? h("small", {}, ` at ${e.station_id}`) : null,
        e.undone ? h("span", { class: "badge" }, "undone")
          : h("button", { type: "button", class: "act undo", onclick: () =>
            act(`/api/journal/${e.id}/undo`, {}) }, "Undo"))));
  }

  load();
  return {
    onMessage(msg) {
      if (REFRESH_TYPES.test(msg.type)) load();
    },
    refresh: load,
  };
}
