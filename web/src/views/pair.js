// Pairing: ask the node for a code (shown on its display and in its log), type it here,
// and the node answers with an HttpOnly session cookie.

import { post } from "../api.js";
import { h, replace } from "../dom.js";

/** Render the pairing view into `root`; `onPaired` runs after success. */
export function pairView(root, params, onPaired) {
  const note = h("p", { class: "note", id: "pair-note", "aria-live": "polite" },
    "This device is not paired with the node yet.");
  const code = h("input", { type: "text", inputmode: "numeric", autocomplete: "one-time-code",
    pattern: "[0-9]{6}", maxlength: "6", id: "pair-code", required: true,
    placeholder: "6-digit code", "aria-label": "Pairing code", value: params.code || "" });
  const name = h("input", { type: "text", id: "pair-name", required: true, maxlength: "64",
    value: localStorage.getItem("kitchen.device_name") || "iPad", "aria-label": "Device name" });
  replace(root, h("h1", {}, "Pair this device"), note,
    h("button", { type: "button", class: "big", id: "pair-start", onclick: async () => {
      try {
        await post("/api/pairing/start", {});
        note.textContent = "The code is on the node's display (and in its log).";
      } catch (err) {
        note.textContent = err.message;
      }
    } }, "Show a code on the node"),
    h("form", { class: "pair", onsubmit: async (e) => {
      e.preventDefault();
      try {
        await post("/api/pairing/complete", { code: code.value.trim(), name: name.value.trim() });
        localStorage.setItem("kitchen.device_name", name.value.trim());
        onPaired();
      } catch (err) {
        note.textContent = err.message;
      }
    } }, code, name, h("button", { type: "submit", class: "big" }, "Pair")));
  return {};
}
