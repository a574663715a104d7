// The household's journal: every stock change, newest first, filtered by product, station
// and kind, each with Undo (struck through once undone).

import { undoEntry } from "../actions.js";
import { get, query } from "../api.js";
import { coalesce, h, replace } from "../dom.js";
import { amount, dateTime, t } from "../i18n.js";
import { field, productSearch, select } from "../ui.js";

export const KINDS = ["purchase", "consume", "spoil", "open", "transfer", "recount", "remove"];

/** What a journal kind is called ("Added", "Used", ...). */
export function kindLabel(kind) {
  const labels = {
    purchase: t("journal.purchase"), consume: t("journal.consume"), spoil: t("journal.spoil"),
    open: t("journal.open"), transfer: t("journal.transfer"), recount: t("journal.recount"),
    remove: t("journal.remove"), correct: t("journal.correct"),
  };
  return labels[kind] || kind;
}

/** One journal line with Undo; `withProduct` names the product (the household view). */
export function journalLine(e, unit, reload, withProduct = true) {
  const who = e.station_name || e.device_name || e.station_id;
  return h("li", { class: `entry kind-${e.kind} ${e.undone ? "undone" : ""}`,
    dataset: { entryId: e.id, kind: e.kind } },
  h("span", { class: "when" }, dateTime(e.timestamp)),
  h("span", { class: "what" }, `${kindLabel(e.kind)} `,
    e.amount != null ? amount(Math.abs(e.amount), e.unit || unit) : "",
    withProduct && e.product_name ? ` ${e.product_name}` : "",
    who ? h("small", {}, ` ${t("journal.at", { station: who })}`) : null),
  e.undone ? h("span", { class: "badge" }, t("journal.undone"))
    : h("button", { type: "button", class: "act undo", onclick: async () => {
      await undoEntry(e.id);
      reload();
    } }, t("common.undo")));
}

/** Render the household journal into `root`. */
export function historyView(root) {
  let productId = null;
  const kind = select("kind", [["", t("history.all")], ...KINDS.map((k) => [k, kindLabel(k)])],
    "", { id: "history-kind" });
  const station = select("station", [["", t("history.all")]], "", { id: "history-station" });
  const chosen = h("button", { type: "button", class: "act chip", id: "history-product-clear",
    hidden: true, onclick: () => {
      productId = null;
      chosen.hidden = true;
      search.input.value = "";
      load();
    } });
  const search = productSearch(t("history.product"), (p) => {
    productId = p.id;
    search.input.value = "";
    search.querySelector(".picks").replaceChildren();
    chosen.textContent = `${p.name} ✕`;
    chosen.hidden = false;
    load();
  });
  kind.addEventListener("change", () => load());
  station.addEventListener("change", () => load());
  const list = h("ol", { class: "journal", id: "history-list", "aria-live": "polite" });
  replace(root, h("h1", {}, t("history.title")),
    h("div", { class: "filters" }, search, chosen, field(t("history.kind"), kind),
      field(t("history.station"), station)),
    list);

  async function loadStations() {
    try {
      const { items } = await get("/api/scanner/stations");
      const current = station.value;
      replace(station, h("option", { value: "" }, t("history.all")),
        items.map((s) => h("option", { value: s.id, selected: s.id === current },
          s.name || s.id)));
    } catch {
      // The filter still works on what the journal itself names.
    }
  }

  // Journal entries name the product, not its unit: the units come from the product list.
  let units = new Map();
  async function loadUnits() {
    try {
      const { items } = await get("/api/products?limit=5000");
      units = new Map(items.map((p) => [p.id, p.unit]));
    } catch {
      // Amounts then show without their unit.
    }
  }

  const load = coalesce(async () => {
    let items;
    try {
      [items] = await Promise.all([get("/api/journal" + query({ product_id: productId,
        kind: kind.value, station_id: station.value, limit: 200 })).then((r) => r.items),
      units.size ? null : loadUnits()]);
    } catch (err) {
      replace(list, h("li", { class: "empty" }, err.message));
      return;
    }
    replace(list, items.length ? items.map((e) => journalLine(e, units.get(e.product_id), load))
      : h("li", { class: "empty" }, t("history.empty")));
  });

  loadStations();
  load();
  return {
    onMessage(msg) {
      if (/^product\./.test(msg.type)) units = new Map();
      if (/^(inventory|product)\./.test(msg.type) || msg.type === "scanner.undo") load();
    },
    refresh: load,
  };
}
