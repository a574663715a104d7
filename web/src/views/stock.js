// Stock overview by product or by location, with search; lots due soon (the household's one
// horizon, from the node) highlighted and products below their minimum stock marked. The
// product list renders only the rows on screen, so 5,000 products stay smooth.

import { get } from "../api.js";
import {
  bestBeforeLabel, coalesce, daysUntil, h, replace,
} from "../dom.js";
import { addStockDialog, productDialog } from "../forms.js";
import { dueSoonDays } from "../household.js";
import { amount, t } from "../i18n.js";
import { picture, windowedList } from "../ui.js";

const REFRESH_TYPES = /^(inventory|product|location|settings)\./;

/** Render the stock view into `root`; `params.by` is "product" or "location". */
export function stockView(root, params) {
  const by = params.by === "location" ? "location" : "product";
  const search = h("input", {
    type: "search", id: "stock-search", placeholder: t("common.search"),
    "aria-label": t("stock.search"), value: sessionStorage.getItem("kitchen.search") || "",
    oninput: () => {
      sessionStorage.setItem("kitchen.search", search.value);
      draw();
    },
  });
  const overview = h("p", { class: "overview", id: "stock-overview", "aria-live": "polite" });
  const list = h("div", { class: "stock-list", id: "stock-list", "aria-busy": "true" });
  const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 18;
  const rows = windowedList({ class: "rows", id: "stock-rows" }, Math.round(rem * 4),
    productRow);
  replace(root,
    h("div", { class: "toolbar" },
      h("nav", { class: "segmented", "aria-label": t("tab.stock") },
        h("a", { href: "#/stock", class: by === "product" ? "active" : "", id: "by-product",
          "aria-current": by === "product" ? "page" : null }, t("stock.by_product")),
        h("a", { href: "#/stock/location", class: by === "location" ? "active" : "",
          id: "by-location", "aria-current": by === "location" ? "page" : null },
        t("stock.by_location"))),
      search,
      h("button", { type: "button", class: "big", id: "stock-add", onclick: async () => {
        if (await addStockDialog()) load();
      } }, t("stock.add")),
      h("button", { type: "button", class: "act", id: "product-new", onclick: async () => {
        const created = await productDialog();
        if (created) location.hash = `#/product/${encodeURIComponent(created.id)}`;
      } }, t("stock.new_product"))),
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
    return !q || texts.some((x) => x && String(x).toLowerCase().includes(q));
  }

  /**
   * "due soon" / "expired" for an item: the node's verdict (counts of its lots, by the
   * household's rule) when it gives one; while its clock is unset, this device's date with
   * the household's horizon.
   */
  function state(item, dateKey) {
    if (typeof item.expired === "number" && typeof item.due_soon === "number") {
      return item.expired > 0 ? "expired" : item.due_soon > 0 ? "expiring" : "";
    }
    const days = daysUntil(item[dateKey]);
    if (days == null) return "";
    return days < 0 ? "expired" : days <= dueSoonDays() ? "expiring" : "";
  }

  function draw() {
    if (!data) return;
    const dateKey = by === "product" ? "next_best_before" : "best_before";
    // Counted per product in both tabs: the same data gives the same number.
    const soon = new Set();
    const expired = new Set();
    for (const item of data) {
      const s = state(item, dateKey);
      if (s === "expired") expired.add(item.product_id);
      else if (s === "expiring") soon.add(item.product_id);
    }
    for (const p of expired) soon.delete(p);
    const low = by === "product" ? data.filter((p) => p.below_min).length : 0;
    replace(overview,
      expired.size ? h("span", { class: "badge expired-count" },
        t("stock.expired", { n: expired.size })) : null,
      soon.size ? h("span", { class: "badge expiring-count" },
        dueSoonDays() === 1 ? t("stock.expiring_day", { n: soon.size })
          : t("stock.expiring", { n: soon.size, days: dueSoonDays() })) : null,
      low ? h("span", { class: "badge min" }, t("stock.below_min", { n: low })) : null);
    if (by === "product") {
      const shown = data.filter((p) => matches(p.name, p.brand, p.category));
      if (!shown.length) replace(list, h("p", { class: "empty" }, t("stock.nothing")));
      else {
        replace(list, rows.element);
        rows.set(shown);
      }
    } else {
      replace(list, drawLocations());
    }
  }

  function productRow(p) {
    return h("li", { class: `row ${state(p, "next_best_before")} ${p.below_min ? "below-min" : ""}`,
      dataset: { productId: p.product_id } },
    h("a", { href: `#/product/${encodeURIComponent(p.product_id)}` },
      picture({ ...p, id: p.product_id }),
      h("span", { class: "name" }, p.name, p.brand ? h("small", {}, ` ${p.brand}`) : null),
      h("span", { class: "qty" }, amount(p.total, p.unit)),
      p.below_min ? h("span", { class: "badge min" }, t("stock.min",
        { amount: amount(p.min_stock, p.unit) })) : null,
      p.needs_recount ? h("span", { class: "badge warn" }, t("stock.recount")) : null,
      p.next_best_before ? h("span", { class: "bbd" }, bestBeforeLabel(p.next_best_before))
        : null));
  }

  function drawLocations() {
    const groups = new Map();
    for (const lot of data) {
      if (!matches(lot.product_name, lot.location_name, lot.batch)) continue;
      const key = lot.location_name || t("stock.no_location");
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(lot);
    }
    if (!groups.size) return h("p", { class: "empty" }, t("stock.nothing"));
    return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, lots]) =>
      h("section", { class: "location", dataset: { location: name } },
        h("h2", {}, name),
        h("ul", { class: "rows" }, lots.map((lot) =>
          h("li", { class: `row ${state(lot, "best_before")}`, dataset: { lotId: lot.id } },
            h("a", { href: `#/product/${encodeURIComponent(lot.product_id)}` },
              h("span", { class: "name" }, lot.product_name,
                lot.batch ? h("small", {}, ` ${t("stock.lot", { batch: lot.batch })}`) : null),
              h("span", { class: "qty" }, amount(lot.amount, lot.unit)),
              lot.opened_on ? h("span", { class: "badge" }, t("stock.open")) : null,
              lot.best_before ? h("span", { class: "bbd" }, bestBeforeLabel(lot.best_before))
                : null))))));
  }

  load();
  return {
    onMessage(msg) {
      if (REFRESH_TYPES.test(msg.type)) load();
    },
    refresh: load,
    destroy: () => rows.destroy(),
  };
}
