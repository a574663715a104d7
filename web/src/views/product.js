// Product page: picture, fields with edit, barcodes, stock lots with every action (use, open,
// spoiled, move, correct), add stock, recount, merge, delete, and its journal with undo.

import { consume, write } from "../actions.js";
import { labelButton } from "../labels.js";
import { ApiError, del, get, post, query } from "../api.js";
import { bestBeforeLabel, coalesce, freshnessClass, h, replace } from "../dom.js";
import {
  addStockDialog, correctDialog, moveDialog, productDialog, recountDialog, useDialog,
} from "../forms.js";
import { amount, date, isCountUnit, money, number, t } from "../i18n.js";
import { confirmDialog, dialog, field, picture, productSearch, textInput } from "../ui.js";
import { journalLine } from "./history.js";

/** What "Use" takes at one tap: a piece, or a pack of a product measured in g or ml. */
function quickAmount(product) {
  if (isCountUnit(product.unit) || product.unit === "pack") return 1;
  return product.pack_size ? Number(product.pack_size) : null;
}

/** Render the detail of product `params.id` into `root`. */
export function productView(root, params) {
  const id = params.id;
  let product = null;
  let lotItems = [];
  const title = h("h1", { id: "product-name" }, "…");
  const pictureBox = h("div", { class: "product-picture" });
  const summary = h("p", { class: "summary", id: "product-summary" });
  const facts = h("dl", { class: "facts", id: "product-facts" });
  const recountNote = h("p", { class: "note warn", id: "recount-note", hidden: true });
  const barcodes = h("ul", { class: "barcodes", id: "barcodes" });
  const lots = h("ul", { class: "rows lots", id: "lots" });
  const journal = h("ol", { class: "journal", id: "journal" });
  const prices = h("ul", { class: "rows prices", id: "prices" });
  const barcodeInput = textInput("barcode", "", { inputmode: "numeric", id: "barcode-new",
    maxlength: "512" });
  // Use one piece, or one pack of a product counted in g or ml (none without a pack size).
  const useProduct = h("button", { type: "button", class: "act", id: "use-product",
    onclick: async () => {
      const quick = product && quickAmount(product);
      if (quick == null) return;
      await consume((extra) => post(`/api/products/${encodeURIComponent(id)}/consume`,
        { amount: quick, ...extra }), t("lot.used", { amount: amount(quick, product.unit) }),
      product.name);
      load();
    } }, t("lot.use1"));
  const actions = h("div", { class: "product-actions" },
    h("button", { type: "button", class: "big", id: "add-stock", onclick: async () => {
      if (product && await addStockDialog(product)) load();
    } }, t("stock.add")),
    useProduct,
    h("button", { type: "button", class: "act", id: "edit-product", onclick: async () => {
      if (product && await productDialog(product)) load();
    } }, t("common.edit")),
    h("button", { type: "button", class: "act", id: "recount-product", onclick: async () => {
      if (product && await recountDialog(product)) load();
    } }, t("product.recount")),
    h("button", { type: "button", class: "act", id: "merge-product", onclick: () => merge() },
      t("product.merge")),
    h("button", { type: "button", class: "act remove", id: "delete-product",
      onclick: () => remove() }, t("product.delete")));
  replace(root, h("a", { href: "#/stock", class: "back" }, t("product.back")),
    h("div", { class: "product-head" }, pictureBox,
      h("div", { class: "product-title" }, title, summary)),
    recountNote, actions, facts,
    h("h2", {}, t("product.barcodes")), barcodes,
    h("form", { class: "add-item barcode-form", onsubmit: (e) => {
      e.preventDefault();
      addBarcode(barcodeInput.value.trim());
    } }, field(t("product.add_barcode"), barcodeInput),
    h("button", { type: "submit", class: "act" }, t("product.add_barcode"))),
    h("h2", {}, t("product.lots")), lots, h("h2", {}, t("product.prices")), prices,
    h("h2", {}, t("product.history")), journal);

  async function addBarcode(code) {
    if (!code || !product) return;
    const saved = await write(() => post(`/api/products/${encodeURIComponent(id)}/barcodes`,
      { barcode: code }), t("product.barcode_added", { code }));
    if (saved) barcodeInput.value = "";
    load();
  }

  async function removeBarcode(code) {
    await write(() => del(`/api/products/${encodeURIComponent(id)}/barcodes/`
      + encodeURIComponent(code)), t("product.barcode_removed", { code }));
    load();
  }

  async function merge() {
    if (!product) return;
    const target = await dialog(t("product.merge_title", { name: product.name }), (close) =>
      h("div", {}, h("p", { class: "dialog-text" }, t("product.merge_explain",
        { name: product.name })),
      productSearch(t("product.merge_search"), (p) => close(p), null, id),
      h("div", { class: "dialog-actions" }, h("button", { type: "button", class: "cancel",
        onclick: () => close(undefined) }, t("common.cancel")))));
    if (!target) return;
    const sure = await confirmDialog(t("product.merge_into", { name: target.name }),
      t("product.merge_explain", { name: product.name }),
      t("product.merge_into", { name: target.name }));
    if (!sure) return;
    const done = await write(() => post(`/api/products/${encodeURIComponent(id)}/merge`,
      { into: target.id }), t("product.merged", { name: target.name }));
    if (done) location.hash = `#/product/${encodeURIComponent(target.id)}`;
  }

  async function remove() {
    if (!product) return;
    const stocked = Number(product.total) > 0 || lotItems.length > 0;
    const text = stocked
      ? t("product.delete_with_stock", { amount: amount(product.total, product.unit) })
      : t("product.delete_no_stock");
    const sure = await confirmDialog(t("product.delete_title", { name: product.name }), text,
      t("common.delete"), true);
    if (!sure) return;
    const path = `/api/products/${encodeURIComponent(id)}` + (stocked ? "?stock=remove" : "");
    const done = await write(() => del(path), t("product.deleted", { name: product.name }));
    if (done) location.hash = "#/stock";
  }

  function drawSummary() {
    const below = product.min_stock != null && product.total < product.min_stock;
    replace(summary,
      h("span", { class: "total" }, t("product.in_stock", {
        amount: amount(product.total, product.unit) })),
      product.brand ? h("span", { class: "brand" }, ` · ${product.brand}`) : null,
      below ? h("span", { class: "badge min" }, t("product.below_min", {
        amount: amount(product.min_stock, product.unit) })) : null,
      product.needs_recount ? h("span", { class: "badge warn" }, t("stock.recount")) : null);
    const quick = quickAmount(product);
    useProduct.hidden = quick == null;
    useProduct.textContent = quick === 1 ? t("lot.use1")
      : t("lot.use_amount", { amount: amount(quick ?? 1, product.unit) });
    recountNote.hidden = !product.needs_recount;
    recountNote.textContent = t("product.needs_recount");
    replace(pictureBox, picture(product, "large"));
    const rows = [
      ["product.category", product.category],
      ["product.pack_size", product.pack_size != null
        ? amount(product.pack_size, product.unit) : null],
      ["product.min_stock", product.min_stock != null
        ? amount(product.min_stock, product.unit) : null],
      ["product.default_location", product.default_location_name],
      ["product.bbd_days", product.default_best_before_days],
      ["product.bbd_days_opened", product.default_best_before_days_after_opening],
      ["product.bbd_days_frozen", product.default_best_before_days_after_freezing],
      ["product.notes", product.notes],
    ].filter(([, v]) => v != null && v !== "");
    replace(facts, rows.map(([key, v]) => [h("dt", {}, t(key)),
      h("dd", {}, typeof v === "number" ? number(v) : v)]));
    replace(barcodes, (product.barcodes || []).length
      ? product.barcodes.map((code) => h("li", { class: "barcode", dataset: { code } },
        h("span", { class: "code" }, code),
        h("button", { type: "button", class: "act remove", "aria-label":
          t("product.remove_barcode", { code }), onclick: () => removeBarcode(code) }, "✕")))
      : h("li", { class: "empty" }, t("product.no_barcodes")));
  }

  async function act(path, body, done) {
    await write(() => post(path, body), done);
    load();
  }

  function drawLots(items) {
    const unit = product.unit;
    const quick = quickAmount(product);
    const quickLabel = quick === 1 ? t("lot.use1") : t("lot.use_amount",
      { amount: amount(quick, unit) });
    replace(lots, items.length ? items.map((lot) =>
      h("li", { class: `row ${freshnessClass(lot.best_before)}`, dataset: { lotId: lot.id } },
        h("span", { class: "name" }, lot.location_name || t("stock.no_location"),
          lot.batch ? h("small", {}, ` ${t("stock.lot", { batch: lot.batch })}`) : null),
        h("span", { class: "qty" }, amount(lot.amount, unit)),
        lot.best_before ? h("span", { class: "bbd" }, bestBeforeLabel(lot.best_before)) : null,
        lot.opened_on ? h("span", { class: "badge" }, t("lot.opened_on",
          { date: date(lot.opened_on) })) : null,
        h("span", { class: "actions" },
          quick == null ? null : h("button", { type: "button", class: "act consume",
            onclick: async () => {
              await consume((extra) => post(`/api/inventory/${lot.id}/consume`,
                { amount: quick, ...extra }), t("lot.used", { amount: amount(quick, unit) }),
              product.name);
              load();
            } }, quickLabel),
          h("button", { type: "button", class: "act use", onclick: async () => {
            if (await useDialog(lot, product)) load();
          } }, t("lot.use")),
          lot.opened_on ? null : h("button", { type: "button", class: "act open", onclick: () =>
            act(`/api/inventory/${lot.id}/open`, {}, t("lot.opened")) }, t("lot.open")),
          h("button", { type: "button", class: "act spoil", onclick: async () => {
            if (await useDialog(lot, product, true)) load();
          } }, t("lot.spoiled")),
          h("button", { type: "button", class: "act move", onclick: async () => {
            if (await moveDialog(lot, product)) load();
          } }, t("lot.move")),
          h("button", { type: "button", class: "act correct", onclick: async () => {
            if (await correctDialog(lot, product)) load();
          } }, t("lot.correct")),
          labelButton(lot.id))))
      : h("li", { class: "empty" }, t("product.no_stock")));
  }

  function drawJournal(entries) {
    replace(journal, entries.length ? entries.map((e) => journalLine(e, product.unit, load, false))
      : h("li", { class: "empty" }, t("product.no_changes")));
  }

  // What it cost, where and when: the priced purchases, a confirmed receipt's lines included.
  function drawPrices(items) {
    replace(prices, items.length ? items.map((p) => h("li", { class: "row price",
      dataset: { lotId: p.lot_id } },
    h("span", { class: "when" }, date(p.date)),
    h("span", { class: "name" }, p.merchant || t("product.price_bought"),
      p.text ? h("small", {}, ` ${p.text}`) : null),
    h("span", { class: "qty" }, t("product.price_line", { price: money(p.price, p.currency),
      amount: amount(p.amount, product.unit) })),
    p.unit_price != null && p.amount !== 1 && isCountUnit(product.unit)
      ? h("small", { class: "per" }, t("product.price_per",
        { price: money(p.unit_price, p.currency) })) : null))
      : h("li", { class: "empty" }, t("product.no_prices")));
  }

  const load = coalesce(async () => {
    try {
      product = await get(`/api/products/${encodeURIComponent(id)}`);
    } catch (err) {
      title.textContent = err instanceof ApiError && err.status === 404
        ? t("product.gone") : t("product.title");
      replace(summary, err.message);
      return;
    }
    const [inv, log, paid] = await Promise.allSettled([
      get("/api/inventory" + query({ product_id: id, limit: 500 })),
      get("/api/journal" + query({ product_id: id, limit: 50 })),
      get(`/api/products/${encodeURIComponent(id)}/prices`),
    ]);
    title.textContent = product.name;
    drawSummary();
    if (inv.status === "fulfilled") {
      lotItems = inv.value.items;
      drawLots(lotItems);
    }
    if (log.status === "fulfilled") drawJournal(log.value.items);
    if (paid.status === "fulfilled") drawPrices(paid.value.items);
  });

  load();
  return {
    onMessage(msg) {
      const data = msg.data || {};
      if (/^inventory\./.test(msg.type) && data.product_id === id) load();
      else if (/^product\./.test(msg.type) && (msg.entity_id === id || data.into === id)) load();
      else if (/^(location|settings)\./.test(msg.type)) load();
    },
    refresh: load,
  };
}
