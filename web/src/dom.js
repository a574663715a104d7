// Tiny DOM helpers: elements are built with createElement and text nodes, never innerHTML,
// so data from the node can never turn into markup.

import { dueSoonDays } from "./household.js";
import { amount, date, t } from "./i18n.js";

/** Create an element: h("button", {class: "big", onclick: fn}, "Text", child). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      el.className = value;
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key === "value") {
      el.value = value;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

/** Append children (strings, nodes, arrays, nulls skipped). */
export function append(el, children) {
  for (const child of [children].flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** Replace all children of an element. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** Days from today (local date) until an ISO date string; null when there is no date. */
export function daysUntil(isoDate) {
  if (!isoDate) return null;
  const [y, m, d] = isoDate.slice(0, 10).split("-").map(Number);
  const due = Date.UTC(y, m - 1, d);
  const now = new Date();
  const today = Date.UTC(now.getFullYear(), now.getMonth(), now.getDate());
  return Math.round((due - today) / 86400000);
}

/**
 * CSS class for a best-before date: expired, expiring (within the household's "due soon"
 * horizon, a setting of the node: one rule everywhere) or nothing.
 */
export function freshnessClass(isoDate) {
  const days = daysUntil(isoDate);
  if (days == null) return "";
  if (days < 0) return "expired";
  if (days <= dueSoonDays()) return "expiring";
  return "";
}

/** A short human label for a best-before date, in the current language. */
export function bestBeforeLabel(isoDate) {
  const days = daysUntil(isoDate);
  if (days == null) return "";
  if (days < 0) return t("bbd.expired", { date: date(isoDate) });
  if (days === 0) return t("bbd.today");
  if (days === 1) return t("bbd.tomorrow");
  return t("bbd.on", { date: date(isoDate) });
}

export { amount };

/**
 * Wrap an async loader so that calls while it runs collapse into one more run afterwards:
 * a burst of live messages costs at most two fetches, and the last one sees every change.
 */
export function coalesce(load) {
  let running = null;
  let again = false;
  return function run() {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await load();
        } while (again);
      } finally {
        running = null;
      }
    })();
    return running;
  };
}

/**
 * Show a short message at the bottom of the screen (instead of a blocking alert); with
 * `action` ({label, run}) it carries a button, e.g. Undo.
 */
export function toast(message, kind = "error", action = null) {
  let box = document.getElementById("toast");
  if (!box) {
    box = h("div", { id: "toast", class: "toast", role: "status", "aria-live": "polite" });
    document.body.append(box);
  }
  box.className = `toast ${kind}`;
  replace(box, h("span", { class: "toast-text" }, message),
    action ? h("button", { type: "button", class: "toast-action", onclick: () => {
      box.hidden = true;
      action.run();
    } }, action.label) : null);
  box.hidden = false;
  clearTimeout(box._timer);
  box._timer = setTimeout(() => { box.hidden = true; }, action ? 8000 : 4000);
}
