// Stock across the household: every lot of every node and location, filtered (location, node,
// product, category, due within N days, below min), sorted and searched by central, a page at
// a time (keyset cursor). Each lot carries the kitchen app's own actions (use, open, spoiled,
// move, correct, rename the product, put it on the shopping list): the same dialogs and the
// same request bodies, applied by central as its own events that every node receives.

import { write } from "../../actions.js";
import { get, post, query } from "../../api.js";
import { bestBeforeLabel, coalesce, freshnessClass, h, replace } from "../../dom.js";
import { correctDialog, fetchProduct, moveDialog, productDialog, useDialog } from "../../forms.js";
import { amount, date, t } from "../../i18n.js";
import { dialog, select } from "../../ui.js";

const FILTERS = ["q", "location", "node", "category", "product", "due_within", "below_min",
  "state", "sort", "order"];
const SORTS = ["product", "best_before", "amount", "location", "node"];
const REFRESH = /^(inventory|product|location|shopping)\./;
const PAGE = 50;
const STATES = ["expired", "overdue", "due_soon", "ok"];
// A lot's state as central judged it (one rule for every outlet) -> the kitchen app's colours.
const STATE_CLASS = { expired: "expired", overdue: "expired", due_soon: "expiring" };

/** Render the household stock list into `root`; `params` (hash query) preset the filters. */
export function stockView(root, params) {
  const wanted = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) || ""]));
  const q = h("input", { type: "search", id: "stock-q", name: "q", value: wanted.q,
    placeholder: t("common.search"), "aria-label": t("stock.search") });
  const loc = select("location", [["", t("dash.all_locations")]], wanted.location,
    { id: "filter-location", "aria-label": t("lot.location") });
  const node = select("node", [["", t("dash.all_nodes")]], wanted.node,
    { id: "filter-node", "aria-label": t("dash.node") });
  const category = select("category", [["", t("dash.all_categories")]], wanted.category,
    { id: "filter-category", "aria-label": t("product.category") });
  const due = h("input", { type: "number", min: "0", max: "3650", step: "1", id: "filter-due",
    name: "due_within", value: wanted.due_within, placeholder: t("dash.due_within"),
    "aria-label": t("dash.due_within") });
  const below = h("input", { type: "checkbox", id: "filter-below", name: "below_min" });
  below.checked = wanted.below_min === "1";
  const sort = select("sort", SORTS.map((s) => [s, t(`dash.sort_${s}`)]), wanted.sort || "product",
    { id: "stock-sort", "aria-label": t("dash.sort") });
  const order = select("order", [["asc", t("dash.asc")], ["desc", t("dash.desc")]],
    wanted.order || "asc", { id: "stock-order", "aria-label": t("dash.order") });
  const total = h("p", { class: "overview", id: "stock-total", "aria-live": "polite" });
  const body = h("tbody", { id: "stock-body" });
  const more = h("button", { type: "button", class: "act", id: "stock-more", hidden: true,
    onclick: () => loadMore() }, t("dash.more"));
  const stateNote = STATES.includes(wanted.state) ? h("p", { class: "note", id: "stock-state" },
    t(`dash.state_${wanted.state}`), " ", h("a", { href: "#/stock" }, t("dash.clear"))) : null;
  const bar = h("form", { class: "toolbar filters", id: "stock-filters", onsubmit: (e) => {
    e.preventDefault();
    apply();
  } }, q, loc, node, category, due,
  h("label", { class: "check-label", for: "filter-below" }, below, t("dash.below_min")),
  sort, order);
  for (const el of [loc, node, category, below, sort, order]) el.addEventListener("change", apply);
  let typing = null;
  for (const el of [q, due]) {
    el.addEventListener("input", () => {
      clearTimeout(typing);
      typing = setTimeout(apply, 250);
    });
  }
  replace(root, h("h1", {}, t("dash.stock")), bar, stateNote, total,
    h("table", { class: "grid stock", id: "stock" },
      h("thead", {}, h("tr", {}, ["dash.product", "lot.amount", "lot.location", "dash.node",
        "lot.best_before", "dash.actions"].map((k) => h("th", { scope: "col" }, t(k))))), body),
    more);

  /** The filters as the hash and the API see them. */
  function current() {
    return {
      q: q.value.trim(), location: loc.value, node: node.value, category: category.value,
      product: wanted.product, due_within: due.value, below_min: below.checked ? "1" : "",
      state: wanted.state, sort: sort.value, order: order.value,
    };
  }

  function apply() {
    // The filters live in the hash, so a list can be linked to and survives a reload.
    const hash = `#/stock${query(current())}`;
    if (location.hash !== hash) history.replaceState(null, "", hash);
    load();
  }

  let items = [];
  let next = null;
  async function fetchPage(cursor) {
    return get(`/api/dashboard/stock${query({ ...current(), limit: PAGE, cursor })}`);
  }

  const load = coalesce(async () => {
    let page;
    try {
      page = await fetchPage(null);
    } catch (err) {
      replace(body, h("tr", {}, h("td", { colspan: "6", class: "empty" }, err.message)));
      return;
    }
    // A live refresh keeps as many rows as were shown (up to the API's page limit).
    items = page.items || [];
    next = page.next;
    while (next && items.length < shown && items.length < 200) {
      const further = await fetchPage(next);
      items = items.concat(further.items || []);
      next = further.next;
    }
    shown = Math.max(items.length, PAGE);
    const count = page.total ?? items.length;
    total.textContent = count === 1 ? t("dash.stock_total_one") : t("dash.stock_total", { n: count });
    total.dataset.total = page.total ?? items.length;
    draw();
  });
  let shown = PAGE;

  async function loadMore() {
    if (!next) return;
    try {
      const page = await fetchPage(next);
      items = items.concat(page.items || []);
      next = page.next;
      shown = items.length;
      draw();
    } catch (err) {
      total.textContent = err.message;
    }
  }

  function draw() {
    more.hidden = !next;
    if (!items.length) {
      replace(body, h("tr", {}, h("td", { colspan: "6", class: "empty" }, t("stock.nothing"))));
      return;
    }
    replace(body, items.map((lot) => h("tr", {
      class: `lot ${lot.state ? STATE_CLASS[lot.state] || "" : freshnessClass(lot.best_before)}`,
      dataset: { lotId: lot.lot_id, productId: lot.product_id },
    },
    h("th", { scope: "row", class: "product" }, lot.product,
      lot.category ? h("small", {}, ` ${lot.category}`) : null,
      lot.opened ? h("span", { class: "badge opened" }, t("stock.open")) : null),
    h("td", { class: "qty num" }, amount(lot.amount, lot.unit)),
    h("td", { class: "location" }, lot.location || t("stock.no_location")),
    h("td", { class: "node" }, lot.node || ""),
    h("td", { class: "bbd" }, lot.use_by ? t("dash.use_by", { date: date(lot.use_by) })
      : bestBeforeLabel(lot.best_before)),
    h("td", { class: "actions" }, h("button", { type: "button", class: "act lot-actions",
      "aria-label": t("dash.actions_for", { name: lot.product }),
      onclick: () => actions(lot) }, t("dash.actions"))))));
  }

  /** The lot's menu: the kitchen app's actions, as dialogs shared with it. */
  async function actions(row) {
    const lot = { id: row.lot_id, amount: row.amount, location_id: row.location_id,
      best_before: row.best_before, opened_on: row.opened_on };
    const product = { id: row.product_id, name: row.product, unit: row.unit };
    const pick = await dialog(t("dash.actions_for", { name: row.product }), (close) =>
      h("div", { class: "action-menu" }, [
        ["use", t("lot.use")], ["open", t("lot.open")], ["spoil", t("lot.spoiled")],
        ["move", t("lot.move")], ["correct", t("lot.correct")],
        ["rename", t("dash.edit_product")], ["shopping", t("dash.to_shopping")],
      ].filter(([k]) => k !== "open" || !row.opened).map(([k, label]) =>
        h("button", { type: "button", class: `act do-${k}`, onclick: () => close(k) }, label))));
    let done = null;
    if (pick === "use") done = await useDialog(lot, product);
    else if (pick === "spoil") done = await useDialog(lot, product, true);
    else if (pick === "move") done = await moveDialog(lot, product);
    else if (pick === "correct") done = await correctDialog(lot, product);
    else if (pick === "open") {
      done = await write(() => post(`/api/inventory/${lot.id}/open`, {}), t("lot.opened"));
    } else if (pick === "rename") {
      const full = await fetchProduct(product.id).catch(() => null);
      if (full) done = await productDialog(full);
    } else if (pick === "shopping") {
      done = await write(() => post("/api/shopping", { product_id: product.id, amount: 1,
        priority: "normal" }), t("dash.added_to_shopping", { name: product.name }));
    }
    if (done) load();
  }

  async function facets() {
    try {
      const f = await get("/api/dashboard/facets");
      const fill = (el, first, list) => {
        const value = el.value || wanted[el.name];
        replace(el, h("option", { value: "" }, first), (list || []).map((o) => {
          const id = typeof o === "string" ? o : o.id ?? o.name;
          const label = typeof o === "string" ? o : o.name ?? o.id;
          return h("option", { value: id }, label);
        }));
        el.value = value;
      };
      fill(loc, t("dash.all_locations"), f.locations);
      fill(node, t("dash.all_nodes"), f.nodes);
      fill(category, t("dash.all_categories"), f.categories);
    } catch {
      // The filter menus stay with "all"; the list still works.
    }
  }

  facets();
  load();
  return {
    refresh: load,
    onMessage(msg) {
      if (REFRESH.test(msg.type)) load();
      if (msg.type.startsWith("location.")) facets();
    },
  };
}
