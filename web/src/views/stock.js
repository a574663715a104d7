// Stock overview by product or by location, with search; lots expiring soon (judged by this
// device's date) highlighted and products below their minimum stock marked.

import { get } from "../api.js";
import {
  SOON_DAYS, amount, bestBeforeLabel, coalesce, daysUntil, freshnessClass, h, replace,
} from "../dom.js";

const REFRESH_TYPES = /^(inventory|product|location)\./;

/** Render the stock view into `root`; `params.by` is "product" or "location". */
export function stockView(root, params) {
  const by = params.by === "location" ? "location" : "product";
  const search = h("input", {
    type: "search", id: "stock-search", placeholder: "Search", "aria-label": "Search stock",
    value: sessionStorage.getItem("kitchen.search") || "",
    oninput: () => {
      sessionStorage.setItem("kitchen.search", search.value);
      draw();
    },
  });
  const overview = h("p", { class: "overview", id: "stock-overview" });
  const list = h("div", { class: "stock-list", id: "stock-list", "aria-busy": "true" });
  replace(root,
    h("div", { class: "toolbar" },
      h("nav", { class: "segmented" },
        h("a", { href: "#/stock", class: by === "product" ? "active" : "", id: "by-product" },
          "By product"),
        h("a", { href: "#/stock/location", class: by === "location" ? "active" : "",
          id: "by-location" }, "By location")),
      search),
    overview, list);

  let data = null;

  const load = coalesce(async () => {
    try {
      data = by === "product"
        ? (await get("/api/inventory/summary")).items
        : (await get("/api/inventory?limit=5000")).items;
    } catch (err) {
      if (!data) replace(list, h("p", { class: "empty" }, err.message));
      return;
    }
    list.setAttribute("aria-busy", "false");
    draw();
  });

  function matches(...texts) {
    const q = search.value.trim().toLowerCase();
    return !q || texts.some((t) => t && String(t).toLowerCase().includes(q));
  }

  function draw() {
    if (!data) return;
    const dates = by === "product" ? data.map((p) => p.next_best_before)
      : data.map((lot) => lot.best_before);
    const days = dates.map(daysUntil).filter((n) => n != null);
    const soon = days.filter((n) => n >= 0 && n <= SOON_DAYS).length;
    const expired = days.filter((n) => n < 0).length;
    const low = by === "product" ? data.filter((p) => p.below_min).length : 0;
    replace(overview,
      expired ? h("span", { class: "badge expired-count" }, `${expired} expired`) : null,
      soon ? h("span", { class: "badge expiring-count" },
        `${soon} expiring within ${SOON_DAYS} days`) : null,
      low ? h("span", { class: "badge min" }, `${low} below minimum`) : null);
    replace(list, by === "product" ? drawProducts() : drawLocations());
  }

  function drawProducts() {
    const rows = data.filter((p) => matches(p.name, p.brand, p.category));
    if (!rows.length) return h("p", { class: "empty" }, "Nothing in stock matches.");
    return h("ul", { class: "rows" }, rows.map((p) =>
      h("li", { class: `row ${freshnessClass(p.next_best_before)} ${p.below_min ? "below-min" : ""}`,
        dataset: { productId: p.product_id } },
        h("a", { href: `#/product/${encodeURIComponent(p.product_id)}` },
          h("span", { class: "name" }, p.name, p.brand ? h("small", {}, ` ${p.brand}`) : null),
          h("span", { class: "qty" }, amount(p.total, p.unit)),
          p.below_min ? h("span", { class: "badge min" }, `min ${amount(p.min_stock, p.unit)}`)
            : null,
          p.needs_recount ? h("span", { class: "badge" }, "recount") : null,
          p.next_best_before ? h("span", { class: "bbd" }, bestBeforeLabel(p.next_best_before))
            : null))));
  }

  function drawLocations() {
    const groups = new Map();
    for (const lot of data) {
      if (!matches(lot.product_name, lot.location_name, lot.batch)) continue;
      const key = lot.location_name || "No location";
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(lot);
    }
    if (!groups.size) return h("p", { class: "empty" }, "Nothing in stock matches.");
    return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, lots]) =>
      h("section", { class: "location", dataset: { location: name } },
        h("h2", {}, name),
        h("ul", { class: "rows" }, lots.map((lot) =>
          h("li", { class: `row ${freshnessClass(lot.best_before)}`, dataset: { lotId: lot.id } },
            h("a", { href: `#/product/${encodeURIComponent(lot.product_id)}` },
              h("span", { class: "name" }, lot.product_name,
                lot.batch ? h("small", {}, ` lot ${lot.batch}`) : null),
              h("span", { class: "qty" }, amount(lot.amount, lot.unit)),
              lot.opened_on ? h("span", { class: "badge" }, "open") : null,
              lot.best_before ? h("span", { class: "bbd" }, bestBeforeLabel(lot.best_before))
                : null))))));
  }

  load();
  return {
    onMessage(msg) {
      if (REFRESH_TYPES.test(msg.type)) load();
    },
    refresh: load,
  };
}
