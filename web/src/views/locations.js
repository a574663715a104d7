// Locations: create, rename, reorder (up/down), mark as freezer, delete moving their stock
// to another location.

import { write } from "../actions.js";
import { del, get, patch, post, put, query } from "../api.js";
import { coalesce, h, replace } from "../dom.js";
import { t } from "../i18n.js";
import {
  confirmDialog, dialog, field, formDialog, locationSelect, sortLocations, textInput,
} from "../ui.js";

/** Render the locations view into `root`. */
export function locationsView(root) {
  const list = h("ul", { class: "rows locations", id: "locations-list" });
  const name = textInput("name", "", { id: "location-name", required: true, maxlength: "100" });
  replace(root, h("h1", {}, t("locations.title")),
    h("form", { class: "add-item", id: "location-form", onsubmit: async (e) => {
      e.preventDefault();
      const value = name.value.trim();
      if (!value) return;
      if (await write(() => post("/api/locations", { name: value }),
        t("locations.created", { name: value }))) name.value = "";
      load();
    } }, field(t("locations.new"), name),
    h("button", { type: "submit", class: "big" }, t("locations.create"))),
    list);

  let items = [];
  let counts = new Map();

  async function rename(loc) {
    const saved = await formDialog(t("locations.rename", { name: loc.name }),
      [field(t("locations.name"), textInput("name", loc.name, { required: true,
        maxlength: "100" }))], t("common.save"), async (f) =>
        patch(`/api/locations/${loc.id}`, { name: f.elements.name.value.trim() }));
    if (saved) load();
  }

  async function toggleFreezer(loc, on) {
    await write(() => patch(`/api/locations/${loc.id}`, { freezer: on }), t("common.saved"));
    load();
  }

  async function move(index, by) {
    // The whole order in one request: the node gives each its sort key in this order.
    if (!items[index + by]) return;
    const ids = items.map((l) => l.id);
    [ids[index], ids[index + by]] = [ids[index + by], ids[index]];
    await write(() => put("/api/locations/order", { ids }), t("common.saved"));
    load();
  }

  async function remove(loc) {
    const others = items.filter((l) => l.id !== loc.id);
    const held = counts.get(loc.id) || 0;
    let target = null;
    if (held && others.length) {
      target = await dialog(t("locations.delete_title", { name: loc.name }), (close) => {
        const where = locationSelect("move_to", others, others[0].id, false);
        return h("form", { class: "dialog-form", onsubmit: (e) => {
          e.preventDefault();
          close(where.value);
        } }, field(t("locations.delete_move"), where),
        h("div", { class: "dialog-actions" },
          h("button", { type: "button", class: "cancel", onclick: () => close(undefined) },
            t("common.cancel")),
          h("button", { type: "submit", class: "big ok danger" }, t("common.delete"))));
      });
      if (!target) return;
    } else if (!await confirmDialog(t("locations.delete_title", { name: loc.name }), "",
      t("common.delete"), true)) {
      return;
    }
    await write(() => del(`/api/locations/${loc.id}` + query({ move_to: target })),
      t("locations.deleted", { name: loc.name }));
    load();
  }

  const load = coalesce(async () => {
    try {
      const [where, lots] = await Promise.all([get("/api/locations"),
        get("/api/inventory?limit=20000")]);
      items = sortLocations(where.items);
      counts = new Map();
      for (const lot of lots.items) {
        counts.set(lot.location_id, (counts.get(lot.location_id) || 0) + 1);
      }
    } catch (err) {
      replace(list, h("li", { class: "empty" }, err.message));
      return;
    }
    replace(list, items.length ? items.map((loc, i) => {
      const freezer = h("input", { type: "checkbox", class: "freezer", checked: !!loc.freezer,
        id: `freezer-${loc.id}`, onchange: () => toggleFreezer(loc, freezer.checked) });
      return h("li", { class: `row ${loc.freezer ? "is-freezer" : ""}`,
        dataset: { locationId: loc.id } },
      h("span", { class: "name" }, loc.name, loc.freezer ? h("span", { class: "snow",
        "aria-hidden": "true" }, " ❄") : null,
      h("small", {}, ` ${t("locations.lots", { n: counts.get(loc.id) || 0 })}`)),
      h("label", { class: "toggle", for: freezer.id }, freezer, t("locations.freezer")),
      h("span", { class: "actions" },
        h("button", { type: "button", class: "act up", disabled: i === 0,
          "aria-label": t("locations.up", { name: loc.name }), onclick: () => move(i, -1) }, "↑"),
        h("button", { type: "button", class: "act down", disabled: i === items.length - 1,
          "aria-label": t("locations.down", { name: loc.name }), onclick: () => move(i, 1) },
        "↓"),
        h("button", { type: "button", class: "act rename", "aria-label":
          t("locations.rename", { name: loc.name }), onclick: () => rename(loc) }, "✎"),
        h("button", { type: "button", class: "act remove", "aria-label":
          t("locations.delete", { name: loc.name }), onclick: () => remove(loc) }, "✕")));
    }) : h("li", { class: "empty" }, t("locations.empty")));
  });

  load();
  return {
    onMessage(msg) {
      if (/^(location|inventory)\./.test(msg.type)) load();
    },
    refresh: load,
  };
}
