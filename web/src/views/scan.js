// The scan view: camera scanning, a big mode selector kept in step with the station's mode,
// feedback for each result, and manual entry.

import { get, post, ApiError } from "../api.js";
import { beep } from "../beep.js";
import { h, replace, amount, bestBeforeLabel } from "../dom.js";
import { startCamera } from "../scanner.js";

const MODES = [
  ["add", "Add"],
  ["consume", "Use up"],
  ["lookup", "Look up"],
  ["open", "Open"],
  ["spoiled", "Spoiled"],
  ["shopping", "To list"],
];

const HEADLINE = {
  added: "Added", consumed: "Used up", spoiled: "Spoiled", opened: "Opened",
  listed: "On the list", looked_up: "Found", mode_changed: "Mode changed", undone: "Undone",
  unknown: "Unknown product", error: "Not accepted",
};

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
  const modeBar = h("div", { class: "modes", role: "radiogroup", "aria-label": "Scan mode" },
    MODES.map(([name, label]) => {
      const btn = h("button", {
        type: "button", class: `mode mode-${name}`, role: "radio", "aria-checked": "false",
        dataset: { mode: name }, onclick: () => chooseMode(name),
      }, label);
      modeButtons.set(name, btn);
      return btn;
    }));
  const video = h("video", { class: "camera", autoplay: true, muted: true, playsinline: true });
  const cameraNote = h("p", { class: "camera-note" }, "Starting camera…");
  const cameraBox = h("div", { class: "camera-box", id: "camera-box" }, video, cameraNote);
  const startButton = h("button", { type: "button", class: "big hidden", onclick: () => start() },
    "Start camera");
  const result = h("section", { class: "result idle", "aria-live": "assertive", id: "scan-result" },
    h("p", { class: "result-title" }, "Hold a barcode in front of the camera"));
  const history = h("ol", { class: "scan-history", id: "scan-history" });
  const input = h("input", {
    type: "text", inputmode: "numeric", autocomplete: "off", name: "code", id: "manual-code",
    placeholder: "Type a barcode", "aria-label": "Barcode",
  });
  const form = h("form", { class: "manual", onsubmit: (e) => {
    e.preventDefault();
    const code = input.value.trim();
    if (code) {
      input.value = "";
      submit(code);
    }
  } }, input, h("button", { type: "submit", class: "big" }, "Send"));

  const undoButton = h("button", { type: "button", class: "act undo-scan", id: "undo-scan",
    onclick: () => undo() }, "Undo last scan");
  const stationNote = h("p", { class: "note station-note" }, "");
  replace(root,
    h("div", { class: "scan-layout" },
      h("div", { class: "scan-left" }, modeBar, cameraBox, startButton, stationNote),
      h("div", { class: "scan-right" }, result, form, undoButton, h("h2", {}, "Recent scans"),
        history)));

  function learnStation(id) {
    if (!id || id === station) return;
    station = id;
    localStorage.setItem("kitchen.station_id", id);
    stationNote.dataset.station = id;
    stationNote.textContent = `This device scans as station ${id}.`;
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
      if (!station) throw new Error("The node did not name this device's station yet.");
      const answer = await post("/api/scanner/mode", { mode: name, station_id: station });
      if (announced === seen) showMode(answer.mode || name);
    } catch (err) {
      showResult({ outcome: "error", message: err.message });
      if (announced === seen) fetchMode();
    }
  }

  function showResult(r) {
    const outcome = r.outcome || "error";
    result.className = `result outcome-${outcome}`;
    const product = r.product || {};
    const lot = r.lot || {};
    result.dataset.outcome = outcome;
    replace(result,
      h("p", { class: "result-title" }, HEADLINE[outcome] || outcome.replace("_", " ")),
      h("p", { class: "result-message" }, r.message || product.name || ""),
      r.total != null ? h("p", { class: "result-total" },
        `In stock: ${amount(r.total, product.unit)}`) : null,
      lot.best_before ? h("p", { class: "result-bbd" }, bestBeforeLabel(lot.best_before)) : null,
      lot.batch ? h("p", { class: "result-batch" }, `Lot ${lot.batch}`) : null);
    // Restart the flash animation even when the same outcome repeats.
    result.classList.remove("flash");
    void result.offsetWidth;
    result.classList.add("flash");
    beep(TONE[outcome] || "error");
  }

  function remember(code, r, from = null) {
    const label = r.message || (r.product && r.product.name) || r.outcome;
    history.prepend(h("li", { class: `outcome-${r.outcome}`, dataset: { code, station: from || station } },
      h("span", { class: "code" }, printable(code)), " ", h("span", { class: "label" }, label),
      from ? h("small", { class: "station" }, ` at ${from}`) : null));
    while (history.children.length > 8) history.lastChild.remove();
  }

  async function submit(code) {
    const body = { code };
    let answer;
    try {
      answer = await post("/api/scanner/scan", body);
    } catch (err) {
      // A refused scan is a 422 problem that still carries the outcome fields.
      answer = err instanceof ApiError && err.problem && err.problem.outcome ? err.problem
        : { outcome: "error", message: err.message || String(err) };
    }
    if (destroyed) return;
    learnStation(answer.station_id);
    if (answer.mode && answer.outcome === "mode_changed") showMode(answer.mode);
    showResult(answer);
    remember(code, answer);
  }

  async function undo() {
    try {
      const answer = await post("/api/scanner/undo", {});
      showResult({ outcome: "undone", message: answer.message });
    } catch (err) {
      showResult({ outcome: "error", message: err.message });
    }
  }

  async function start() {
    startButton.classList.add("hidden");
    cameraNote.textContent = "Starting camera…";
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
      cameraNote.textContent = `Camera unavailable: ${err.message || err}. Use manual entry.`;
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
        remember("", { outcome: "undone", message: data.message }, data.station_id || "?");
      }
    },
    refresh: fetchMode,
    destroy() {
      destroyed = true;
      if (camera) camera.stop();
    },
  };
}

/** Show control characters (GS = ASCII 29) visibly in the history list. */
function printable(code) {
  return code.replace(/\x1d/g, "␝");
}
