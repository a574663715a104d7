// Receipts: take photos (or pick a photo or PDF) of one receipt and send them; the list of
// receipts with their status moving live (read on central); and the review screen: the photo
// beside the lines, per line its product, amount, location and best-before, skip, add a missed
// line, confirm in one tap, then undo per line or for the whole receipt.

import { write } from "../actions.js";
import { ApiError, del, get, patch, post, upload } from "../api.js";
import { coalesce, h, replace, toast } from "../dom.js";
import { productDialog } from "../forms.js";
import { amount, date, dateTime, money, number, t } from "../i18n.js";
import {
  confirmDialog, dateInput, field, locations, locationSelect, numberInput, productSearch,
  textInput,
} from "../ui.js";

const STATUSES = ["queued", "processing", "completed", "failed", "confirmed"];
// What the file picker offers: photos, HEIC from iPads, and e-receipt PDFs.
const ACCEPT = "image/jpeg,image/png,image/heic,image/heif,.heic,.heif,application/pdf,.pdf";

/** A receipt's status as a badge ("Waiting for central", "Being read", ...). */
export function statusBadge(status) {
  const known = STATUSES.includes(status) ? status : "queued";
  return h("span", { class: `badge receipt-status status-${known}`, dataset: { status: known } },
    t(`receipts.status.${known}`));
}

function title(receipt) {
  if (receipt.merchant) return receipt.merchant;
  return t("receipts.untitled", { when: dateTime(receipt.created_at) });
}

/** The list of receipts and the capture panel, at `#/receipts`. */
export function receiptsView(root) {
  let pending = []; // files chosen for the next receipt (several photos of one receipt)
  const list = h("ul", { class: "rows receipts", id: "receipts" });
  const chosen = h("ul", { class: "receipt-files", id: "receipt-files" });
  const send = h("button", { type: "button", class: "big", id: "receipt-send", disabled: true,
    onclick: () => sendPending() }, t("receipts.send"));
  const camera = h("input", { type: "file", accept: "image/*", capture: "environment",
    id: "receipt-camera", class: "file-input" });
  const picker = h("input", { type: "file", accept: ACCEPT, multiple: true,
    id: "receipt-file", class: "file-input" });
  for (const input of [camera, picker]) {
    input.addEventListener("change", () => {
      pending = [...pending, ...input.files];
      input.value = ""; // the same photo may be chosen again
      drawPending();
    });
  }
  replace(root, h("div", { class: "title-row" }, h("h1", {}, t("receipts.title"))),
    h("section", { class: "capture", "aria-labelledby": "capture-title" },
      h("h2", { id: "capture-title" }, t("receipts.capture")),
      h("p", { class: "note" }, t("receipts.capture_hint")),
      h("div", { class: "capture-actions" },
        h("label", { class: "file-button big", for: camera.id }, t("receipts.take_photo")),
        camera,
        h("label", { class: "file-button act", for: picker.id }, t("receipts.pick_file")),
        picker),
      chosen, send),
    h("h2", {}, t("receipts.list")), list);

  function drawPending() {
    send.disabled = pending.length === 0;
    send.textContent = pending.length > 1
      ? t("receipts.send_n", { n: pending.length }) : t("receipts.send");
    replace(chosen, pending.map((file, i) => h("li", { class: "receipt-file" },
      h("span", { class: "name" }, `${i + 1}. ${file.name || t("receipts.photo")}`),
      h("small", {}, ` ${number(file.size / 1e6)} MB`),
      h("button", { type: "button", class: "act remove", "aria-label":
        t("receipts.remove_file", { name: file.name }), onclick: () => {
        pending.splice(i, 1);
        drawPending();
      } }, "✕"))));
  }

  async function sendPending() {
    if (!pending.length) return;
    const form = new FormData();
    for (const file of pending) form.append("file", file, file.name || "photo.jpg");
    send.disabled = true;
    const answer = await write(() => upload("/api/receipts", form), t("receipts.sent"));
    if (answer) pending = [];
    drawPending();
    load();
  }

  function row(receipt) {
    const failed = receipt.status === "failed";
    const lines = (receipt.lines || []).length;
    return h("li", { class: `row receipt status-${receipt.status}`, dataset: {
      receiptId: receipt.id, status: receipt.status } },
    h("a", { href: `#/receipt/${encodeURIComponent(receipt.id)}` },
      h("span", { class: "name" }, title(receipt),
        receipt.date ? h("small", {}, ` ${date(receipt.date)}`) : null,
        lines ? h("small", {}, ` · ${t("receipts.lines_n", { n: lines })}`) : null),
      receipt.total != null
        ? h("span", { class: "qty" }, money(receipt.total, receipt.currency)) : null,
      statusBadge(receipt.status)),
    failed && receipt.error
      ? h("p", { class: "receipt-error" }, t("receipts.failed_because", { reason: receipt.error }))
      : null,
    receipt.status === "confirmed" ? null : h("span", { class: "actions" },
      h("button", { type: "button", class: "act remove", "aria-label":
        t("receipts.delete_named", { name: title(receipt) }), onclick: () => remove(receipt) },
      t("common.delete"))));
  }

  async function remove(receipt) {
    const sure = await confirmDialog(t("receipts.delete_title"), t("receipts.delete_text"),
      t("common.delete"), true);
    if (!sure) return;
    await write(() => del(`/api/receipts/${encodeURIComponent(receipt.id)}`),
      t("receipts.deleted"));
    load();
  }

  const load = coalesce(async () => {
    try {
      const items = (await get("/api/receipts")).items;
      replace(list, items.length ? items.map(row)
        : h("li", { class: "empty" }, t("receipts.none")));
    } catch (err) {
      replace(list, h("li", { class: "empty" }, err.message));
    }
  });

  drawPending();
  load();
  return {
    onMessage(msg) {
      if (msg.type.startsWith("receipt.")) load();
    },
    refresh: load,
  };
}

/** Today plus `days` as YYYY-MM-DD (from the purchase date when known). */
function addDays(fromIso, days) {
  const base = fromIso ? new Date(`${fromIso.slice(0, 10)}T00:00:00Z`) : new Date();
  const when = new Date(Date.UTC(base.getUTCFullYear(), base.getUTCMonth(),
    base.getUTCDate() + Number(days)));
  return when.toISOString().slice(0, 10);
}

/** The review screen of receipt `params.id`, at `#/receipt/{id}`. */
export function receiptView(root, params) {
  const id = params.id;
  const base = `/api/receipts/${encodeURIComponent(id)}`;
  let receipt = null;
  let where = [];
  const products = new Map(); // product id -> the node's product (name, unit, defaults)
  let redraw = false; // the next load redraws even an unchanged receipt (a product changed)
  const heading = h("h1", { id: "receipt-title" }, "…");
  const head = h("div", { class: "receipt-head", id: "receipt-head" });
  const check = h("p", { class: "consistency", id: "receipt-consistency", role: "status" });
  const photos = h("div", { class: "review-photo", id: "receipt-photos" });
  const lines = h("ol", { class: "review-lines", id: "receipt-lines" });
  const footer = h("div", { class: "review-actions", id: "receipt-actions" });
  const addForm = h("form", { class: "add-item add-line", id: "add-line", onsubmit: (e) => {
    e.preventDefault();
    addLine();
  } }, field(t("receipts.line_text"), textInput("text", "", { maxlength: "200",
    required: true })),
  field(t("receipts.line_total"), numberInput("total", "", { step: "0.01", min: "-100000",
    required: true })),
  h("button", { type: "submit", class: "act" }, t("receipts.add_line")));
  replace(root, h("a", { href: "#/receipts", class: "back" }, t("receipts.back")),
    heading, head, check,
    h("div", { class: "review" }, photos,
      h("section", { class: "review-side" }, lines, addForm, footer)));

  // A person is typing in a line's product search (a redraw would wipe it).
  const typing = () => {
    const el = document.activeElement;
    return Boolean(el && lines.contains(el) && el.matches("input[type=search]") && el.value);
  };
  const editable = () => receipt && ["completed", "failed"].includes(receipt.status);

  async function send(body, okText = null) {
    const answer = await write(() => patch(base, body), okText);
    // The broadcast of this edit may have been shown already: a second draw would only wipe
    // what a person began typing since.
    if (answer && answer.id === id) {
      if (!receipt || Number(answer.revision) > Number(receipt.revision)) show(answer);
    } else load();
  }

  const editLine = (index, change) => send({ lines: [{ index, ...change }] });

  async function choose(index, picked) {
    // The node's whole product (a suggestion names only id and name): its defaults count.
    let product = products.get(picked.id);
    if (!product || !("unit" in product)) {
      product = await get(`/api/products/${encodeURIComponent(picked.id)}`).catch(() => picked);
    }
    products.set(product.id, product);
    const line = receipt.lines[index];
    const change = { product_id: product.id };
    // Location and best-before default from the product, shown so a person can change them.
    if (!line.location_id && product.default_location_id) {
      change.location_id = product.default_location_id;
    }
    if (!line.best_before && product.default_best_before_days != null) {
      change.best_before = addDays(receipt.date, product.default_best_before_days);
    }
    await editLine(index, change);
  }

  async function addLine() {
    const text = addForm.elements.text.value.trim();
    const total = Number(addForm.elements.total.value);
    if (!text || !Number.isFinite(total)) return;
    await send({ add_lines: [{ text, total: total.toFixed(2) }] }, t("receipts.line_added"));
    addForm.reset();
  }

  async function confirmAll() {
    const answer = await write(() => post(`${base}/confirm`, {}), (a) =>
      a.confirmed_now === false ? t("receipts.already_confirmed")
        : t("receipts.confirmed", { n: (a.lots || []).length }));
    if (answer && answer.receipt) show(answer.receipt);
    load();
  }

  async function undoAll() {
    const sure = await confirmDialog(t("receipts.undo_all_title"), t("receipts.undo_all_text"),
      t("receipts.undo_all"), true);
    if (!sure) return;
    await write(() => post(`${base}/undo`, {}), t("receipts.undone"));
    load();
  }

  async function undoLine(line) {
    await write(() => post(`/api/journal/${encodeURIComponent(line.journal_id)}/undo`, {}),
      t("journal.undo_done"));
    load();
  }

  function drawPhotos() {
    const files = receipt.files || [];
    if (!files.length) {
      replace(photos, h("p", { class: "note" }, t("receipts.no_photo")));
      return;
    }
    replace(photos, files.map((file) => {
      const src = `${base}/image?index=${file.index}`;
      if (file.content_type === "application/pdf") {
        return h("a", { class: "act pdf-link", href: src, target: "_blank", rel: "noopener" },
          t("receipts.open_pdf"));
      }
      const img = h("img", { class: "receipt-photo", src, alt: t("receipts.photo_n",
        { n: file.index + 1 }), decoding: "async" });
      // A receipt taken on another node has its photos there and on central only.
      img.addEventListener("error", () => img.replaceWith(h("p", { class: "note" },
        t("receipts.photo_elsewhere"))), { once: true });
      return img;
    }));
  }

  function drawHead() {
    heading.textContent = title(receipt);
    replace(head, statusBadge(receipt.status),
      receipt.date ? h("span", {}, date(receipt.date)) : null,
      receipt.total != null ? h("span", { class: "receipt-total" },
        t("receipts.total", { total: money(receipt.total, receipt.currency) })) : null,
      receipt.currency && receipt.currency !== "EUR"
        ? h("span", { class: "badge warn" }, t("receipts.currency", { currency: receipt.currency }))
        : null);
    const notes = [];
    if (receipt.status === "failed") {
      notes.push(h("p", { class: "receipt-error" }, t("receipts.failed_because",
        { reason: receipt.error || "?" })), h("p", { class: "note" }, t("receipts.by_hand")));
    }
    if (receipt.status === "queued") notes.push(t("receipts.queued_hint"));
    if (receipt.status === "processing") notes.push(t("receipts.processing_hint"));
    // The sum of the lines against the printed total: a mismatch is shown plainly.
    check.className = "consistency";
    if (receipt.consistent === true) {
      check.classList.add("ok");
      notes.push(t("receipts.consistent", { total: money(receipt.total, receipt.currency) }));
    } else if (receipt.consistent === false) {
      check.classList.add("mismatch");
      notes.push(receipt.total == null ? t("receipts.no_total")
        : t("receipts.mismatch", { sum: money(receipt.lines_sum, receipt.currency),
          total: money(receipt.total, receipt.currency) }));
    }
    for (const warning of receipt.warnings || []) notes.push(h("small", {}, ` ${warning}`));
    replace(check, notes.map((n) => (typeof n === "string" ? h("span", {}, n, " ") : n)));
    check.hidden = notes.length === 0;
  }

  function productPart(line, index) {
    const product = line.product_id ? products.get(line.product_id) : null;
    const name = product ? product.name : (line.suggestions || [])
      .find((s) => s.product_id === line.product_id)?.name;
    const current = line.product_id
      ? h("span", { class: "chosen", dataset: { productId: line.product_id } }, `✓ ${name || "…"}`)
      : h("span", { class: "chosen none" }, t("receipts.no_product"));
    if (!editable()) return current;
    const suggestions = (line.suggestions || []).filter((s) => s.product_id !== line.product_id)
      .map((s) => h("button", { type: "button", class: "act suggestion", dataset: {
        productId: s.product_id }, onclick: () => choose(index, { id: s.product_id,
        name: s.name }) },
      s.name, h("small", {}, ` ${t(s.source === "learned" ? "receipts.learned"
        : "receipts.score", { score: Math.round(s.score) })}`)));
    const search = productSearch(t("receipts.search"), (p) => choose(index, p), async (text) => {
      const created = await productDialog(null, { name: text });
      if (created) await choose(index, created);
    });
    search.classList.add("line-search");
    // Once a product is chosen, the search waits behind "Change" (the line stays short).
    let change = null;
    if (line.product_id) {
      search.hidden = true;
      change = h("button", { type: "button", class: "act change", onclick: () => {
        change.hidden = true;
        search.hidden = false;
        search.input.focus();
      } }, t("receipts.change"));
    }
    return h("div", { class: "line-product" }, h("div", { class: "line-choice" }, current, change),
      suggestions.length && !line.product_id ? h("div", { class: "suggestions" }, suggestions)
        : null, search);
  }

  function detailPart(line, index) {
    const product = products.get(line.product_id);
    const unit = product ? product.unit : line.unit;
    if (!editable()) {
      return h("div", { class: "line-details" },
        line.amount != null ? h("span", {}, amount(line.amount, unit)) : null,
        line.location_id ? h("span", {}, where.find((l) => l.id === line.location_id)?.name)
          : null,
        line.best_before ? h("span", {}, t("receipts.bbd", { date: date(line.best_before) }))
          : null);
    }
    const amountBox = numberInput("amount", line.amount ?? "", { step: "any", min: "0",
      placeholder: line.quantity != null ? number(line.quantity) : "1", class: "qty-input" });
    amountBox.addEventListener("change", () => {
      const value = Number(amountBox.value);
      if (amountBox.value === "" || !(value > 0)) return;
      editLine(index, { amount: value });
    });
    const place = locationSelect("location", where, line.location_id ?? "");
    place.addEventListener("change", () => {
      if (place.value) editLine(index, { location_id: place.value });
    });
    const bbd = dateInput("best_before", line.best_before);
    bbd.addEventListener("change", () => {
      if (bbd.value) editLine(index, { best_before: bbd.value });
    });
    return h("div", { class: "line-details" },
      field(t("receipts.amount_unit", { unit: !unit || unit === "piece" ? t("unit.piece")
        : unit }), amountBox),
      field(t("receipts.location"), place), field(t("receipts.best_before"), bbd));
  }

  function stockPart(line) {
    if (receipt.status !== "confirmed" || !line.journal_id) return null;
    if (line.undone) return h("span", { class: "badge" }, t("journal.undone"));
    if (!line.in_journal) return h("span", { class: "note" }, t("receipts.stock_coming"));
    return h("button", { type: "button", class: "act undo", onclick: () => undoLine(line) },
      t("common.undo"));
  }

  function lineRow(line, index) {
    const item = line.kind === "item";
    const skipped = Boolean(line.skip);
    const skip = h("input", { type: "checkbox", name: "skip", checked: skipped,
      disabled: !editable(), class: "skip" });
    skip.addEventListener("change", () => editLine(index, { skip: skip.checked }));
    const printed = [
      line.quantity != null && line.unit_price != null
        ? `${number(line.quantity)}${line.unit && line.unit !== "piece" ? ` ${line.unit}` : ""}`
          + ` × ${money(line.unit_price, receipt.currency)}` : null,
      line.vat ? `(${line.vat})` : null,
    ].filter(Boolean).join(" ");
    return h("li", { class: `line kind-${line.kind} ${skipped ? "skipped" : ""}`
      + ` ${item && !skipped && !line.product_id ? "undecided" : ""}`,
    dataset: { index: String(index), kind: line.kind } },
    h("div", { class: "line-head" },
      h("span", { class: "line-text" }, line.text || "?",
        line.added ? h("small", {}, ` ${t("receipts.added")}`) : null,
        printed ? h("small", {}, ` ${printed}`) : null),
      item ? null : h("span", { class: "badge" }, t(`receipts.kind.${line.kind}`)),
      h("span", { class: "qty line-total" }, money(line.total, receipt.currency)),
      h("label", { class: "skip-box" }, skip, ` ${t("receipts.skip")}`),
      stockPart(line)),
    item && !skipped ? productPart(line, index) : null,
    item && !skipped && line.product_id ? detailPart(line, index) : null);
  }

  function drawFooter() {
    const stocked = (receipt.lines || []).filter((l) => l.in_journal && !l.undone);
    const open = (receipt.lines || []).filter((l) => l.kind === "item" && !l.skip
      && !l.product_id).length;
    replace(footer,
      receipt.status === "completed" ? [
        open ? h("p", { class: "note warn" }, t("receipts.undecided", { n: open })) : null,
        h("button", { type: "button", class: "big confirm", id: "receipt-confirm",
          disabled: open > 0, onclick: () => confirmAll() }, t("receipts.confirm"))] : null,
      receipt.status === "confirmed" && stocked.length ? h("button", { type: "button",
        class: "act remove", id: "receipt-undo", onclick: () => undoAll() },
      t("receipts.undo_all")) : null);
    addForm.hidden = !editable();
  }

  function show(view) {
    receipt = view;
    drawHead();
    drawPhotos();
    replace(lines, (receipt.lines || []).length ? receipt.lines.map(lineRow)
      : h("li", { class: "empty" }, receipt.status === "failed" ? t("receipts.enter_lines")
        : t("receipts.no_lines")));
    drawFooter();
  }

  // The node's products for the lines' names, units and defaults (one request each, once).
  async function knowProducts(view) {
    const wanted = new Set((view.lines || []).map((l) => l.product_id).filter(Boolean));
    await Promise.all([...wanted].filter((pid) => !products.has(pid)).map(async (pid) => {
      try {
        products.set(pid, await get(`/api/products/${encodeURIComponent(pid)}`));
      } catch {
        // Not on this node yet (created on central a moment ago): the name comes later.
      }
    }));
  }

  const load = coalesce(async () => {
    let view;
    try {
      view = await get(base);
    } catch (err) {
      heading.textContent = err instanceof ApiError && err.status === 404
        ? t("receipts.gone") : t("receipts.title");
      replace(head, err.message);
      return;
    }
    if (!where.length) where = await locations().catch(() => []);
    await knowProducts(view);
    // The broadcast of an edit this screen already shows must not redraw it (and wipe what a
    // person is typing in a line's search); a confirmed receipt's lines change with the stock.
    // A read that started before an edit's answer was shown is older than the screen: drop it.
    if (receipt && Number(view.revision) < Number(receipt.revision)) return;
    const same = receipt && receipt.revision === view.revision && receipt.status === view.status;
    if (same && view.status !== "confirmed" && !redraw) return;
    if (same && typing()) {
      redraw = true; // not under a person's fingers: the next change redraws
      return;
    }
    redraw = false;
    show(view);
  });

  load();
  return {
    onMessage(msg) {
      if (msg.type.startsWith("receipt.") && msg.entity_id === id) {
        if (msg.type === "receipt.deleted") {
          toast(t("receipts.deleted"), "ok");
          location.hash = "#/receipts";
        } else load();
      } else if (receipt && receipt.status === "confirmed" && msg.type.startsWith("inventory.")) {
        load(); // a line's stock arrived or was undone
      } else if (msg.type.startsWith("product.") && products.has(msg.entity_id)) {
        products.delete(msg.entity_id); // a chosen product changed: its name, its unit
        redraw = true;
        load();
      }
    },
    refresh: load,
  };
}
