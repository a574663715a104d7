// Pairing: the node's display shows a code when its pairing button is held (or a paired device
// asks for one in its Devices view); typed here, the node answers with an HttpOnly session
// cookie. The devices view lets a paired device make a code for a new one, unpair itself, and
// lets an owner list, promote and revoke every device.

import { del, get, patch, post } from "../api.js";
import { h, replace, toast } from "../dom.js";

/** Render the pairing view into `root`; `onPaired` runs after success. */
export function pairView(root, params, onPaired) {
  const note = h("p", { class: "note", id: "pair-note", "aria-live": "polite" },
    "This device is not paired with the kitchen node yet. Hold the pairing button on the scan "
    + "box, or open Devices on a paired iPad and tap “Pair a new device”; then type the "
    + "code it shows.");
  const code = h("input", { type: "text", inputmode: "numeric", autocomplete: "one-time-code",
    pattern: "[0-9]{6}", maxlength: "6", id: "pair-code", required: true,
    placeholder: "6-digit code", "aria-label": "Pairing code", value: params.code || "" });
  const name = h("input", { type: "text", id: "pair-name", required: true, maxlength: "64",
    value: localStorage.getItem("kitchen.device_name") || "iPad", "aria-label": "Device name" });
  replace(root, h("h1", {}, "Pair this device"), note,
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

/** Render the devices view: a code for a new device; every device for an owner. */
export function devicesView(root) {
  const list = h("ul", { class: "rows devices", id: "devices" });
  const offer = h("p", { class: "note pair-offer", id: "pair-offer", "aria-live": "polite" });
  const own = h("div", { class: "own-device" });
  replace(root, h("h1", {}, "Devices"),
    h("button", { type: "button", class: "big", id: "pair-another", onclick: () => newCode() },
      "Pair a new device"), offer, own, list);
  let self = null;

  async function newCode() {
    try {
      const answer = await post("/api/pairing/start", {});
      const minutes = Math.round((answer.expires_in || 300) / 60);
      replace(offer, "On the new device open this node's page and type ",
        h("strong", { class: "code", id: "offered-code" }, answer.code),
        ` (valid for ${minutes} min, once).`);
    } catch (err) {
      replace(offer, err.message);
    }
  }

  async function load() {
    try {
      const status = await fetch("/api/pairing/status", { cache: "no-store" }).then((r) => r.json());
      self = status.device_id;
      root.dataset.role = status.role || "";
      replace(own, h("p", { class: "note" }, `This device: ${status.name || "?"} (${status.role || "?"}).`,
        " Revoke a device that is lost or no longer used: it has to pair again."),
        h("button", { type: "button", class: "act remove", id: "unpair-self",
          onclick: () => revoke({ id: self, name: "this device" }) }, "Unpair this device"));
      if (status.role !== "owner") {
        replace(list, h("li", { class: "empty" },
          "Only an owner sees and revokes the other devices."));
        return;
      }
      const { items } = await get("/api/devices");
      replace(list, items.map((d) => h("li", { class: "row", dataset: { deviceId: d.id } },
        h("span", { class: "name" }, d.name, d.id === self ? h("small", {}, " (this device)") : null,
          h("small", {}, ` ${d.kind}, ${d.role}`)),
        h("span", { class: "when" }, d.last_used_at ? `used ${d.last_used_at.slice(0, 10)}` : ""),
        d.role !== "owner" ? h("button", { type: "button", class: "act promote",
          onclick: () => promote(d) }, "Make owner") : null,
        h("button", { type: "button", class: "act remove", onclick: () => revoke(d) }, "Revoke"))));
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
    if (!confirm(`Revoke ${device.name}?`)) return;
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
