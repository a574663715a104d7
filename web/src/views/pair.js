// Pairing: the node's display shows a code when its pairing button is held (or a paired device
// asks for one in its Devices view); typed here, the node answers with an HttpOnly session
// cookie. The devices view lets a paired device make a code for a new one, unpair itself, and
// lets an owner list, promote and revoke every device.

import { del, get, patch, post } from "../api.js";
import { h, replace, toast } from "../dom.js";
import { date, t } from "../i18n.js";
import { field } from "../ui.js";

/** Render the pairing view into `root`; `onPaired` runs after success. */
export function pairView(root, params, onPaired) {
  const note = h("p", { class: "note", id: "pair-note", "aria-live": "polite" }, t("pair.note"));
  const code = h("input", { type: "text", inputmode: "numeric", autocomplete: "one-time-code",
    pattern: "[0-9]{6}", maxlength: "6", id: "pair-code", required: true,
    placeholder: t("pair.code_placeholder"), value: params.code || "" });
  const name = h("input", { type: "text", id: "pair-name", required: true, maxlength: "64",
    value: localStorage.getItem("kitchen.device_name") || "iPad" });
  replace(root, h("h1", {}, t("pair.title")), note,
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

/** Render the devices view: a code for a new device; every device for an owner. */
export function devicesView(root) {
  const list = h("ul", { class: "rows devices", id: "devices" });
  const offer = h("p", { class: "note pair-offer", id: "pair-offer", "aria-live": "polite" });
  const own = h("div", { class: "own-device" });
  replace(root, h("h1", {}, t("devices.title")),
    h("button", { type: "button", class: "big", id: "pair-another", onclick: () => newCode() },
      t("devices.pair_new")), offer, own, list);
  let self = null;

  async function newCode() {
    try {
      const answer = await post("/api/pairing/start", {});
      const minutes = Math.round((answer.expires_in || 300) / 60);
      replace(offer, t("devices.offer_before"),
        h("strong", { class: "code", id: "offered-code" }, answer.code),
        t("devices.offer_after", { minutes }));
    } catch (err) {
      replace(offer, err.message);
    }
  }

  async function load() {
    try {
      const status = await fetch("/api/pairing/status", { cache: "no-store" }).then((r) => r.json());
      self = status.device_id;
      root.dataset.role = status.role || "";
      replace(own, h("p", { class: "note" }, t("devices.self", { name: status.name || "?",
        role: status.role || "?" }), " ", t("devices.note")),
      h("button", { type: "button", class: "act remove", id: "unpair-self",
        onclick: () => revoke({ id: self, name: t("devices.this_device") }) }, t("devices.unpair")));
      if (status.role !== "owner") {
        replace(list, h("li", { class: "empty" }, t("devices.owner_only")));
        return;
      }
      const { items } = await get("/api/devices");
      replace(list, items.map((d) => h("li", { class: "row", dataset: { deviceId: d.id } },
        h("span", { class: "name" }, d.name, d.id === self ? h("small", {}, ` ${t("devices.this")}`) : null,
          h("small", {}, ` ${d.kind}, ${d.role}`)),
        h("span", { class: "when" }, d.last_used_at ? t("devices.used", { date: date(d.last_used_at) })
          : ""),
        d.role !== "owner" ? h("button", { type: "button", class: "act promote",
          onclick: () => promote(d) }, t("devices.promote")) : null,
        h("button", { type: "button", class: "act remove", onclick: () => revoke(d) }, t("devices.revoke")))));
    } catch (err) {
      replace(list, h("li", { class: "empty" }, err.message));
    }
  }

  async function promote(device) {
    try {
      await patch(`/api/devices/${encodeURIComponent(device.id)}`, { role: "owner" });
    } catch (err) {
      toast(err.message);
    }
    load();
  }

  async function revoke(device) {
    if (!confirm(t("devices.revoke_confirm", { name: device.name }))) return;
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
