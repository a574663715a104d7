// The scan view: camera scanning, a big mode selector kept in step with the station's mode,
// feedback for each result, and manual entry.

import { isNoneInStock } from "../actions.js";
import { get, post, ApiError } from "../api.js";
import { beep } from "../beep.js";
import { h, replace, bestBeforeLabel } from "../dom.js";
import { productDialog } from "../forms.js";
import { amount, t } from "../i18n.js";
import { labelButton } from "../labels.js";
import { confirmDialog } from "../ui.js";
import { startCamera } from "../scanner.js";

const MODE_NAMES = ["add", "consume", "lookup", "open", "spoiled", "shopping"];

function modeLabel(name) {
  const labels = {
    add: t("mode.add"), consume: t("mode.consume"), lookup: t("mode.lookup"),
    open: t("mode.open"), spoiled: t("mode.spoiled"), shopping: t("mode.shopping"),
  };
  return labels[name] || name;
}

/** The headline of an outcome ("Added", "Unknown product", ...). */
export function headline(outcome) {
  const labels = {
    added: t("outcome.added"), consumed: t("outcome.consumed"), spoiled: t("outcome.spoiled"),
    opened: t("outcome.opened"), listed: t("outcome.listed"), looked_up: t("outcome.looked_up"),
    mode_changed: t("outcome.mode_changed"), undone: t("outcome.undone"),
    unknown: t("outcome.unknown"), error: t("outcome.error"),
    none_in_stock: t("outcome.none_in_stock"),
  };
  return labels[outcome] || String(outcome).replace("_", " ");
}

// Outcomes whose lot is still there to put a label on (a just-added one above all).
const LABELLED = new Set(["added", "opened", "looked_up"]);

// Placeholder products the node makes for unknown codes scanned in add mode.
const PLACEHOLDER = /^Unknown product /;

const TONE = {
  added: "ok", consumed: "ok", opened: "ok", spoiled: "ok", listed: "ok",
  looked_up: "info", mode_changed: "info", undone: "info", unknown: "warn", error: "error",
};

/** Render the scan view into `root`. */
export function scanView(root) {
  // This device's own station, as the node names it (from a paired device's token): scans,
  // undo and the mode query go without a station, so the node credits this device.
  let station = null;
  let mode = null;
  let camera = null;
  let destroyed = false;

  const modeButtons = new Map();
  const modeBar = h("div", { class: "modes", role: "radiogroup", "aria-label": t("scan.mode_label") },
    MODE_NAMES.map((name) => {
      const btn = h("button", {
        type: "button", class: `mode mode-${name}`, role: "radio", "aria-checked": "false",
        dataset: { mode: name }, onclick: () => chooseMode(name),
      }, modeLabel(name));
      modeButtons.set(name, btn);
      return btn;
    }));
  const video = h("video", { class: "camera", autoplay: true, muted: true, playsinline: true });
  const cameraNote = h("p", { class: "camera-note" }, t("scan.starting"));
  const cameraBox = h("div", { class: "camera-box", id: "camera-box" }, video, cameraNote);
  const startButton = h("button", { type: "button", class: "big hidden", onclick: () => start() },
    t("scan.start"));
  const result = h("section", { class: "result idle", "aria-live": "assertive", id: "scan-result" },
    h("p", { class: "result-title" }, t("scan.hold")));
  const history = h("ol", { class: "scan-history", id: "scan-history" });
  const input = h("input", {
    type: "text", inputmode: "numeric", autocomplete: "off", name: "code", id: "manual-code",
    placeholder: t("scan.type_code"), "aria-label": t("scan.barcode"),
  });
  const form = h("form", { class: "manual", onsubmit: (e) => {
    e.preventDefault();
    const code = input.value.trim();
    if (code) {
      input.value = "";
      submit(code);
    }
  } }, input, h("button", { type: "submit", class: "big" }, t("scan.send")));

  const undoButton = h("button", { type: "button", class: "act undo-scan", id: "undo-scan",
    onclick: () => undo() }, t("scan.undo_last"));
  const stationNote = h("p", { class: "note station-note" }, "");
  replace(root,
    h("div", { class: "scan-layout" },
      h("div", { class: "scan-left" }, modeBar, cameraBox, startButton, stationNote),
      h("div", { class: "scan-right" }, result, form, undoButton, h("h2", {}, t("scan.recent")),
        history)));

  function learnStation(id) {
    if (!id || id === station) return;
    station = id;
    localStorage.setItem("kitchen.station_id", id);
    stationNote.dataset.station = id;
    stationNote.textContent = t("scan.station_note", { station: id });
  }

  function showMode(next) {
    mode = next;
    for (const [name, btn] of modeButtons) {
      btn.classList.toggle("active", name === next);
      btn.setAttribute("aria-checked", String(name === next));
    }
    root.dataset.mode = next || "";
  }

  // Bumped by every mode the node announces: an answer to our own request that arrives after
  // a newer announcement (the box's button, another client) must not undo it.
  let announced = 0;

  async function chooseMode(name) {
    const seen = announced;
    showMode(name);
    try {
      if (!station) await fetchMode();
      if (!station) throw new Error(t("scan.no_station"));
      const answer = await post("/api/scanner/mode", { mode: name, station_id: station });
      if (announced === seen) showMode(answer.mode || name);
    } catch (err) {
      showResult({ outcome: "error", message: err.message });
      if (announced === seen) fetchMode();
    }
  }

  function showResult(r, code = null) {
    const outcome = r.outcome || "error";
    result.className = `result outcome-${outcome}`;
    const product = r.product || {};
    const lot = r.lot || {};
    result.dataset.outcome = outcome;
    const placeholder = product.placeholder || PLACEHOLDER.test(product.name || "");
    let offer = null;
    if (outcome === "unknown" && code) {
      offer = h("button", { type: "button", class: "big create-product", id: "create-product",
        onclick: () => createFor(code, r) }, t("scan.create"));
    } else if (placeholder && product.id) {
      offer = h("button", { type: "button", class: "big create-product", id: "name-product",
        onclick: async () => {
          const saved = await productDialog(product);
          if (saved) showResult({ ...r, product: saved, message: "" }, null);
        } }, t("scan.name_it"));
    }
    replace(result,
      h("p", { class: "result-title" }, headline(outcome)),
      h("p", { class: "result-message" }, product.name || r.message || ""),
      r.total != null ? h("p", { class: "result-total" },
        t("scan.in_stock", { amount: amount(r.total, product.unit) })) : null,
      lot.best_before ? h("p", { class: "result-bbd" }, bestBeforeLabel(lot.best_before)) : null,
      lot.batch ? h("p", { class: "result-batch" }, t("scan.lot", { batch: lot.batch })) : null,
      offer,
      lot.id && LABELLED.has(outcome) ? labelButton(lot.id, "act label print-label") : null);
    // Restart the flash animation even when the same outcome repeats.
    result.classList.remove("flash");
    void result.offsetWidth;
    result.classList.add("flash");
    beep(TONE[outcome] || "error");
  }

  /**
   * Unknown code: create the product there and then (pre-filled with what the node offers:
   * the barcode, unit and pack size from a GS1 weight, a name central already knows, then
   * what Open Food Facts says through central), then send the scan again so it does what the
   * mode meant.
   */
  async function createFor(code, r) {
    const offer = r.create || {};
    const known = { ...(offer.product || {}) };
    const barcode = offer.barcode || (r.scan && r.scan.code) || code;
    delete known.barcodes;
    if (!known.name) delete known.name;
    // Asked at once, shown when it comes: the dialog opens without waiting for central.
    const lookup = /^\d{8,14}$/.test(barcode)
      ? get(`/api/products/lookup?barcode=${encodeURIComponent(barcode)}`)
        .then((answer) => (answer && answer.found ? answer.product : null))
        .catch(() => null) // central away or no sync: the dialog stays as it is
      : null;
    const created = await productDialog(null, { ...known, barcode }, lookup);
    if (!created) return;
    const resume = offer.resume && offer.resume.body;
    submit(resume ? resume.code : code, resume && resume.mode ? { mode: resume.mode } : {});
  }

  /** One line of "Recent scans": the product and what happened, never the raw code. */
  function remember(code, r, from = null) {
    const product = r.product || {};
    const gtin = (r.scan && r.scan.code) || null;
    const what = product.name
      || (r.outcome === "unknown" || r.outcome === "error"
        ? (gtin ? t("scan.unknown_code", { code: gtin }) : r.message) : r.message) || "";
    history.prepend(h("li", { class: `outcome-${r.outcome}`,
      dataset: { code, station: from || station, outcome: r.outcome } },
    h("span", { class: "label" }, headline(r.outcome)), " ",
    h("span", { class: "what" }, what),
    r.total != null ? h("small", { class: "total" }, ` · ${amount(r.total, product.unit)}`)
      : null,
    from ? h("small", { class: "station" }, ` ${t("scan.at", { station: from })}`) : null));
    while (history.children.length > 8) history.lastChild.remove();
  }

  /** Strike through the newest scan of a station that an undo withdrew. */
  function markUndone(from) {
    for (const li of history.children) {
      if (li.dataset.station === from && !li.classList.contains("undone")
        && !["unknown", "error", "looked_up", "mode_changed"].includes(li.dataset.outcome)) {
        li.classList.add("undone");
        li.append(h("small", { class: "badge" }, ` ${t("scan.undone_at")}`));
        return;
      }
    }
  }

  async function send(code, extra = {}) {
    // "ask": an unknown code is offered for creation here instead of becoming a placeholder.
    const body = { code, unknown: "ask", ...extra };
    try {
      return await post("/api/scanner/scan", body);
    } catch (err) {
      if (isNoneInStock(err) && !extra.allow_negative) {
        const name = (err.problem.product && err.problem.product.name) || code;
        if (await confirmDialog(t("negative.title"), t("negative.text", { name }),
          t("negative.record"))) {
          return send(code, { ...extra, allow_negative: true });
        }
        return { ...err.problem, outcome: "none_in_stock", message: err.message, declined: true };
      }
      // A refused scan is a 422 problem that still carries the outcome fields.
      return err instanceof ApiError && err.problem && err.problem.outcome ? err.problem
        : { outcome: "error", message: err.message || String(err) };
    }
  }

  async function submit(code, extra = {}) {
    let answer = await send(code, extra);
    if (answer.outcome === "none_in_stock" && !answer.declined) {
      // The node may also answer 200 with this outcome: ask the same question.
      const name = (answer.product && answer.product.name) || code;
      if (await confirmDialog(t("negative.title"), t("negative.text", { name }),
        t("negative.record"))) answer = await send(code, { ...extra, allow_negative: true });
    }
    if (destroyed) return;
    learnStation(answer.station_id);
    if (answer.mode && answer.outcome === "mode_changed") showMode(answer.mode);
    showResult(answer, code);
    remember(code, answer);
  }

  async function undo() {
    try {
      const answer = await post("/api/scanner/undo", {});
      showResult({ outcome: "undone", message: answer.message });
      markUndone(station);
    } catch (err) {
      showResult({ outcome: "error", message: err.message });
    }
  }

  async function start() {
    startButton.classList.add("hidden");
    cameraNote.textContent = t("scan.starting");
    try {
      let frames = 0;
      camera = await startCamera(video, submit, {
        onFrame: () => { cameraBox.dataset.frames = String(++frames); },
      });
      if (destroyed) {
        camera.stop();
        return;
      }
      cameraNote.textContent = "";
      root.dataset.camera = "running";
    } catch (err) {
      cameraNote.textContent = t("scan.camera_failed", { error: err.message || err });
      startButton.classList.remove("hidden");
      root.dataset.camera = "failed";
    }
  }

  function fetchMode() {
    const seen = announced;
    return get("/api/scanner/mode")
      .then((m) => {
        if (destroyed) return;
        learnStation(m.station_id);
        if (announced === seen) showMode(m.mode);
      })
      .catch(() => {});
  }

  fetchMode();
  start();

  return {
    onMessage(msg) {
      const data = msg.data || {};
      if (msg.type === "scanner.mode") {
        // A change of the household default moves every station that has no mode of its own.
        if (data.station_id === station) {
          announced += 1;
          showMode(data.mode);
        } else if (data.station_id == null) {
          fetchMode();
        }
      } else if (msg.type === "scanner.scan" && data.station_id !== station) {
        remember(data.code || "", data, data.station_id || "?");
      } else if (msg.type === "scanner.undo" && data.station_id !== station) {
        markUndone(data.station_id || "?");
      }
    },
    refresh: fetchMode,
    destroy() {
      destroyed = true;
      if (camera) camera.stop();
    },
  };
}
