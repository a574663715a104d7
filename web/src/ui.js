// Small components shared by the management views: labelled fields, modal dialogs (native
// <dialog>: focus trap, Escape, screen readers), amount steppers by unit, location and
// product pickers, a windowed list for thousands of rows, and product pictures.

import { get, query } from "./api.js";
import { h, replace } from "./dom.js";
import { isCountUnit, t } from "./i18n.js";

let fieldSeq = 0;

/** A control with a visible label a screen reader reads: <label for> + the control. */
export function field(label, control, hint = null) {
  if (!control.id) control.id = `f${++fieldSeq}`;
  return h("div", { class: "field" },
    h("label", { for: control.id }, label), control,
    hint ? h("small", { class: "hint" }, hint) : null);
}

/** A text input. */
export function textInput(name, value, attrs = {}) {
  return h("input", { type: "text", name, value: value ?? "", autocomplete: "off", ...attrs });
}

/** A number input for whole days or counts (empty means "not set"). */
export function numberInput(name, value, attrs = {}) {
  return h("input", { type: "number", name, inputmode: "decimal", step: "any", min: "0",
    value: value ?? "", ...attrs });
}

/** A date input (YYYY-MM-DD). */
export function dateInput(name, value) {
  return h("input", { type: "date", name, value: value ? String(value).slice(0, 10) : "" });
}

/** A select from [value, label] pairs. */
export function select(name, options, value, attrs = {}) {
  return h("select", { name, ...attrs }, options.map(([v, label]) =>
    h("option", { value: v, selected: String(v) === String(value ?? "") }, label)));
}

/** Sensible steps for an amount in `unit`: pieces by 1, grams and millilitres by 50, kg/l by 0.1. */
export function stepFor(unit) {
  if (isCountUnit(unit) || unit === "pack") return 1;
  if (unit === "g" || unit === "ml") return 50;
  if (unit === "kg" || unit === "l") return 0.1;
  return 1;
}

/** An amount input with − and + buttons stepping by the unit's step. */
export function amountInput(name, value, unit) {
  const step = stepFor(unit);
  const input = h("input", { type: "number", name, inputmode: "decimal", min: "0", step: "any",
    value: value ?? step, class: "qty-input" });
  const unitLabel = isCountUnit(unit) ? t("unit.piece") : unit;
  const bump = (sign) => {
    const next = Math.max(0, Math.round(((Number(input.value) || 0) + sign * step) * 1000) / 1000);
    input.value = String(next);
    input.dispatchEvent(new Event("input", { bubbles: true }));
  };
  const box = h("span", { class: "stepper" },
    h("button", { type: "button", class: "step minus", "aria-label": t("common.decrease",
      { unit: unitLabel }), onclick: () => bump(-1) }, "−"),
    input,
    h("span", { class: "unit" }, isCountUnit(unit) ? "" : unit),
    h("button", { type: "button", class: "step plus", "aria-label": t("common.increase",
      { unit: unitLabel }), onclick: () => bump(1) }, "+"));
  box.input = input;
  return box;
}

/** The node's locations, sorted as the household ordered them. */
export async function locations() {
  const items = (await get("/api/locations")).items || [];
  return sortLocations(items);
}

/** Locations in their household order (position, then name). */
export function sortLocations(items) {
  const key = (l) => l.sort_key ?? Number.MAX_SAFE_INTEGER;
  return [...items].sort((a, b) => key(a) - key(b) || String(a.name).localeCompare(String(b.name)));
}

/** A select of locations (with "none" first when `optional`). */
export function locationSelect(name, items, value, optional = true) {
  const options = items.map((l) => [l.id, l.freezer ? `${l.name} ❄` : l.name]);
  return select(name, optional ? [["", t("common.none")], ...options] : options, value);
}

/**
 * Open a modal dialog; `build(close)` returns its content. Resolves with what `close(value)`
 * was given (undefined on Escape or Cancel). Focus returns to where it was.
 */
export function dialog(title, build) {
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const heading = h("h2", { id: `dlg${++fieldSeq}` }, title);
    const box = h("dialog", { class: "dialog", "aria-labelledby": heading.id });
    let done = false;
    const close = (value) => {
      if (done) return;
      done = true;
      box.close();
      box.remove();
      if (opener && opener.focus) opener.focus();
      resolve(value);
    };
    box.addEventListener("cancel", (e) => { e.preventDefault(); close(undefined); });
    replace(box, heading, build(close));
    document.body.append(box);
    box.showModal();
    const first = box.querySelector("input, select, textarea");
    if (first) first.focus();
  });
}

/**
 * A dialog holding a form: `fields` nodes, a submit button `okLabel` and Cancel. `submit(form)`
 * runs on submit; it returns the value to close with, or throws to show the error inside.
 */
export function formDialog(title, fields, okLabel, submit, extra = null) {
  return dialog(title, (close) => {
    const error = h("p", { class: "form-error", role: "alert" });
    const form = h("form", { class: "dialog-form", onsubmit: async (e) => {
      e.preventDefault();
      error.textContent = "";
      try {
        close(await submit(form));
      } catch (err) {
        error.textContent = err.message || String(err);
      }
    } }, fields, extra, error,
    h("div", { class: "dialog-actions" },
      h("button", { type: "button", class: "cancel", onclick: () => close(undefined) },
        t("common.cancel")),
      h("button", { type: "submit", class: "big ok" }, okLabel)));
    return form;
  });
}

/** Ask a yes/no question; resolves true for `okLabel`. */
export function confirmDialog(title, text, okLabel, danger = false) {
  return dialog(title, (close) => h("div", {},
    h("p", { class: "dialog-text" }, text),
    h("div", { class: "dialog-actions" },
      h("button", { type: "button", class: "cancel", onclick: () => close(false) },
        t("common.cancel")),
      h("button", { type: "button", class: `big ok ${danger ? "danger" : ""}`,
        onclick: () => close(true) }, okLabel))));
}

/**
 * A product search box with suggestions; `onPick(product)` runs when one is chosen, and
 * `onCreate(name)` (optional) offers to create one with the typed name.
 */
export function productSearch(label, onPick, onCreate = null, exclude = null) {
  const input = h("input", { type: "search", autocomplete: "off", name: "product-search",
    class: "product-search", "aria-autocomplete": "list" });
  const list = h("div", { class: "suggestions picks", role: "listbox" });
  let asked = "";
  input.addEventListener("input", async () => {
    const q = input.value.trim();
    asked = q;
    if (!q) {
      replace(list);
      return;
    }
    let items = [];
    try {
      items = (await get("/api/products" + query({ search: q, limit: 8 }))).items;
    } catch {
      return;
    }
    if (asked !== q) return; // a newer keystroke is on its way
    items = items.filter((p) => p.id !== exclude);
    replace(list, items.map((p) => h("button", { type: "button", class: "suggestion",
      role: "option", dataset: { productId: p.id }, onclick: () => onPick(p) },
    p.name, p.brand ? h("small", {}, ` ${p.brand}`) : null)),
    onCreate ? h("button", { type: "button", class: "suggestion create",
      onclick: () => onCreate(q) }, t("add.create", { name: q })) : null);
  });
  const box = field(label, input);
  box.append(list);
  box.input = input;
  return box;
}

// Products whose picture the node did not have (404): not asked again until the product
// changes (central may have sent one since).
const missingPictures = new Set();

/** Forget that a product had no picture (after a product.* message for it). */
export function forgetMissingPicture(id) {
  missingPictures.delete(id);
}

/**
 * The product's picture (the node's copy, never the internet) or a clean placeholder with
 * its initial: the placeholder shows at once and gives way to the picture once it loaded.
 */
export function picture(product, size = "small") {
  const name = product.name || product.product_name || "?";
  const id = product.id || product.product_id;
  const holder = h("span", { class: `picture ${size} placeholder`, role: "img",
    "aria-label": t("product.no_picture") }, name.trim().charAt(0).toUpperCase() || "?");
  if (!id || missingPictures.has(id)) return holder;
  const img = h("img", { class: `picture ${size}`, alt: t("product.picture", { name }),
    decoding: "async" });
  img.addEventListener("load", () => holder.replaceWith(img), { once: true });
  img.addEventListener("error", () => missingPictures.add(id), { once: true });
  img.src = `/api/products/${encodeURIComponent(id)}/picture`;
  return holder;
}

/**
 * Render only the visible rows of a long list (fixed row height, the page scrolls): 5,000
 * products cost about as much as the 20 on screen. `render(item)` makes one <li>.
 */
export function windowedList(attrs, rowHeight, render) {
  const spacer = h("div", { class: "window-spacer" });
  const ul = h("ul", { ...attrs, class: `${attrs.class || ""} windowed` });
  spacer.append(ul);
  let items = [];
  let first = -1;
  let last = -1;
  const OVERSCAN = 10;

  function paint(force = false) {
    const top = spacer.getBoundingClientRect().top;
    const from = Math.max(0, Math.floor(-top / rowHeight) - OVERSCAN);
    const to = Math.min(items.length, Math.ceil((window.innerHeight - top) / rowHeight) + OVERSCAN);
    if (!force && from === first && to === last) return;
    first = from;
    last = to;
    ul.style.transform = `translateY(${from * rowHeight}px)`;
    replace(ul, items.slice(from, to).map(render));
  }
  let queued = false;
  const onScroll = () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; paint(); });
  };
  window.addEventListener("scroll", onScroll, { passive: true });
  window.addEventListener("resize", onScroll, { passive: true });
  return {
    element: spacer,
    /** Show `next` items (keeps the scroll position). */
    set(next) {
      items = next;
      spacer.style.height = `${items.length * rowHeight}px`;
      ul.setAttribute("aria-rowcount", String(items.length));
      paint(true);
    },
    destroy() {
      window.removeEventListener("scroll", onScroll);
      window.removeEventListener("resize", onScroll);
    },
  };
}

/** A labelled amount stepper (the label names the number input inside). */
export function amountField(label, name, value, unit) {
  const box = amountInput(name, value, unit);
  box.input.id = `f${++fieldSeq}`;
  return h("div", { class: "field" }, h("label", { for: box.input.id }, label), box);
}
