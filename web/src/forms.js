// The management dialogs: a product's fields (create or edit), adding stock by hand, using,
// moving and correcting a lot, and recounting a product.

import { consume, write } from "./actions.js";
import { get, patch, post } from "./api.js";
import { amount, isCountUnit, t } from "./i18n.js";
import { h, toast } from "./dom.js";
import {
  amountField, dateInput, field, formDialog, locationSelect, locations, numberInput,
  productSearch, select, textInput,
} from "./ui.js";

export const UNITS = ["piece", "g", "kg", "ml", "l", "pack"];

// Product fields the form edits: [name, label key, kind]. Fields the node does not know yet
// are only sent when changed, so an older node still takes the rest.
const PRODUCT_FIELDS = [
  ["name", "product.name", "text"],
  ["brand", "product.brand", "text"],
  ["pack_size", "product.pack_size", "number"],
  ["unit", "product.unit", "unit"],
  ["category", "product.category", "text"],
  ["min_stock", "product.min_stock", "number"],
  ["default_location_id", "product.default_location", "location"],
  ["default_best_before_days", "product.bbd_days", "days"],
  ["default_best_before_days_after_opening", "product.bbd_days_opened", "days"],
  ["default_best_before_days_after_freezing", "product.bbd_days_frozen", "days"],
  ["notes", "product.notes", "textarea"],
];

function valueOf(form, name, kind) {
  const el = form.elements[name];
  if (!el) return undefined;
  const raw = el.value.trim();
  if (kind === "number" || kind === "days") {
    if (raw === "") return null;
    return kind === "days" ? Math.round(Number(raw)) : Number(raw);
  }
  return raw === "" ? null : raw;
}

// What Open Food Facts can fill into a new product (its `unit` is the pack's content, not
// the unit stock is counted in, so it only explains the pack size).
const OFF_FIELDS = ["name", "brand", "pack_size", "category"];

/**
 * Create (no `product`) or edit a product in a dialog; `prefill` seeds a new one (barcode,
 * what the scan knew). `lookup`, a promise of Open Food Facts' fields (or null), fills the
 * still empty fields the person has not touched when it arrives: the dialog never waits for
 * it. Resolves with the node's product, or undefined.
 */
export async function productDialog(product = null, prefill = {}, lookup = null) {
  const where = await locations().catch(() => []);
  const start = { unit: "piece", ...prefill, ...(product || {}) };
  const inputs = {};
  const touched = new Set();
  const controls = PRODUCT_FIELDS.map(([name, label, kind]) => {
    let control;
    if (kind === "unit") {
      control = select(name, UNITS.map((u) => [u, t(`unit.${u}`)]), start.unit);
    } else if (kind === "location") {
      control = locationSelect(name, where, start.default_location_id);
    } else if (kind === "textarea") {
      control = h("textarea", { name, rows: "3" });
      control.value = start[name] ?? "";
    } else if (kind === "text") {
      control = textInput(name, start[name], name === "name" ? { required: true,
        maxlength: "200" } : { maxlength: "200" });
    } else {
      control = numberInput(name, start[name], kind === "days" ? { step: "1" } : {});
    }
    inputs[name] = control;
    control.addEventListener("input", () => touched.add(name));
    control.addEventListener("change", () => touched.add(name));
    return field(t(label), control);
  });
  const offNote = !product && lookup
    ? h("p", { class: "hint off-note", id: "off-note", role: "status", "aria-live": "polite" })
    : null;
  if (offNote) {
    lookup.then((off) => fillFromOff(off, inputs, touched, offNote)).catch(() => {});
  }
  const barcode = !product && prefill.barcode
    ? field(t("product.barcode"), textInput("barcode", prefill.barcode, { readonly: true }))
    : null;
  return formDialog(product ? t("product.edit") : t("product.create"),
    [barcode, offNote, ...controls], t("common.save"), async (form) => {
      const body = {};
      for (const [name, , kind] of PRODUCT_FIELDS) {
        const value = valueOf(form, name, kind);
        const before = product ? product[name] ?? null : undefined;
        if (product ? value !== before : value != null) body[name] = value;
      }
      if (!product) {
        if (prefill.barcode) body.barcodes = [prefill.barcode];
        const created = await post("/api/products", body);
        toast(t("product.created", { name: created.name }), "ok");
        return created;
      }
      if (!Object.keys(body).length) return product;
      const saved = await patch(`/api/products/${encodeURIComponent(product.id)}`, body);
      toast(t("common.saved"), "ok");
      return saved;
    });
}

/** Put Open Food Facts' answer into the fields that are still empty and untouched. */
function fillFromOff(off, inputs, touched, note) {
  if (!off) return;
  let filled = 0;
  for (const name of OFF_FIELDS) {
    const value = off[name];
    const input = inputs[name];
    if (value == null || value === "" || !input || touched.has(name) || input.value.trim()) {
      continue;
    }
    input.value = String(value);
    input.classList.add("from-off");
    const hint = name === "pack_size" && off.unit
      ? t("product.off_pack", { amount: amount(off.pack_size, off.unit) }) : t("product.from_off");
    input.closest(".field").append(h("small", { class: "hint from-off-hint" }, hint));
    filled += 1;
  }
  if (filled) note.textContent = t("product.off_filled");
}

/**
 * Add stock by hand: a product (searched, or created on the spot) unless `product` is given,
 * amount in its unit, location, best-before and price.
 */
export async function addStockDialog(product = null) {
  const where = await locations().catch(() => []);
  let chosen = product;
  const chosenLabel = h("p", { class: "chosen", id: "add-chosen" }, product ? product.name : "");
  const amountBox = h("div", { class: "amount-box" });
  const drawAmount = () => {
    const unit = chosen ? chosen.unit : "piece";
    amountBox.replaceChildren(amountField(t("lot.amount"), "amount", stepOr1(unit), unit));
  };
  const search = product ? null : productSearch(t("add.search"), (p) => {
    chosen = p;
    chosenLabel.textContent = p.name;
    search.input.value = p.name;
    search.querySelector(".picks").replaceChildren();
    drawAmount();
  }, async (name) => {
    const created = await productDialog(null, { name });
    if (created) {
      chosen = created;
      chosenLabel.textContent = created.name;
      search.querySelector(".picks").replaceChildren();
      drawAmount();
    }
  });
  drawAmount();
  const location = locationSelect("location_id", where, chosen && chosen.default_location_id);
  const fields = [search, chosenLabel, amountBox, field(t("lot.location"), location),
    field(t("lot.best_before"), dateInput("best_before", null)),
    field(t("lot.price"), numberInput("price", null))];
  return formDialog(t("add.title"), fields, t("stock.add"), async (form) => {
    if (!chosen) throw new Error(t("add.pick"));
    const body = { product_id: chosen.id, amount: Number(form.elements.amount.value) };
    if (form.elements.location_id.value) body.location_id = form.elements.location_id.value;
    if (form.elements.best_before.value) body.best_before = form.elements.best_before.value;
    if (form.elements.price.value !== "") body.price = Number(form.elements.price.value);
    const lot = await post("/api/inventory", body);
    toast(t("add.added", { amount: amount(body.amount, chosen.unit), name: chosen.name }), "ok");
    return lot;
  });
}

/** Use an amount of a lot (or all of it), or throw it away (`spoiled`). */
export function useDialog(lot, product, spoiled = false) {
  const unit = product.unit;
  const label = amountField(t("lot.amount"), "amount",
    Math.min(Number(lot.amount) || 1, stepOr1(unit)), unit);
  const all = h("button", { type: "button", class: "act use-all", onclick: () => {
    const input = label.querySelector("input");
    input.value = String(lot.amount);
    input.dataset.all = "1"; // "all": whatever the lot holds by the time the node takes it
    input.form.requestSubmit();
  } }, t("lot.use_all", { amount: amount(lot.amount, unit) }));
  return formDialog(spoiled ? t("lot.spoiled") : t("lot.use_title", { name: product.name }),
    [label, all], spoiled ? t("lot.spoiled") : t("lot.use"), async (form) => {
      const input = form.elements.amount;
      const taken = Number(input.value);
      const sent = input.dataset.all ? "all" : taken;
      return consume((extra) => post(`/api/inventory/${lot.id}/consume`,
        { amount: sent, ...(spoiled ? { spoiled: true } : {}), ...extra }),
      t(spoiled ? "lot.spoiled_done" : "lot.used", { amount: amount(taken, unit) }),
      product.name);
    });
}

function stepOr1(unit) {
  return isCountUnit(unit) ? 1 : unit === "g" || unit === "ml" ? 100 : 1;
}

/** Move a lot (or part of it) to another location. */
export async function moveDialog(lot, product) {
  const where = await locations();
  const others = where.filter((l) => l.id !== lot.location_id);
  const amountBox = amountField(t("lot.amount"), "amount", lot.amount, product.unit);
  return formDialog(t("lot.move_title", { name: product.name }),
    [field(t("lot.location"), locationSelect("location_id", others, null, false)), amountBox,
      others.some((l) => l.freezer) ? h("p", { class: "hint" }, t("lot.frozen_note")) : null],
    t("lot.move"), async (form) => {
      const target = others.find((l) => l.id === form.elements.location_id.value);
      const moved = Number(form.elements.amount.value);
      const body = { location_id: form.elements.location_id.value };
      if (moved && moved < Number(lot.amount)) body.amount = moved;
      return write(() => post(`/api/inventory/${lot.id}/transfer`, body),
        t("lot.moved", { location: target ? target.name : "" }));
    });
}

/** Correct a lot: its amount, best-before and location. */
export async function correctDialog(lot, product) {
  const where = await locations();
  const amountBox = amountField(t("lot.amount"), "amount", lot.amount, product.unit);
  return formDialog(t("lot.correct_title", { name: product.name }),
    [amountBox, field(t("lot.best_before"), dateInput("best_before", lot.best_before)),
      field(t("lot.location"), locationSelect("location_id", where, lot.location_id, false))],
    t("common.save"), async (form) => {
      const body = {};
      const value = Number(form.elements.amount.value);
      if (value !== Number(lot.amount)) body.amount = value;
      const bbd = form.elements.best_before.value || null;
      if (bbd !== (lot.best_before ? lot.best_before.slice(0, 10) : null)) body.best_before = bbd;
      if (form.elements.location_id.value && form.elements.location_id.value !== lot.location_id) {
        body.location_id = form.elements.location_id.value;
      }
      if (!Object.keys(body).length) return lot;
      return write(() => patch(`/api/inventory/${lot.id}`, body), t("lot.corrected"));
    });
}

/** Recount a product: set what is really there. */
export function recountDialog(product) {
  const amountBox = amountField(t("lot.amount"), "amount", Math.max(0, Number(product.total) || 0), product.unit);
  return formDialog(t("product.recount_title", { name: product.name }), [amountBox],
    t("product.recount"), async (form) => {
      const value = Number(form.elements.amount.value);
      return write(() => post(`/api/products/${encodeURIComponent(product.id)}/recount`,
        { amount: value }), t("product.recounted", { amount: amount(value, product.unit) }));
    });
}

/** Fetch a product (for dialogs opened from lists that only hold a summary). */
export function fetchProduct(id) {
  return get(`/api/products/${encodeURIComponent(id)}`);
}
