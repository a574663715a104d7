// Pairing: ask the node for a code (shown on its display and in its log), type it here, and
// the node answers with an HttpOnly session cookie. The devices view lists and revokes pairings.

import { del, get, post } from "../api.js";
import { h, replace, toast } from "../dom.js";
import { date, t } from "../i18n.js";
import { confirmDialog, field } from "../ui.js";

/** Render the pairing view into `root`; `onPaired` runs after success. */
export function pairView(root, params, onPaired) {
  const note = h("p", { class: "note", id: "pair-note", "aria-live": "polite" }, t("pair.note"));
  const code = h("input", { type: "text", inputmode: "numeric", autocomplete: "one-time-code",
    pattern: "[0-9]{6}", maxlength: "6", id: "pair-code", required: true,
    placeholder: t("pair.code_placeholder"), value: params.code || "" });
  const name = h("input", { type: "text", id: "pair-name", required: true, maxlength: "64",
    value: localStorage.getItem("kitchen.device_name") || "iPad" });
  replace(root, h("h1", {}, t("pair.title")), note,
    h("button", { type: "button", class: "big", id: "pair-start", onclick: async () => {
      try {
        const offer = await post("/api/pairing/start", {});
        const minutes = Math.round((offer.expires_in || 300) / 60);
        note.textContent = t("pair.code_shown", { minutes });
        code.focus();
      } catch (err) {
        note.textContent = err.message;
      }
    } }, t("pair.start")),
    h("form", { class: "pair", onsubmit: async (e) => {
      e.preventDefault();
      try {
        await post("/api/pairing/complete", { code: code.value.trim(), name: name.value.trim() });
        localStorage.setItem("kitchen.device_name", name.value.trim());
        onPaired();
      } catch (err) {
        note.textContent = err.message;
      }
    } }, field(t("pair.code"), code), field(t("pair.device_name"), name),
    h("button", { type: "submit", class: "big" }, t("pair.pair"))));
  return {};
}

/** Render the paired devices with a revoke button each. */
export function devicesView(root) {
  const list = h("ul", { class: "rows devices", id: "devices" });
  replace(root, h("h1", {}, t("devices.title")), h("p", { class: "note" }, t("devices.note")),
    list);
  let self = null;

  async function load() {
    try {
      const [{ items }, status] = await Promise.all([get("/api/devices"),
        fetch("/api/pairing/status", { cache: "no-store" }).then((r) => r.json())]);
      self = status.device_id;
      replace(list, items.map((d) => h("li", { class: "row", dataset: { deviceId: d.id } },
        h("span", { class: "name" }, d.name, d.id === self ? h("small", {}, ` ${t("devices.this")}`) : null,
          h("small", {}, ` ${d.kind}`)),
        h("span", { class: "when" }, d.last_used_at ? t("devices.used", { date: date(d.last_used_at) }) : ""),
        h("button", { type: "button", class: "act remove", onclick: () => revoke(d) }, t("devices.revoke")))));
    } catch (err) {
      replace(list, h("li", { class: "empty" }, err.message));
    }
  }

  async function revoke(device) {
    if (!await confirmDialog(t("devices.revoke"), t("devices.revoke_confirm",
      { name: device.name }), t("devices.revoke"), true)) return;
    try {
      await del(`/api/devices/${encodeURIComponent(device.id)}`);
    } catch (err) {
      toast(err.message);
    }
    if (device.id === self) location.reload();
    else load();
  }

  load();
  return { refresh: load };
}
