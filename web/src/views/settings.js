// Settings: this device's language; the household's "due soon" horizon (one number from the
// node, used everywhere); the node's name; the scan mode of each station and the household
// default; a link to the paired devices.

import { write } from "../actions.js";
import { get, patch, post } from "../api.js";
import { coalesce, h, replace } from "../dom.js";
import { applySettings, householdSettings, loadSettings } from "../household.js";
import { LANGUAGES, language, setLanguage, t } from "../i18n.js";
import { field, numberInput, select, textInput } from "../ui.js";

const MODES = ["add", "consume", "lookup", "open", "spoiled", "shopping"];

function modeOptions() {
  const labels = {
    add: t("mode.add"), consume: t("mode.consume"), lookup: t("mode.lookup"),
    open: t("mode.open"), spoiled: t("mode.spoiled"), shopping: t("mode.shopping"),
  };
  return MODES.map((m) => [m, labels[m]]);
}

/** Render the settings into `root`; `rerender()` redraws the whole app (a language switch). */
export function settingsView(root, params, paired, rerender) {
  const lang = select("language", LANGUAGES, language(), { id: "settings-language" });
  lang.addEventListener("change", () => {
    setLanguage(lang.value);
    if (rerender) rerender();
  });
  const dueSoon = numberInput("due_soon_days", householdSettings().due_soon_days,
    { id: "settings-due-soon", step: "1", max: "365", required: true });
  const nodeName = textInput("node_name", householdSettings().node_name,
    { id: "settings-node-name", maxlength: "64" });
  const modes = h("ul", { class: "rows modes-list", id: "settings-modes" });
  const form = h("form", { class: "settings-form", id: "settings-form", onsubmit: async (e) => {
    e.preventDefault();
    const body = {};
    const days = Math.round(Number(dueSoon.value));
    if (days !== Number(householdSettings().due_soon_days)) body.due_soon_days = days;
    const name = nodeName.value.trim();
    if (name && name !== householdSettings().node_name) body.node_name = name;
    if (!Object.keys(body).length) return;
    const saved = await write(() => patch("/api/settings", body), t("settings.saved"));
    if (saved) applySettings(saved);
  } },
  field(t("settings.due_soon"), dueSoon, t("settings.due_soon_hint")),
  field(t("settings.node_name"), nodeName),
  h("button", { type: "submit", class: "big", id: "settings-save" }, t("common.save")));
  replace(root, h("h1", {}, t("settings.title")),
    field(t("settings.language"), lang), form,
    h("h2", {}, t("settings.modes")), modes,
    h("p", {}, h("a", { href: "#/devices", class: "link" }, t("settings.devices"))));

  async function setMode(stationId, mode) {
    const body = stationId ? { mode, station_id: stationId } : { mode };
    await write(() => post("/api/scanner/mode", body), t("settings.saved"));
    loadModes();
  }

  const loadModes = coalesce(async () => {
    let stations = [];
    let fallback = null;
    try {
      [{ items: stations }, fallback] = await Promise.all([get("/api/scanner/stations"),
        get("/api/scanner/mode")]);
    } catch (err) {
      replace(modes, h("li", { class: "empty" }, err.message));
      return;
    }
    const rows = [[null, t("settings.default_mode"), fallback.default]];
    for (const s of stations) rows.push([s.id, s.name || s.id, s.mode]);
    replace(modes, rows.map(([id, label, mode]) => {
      const control = select("mode", modeOptions(), mode, { dataset: { station: id || "" },
        "aria-label": id ? t("settings.station_mode", { station: label })
          : t("settings.default_mode") });
      control.addEventListener("change", () => setMode(id, control.value));
      return h("li", { class: "row", dataset: { station: id || "default" } },
        h("span", { class: "name" }, label), control);
    }));
  });

  async function refresh() {
    const now = await loadSettings();
    if (document.activeElement !== dueSoon) dueSoon.value = now.due_soon_days ?? "";
    if (document.activeElement !== nodeName) nodeName.value = now.node_name ?? "";
    loadModes();
  }

  refresh();
  return {
    onMessage(msg) {
      if (msg.type.startsWith("settings.")) refresh();
      if (msg.type === "scanner.mode") loadModes();
    },
    refresh,
  };
}
