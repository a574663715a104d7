// The app shell: hash router, live connection, offline banner, sync note, service worker.

import { get, markReachable, onApiState } from "./api.js";
import { unlockAudioOnGesture } from "./beep.js";
import { applySettings, loadSettings } from "./household.js";
import { dateTime, t } from "./i18n.js";
import { connect, disconnect, onMessage, onStatus, probe, reconnectNow } from "./live.js";
import { forgetMissingPicture } from "./ui.js";
import { historyView } from "./views/history.js";
import { locationsView } from "./views/locations.js";
import { devicesView, pairView } from "./views/pair.js";
import { productView } from "./views/product.js";
import { receiptsView, receiptView } from "./views/receipts.js";
import { scanView } from "./views/scan.js";
import { settingsView } from "./views/settings.js";
import { shoppingView } from "./views/shopping.js";
import { stockView } from "./views/stock.js";

const ROUTES = [
  [/^\/?$/, "stock", stockView, () => ({ by: "product" })],
  [/^\/stock\/?$/, "stock", stockView, () => ({ by: "product" })],
  [/^\/stock\/location$/, "stock", stockView, () => ({ by: "location" })],
  [/^\/product\/(.+)$/, "stock", productView, (m) => ({ id: decodeURIComponent(m[1]) })],
  [/^\/shopping$/, "shopping", shoppingView, () => ({})],
  [/^\/scan$/, "scan", scanView, () => ({})],
  [/^\/receipts$/, "receipts", receiptsView, () => ({})],
  [/^\/receipt\/(.+)$/, "receipts", receiptView, (m) => ({ id: decodeURIComponent(m[1]) })],
  [/^\/history$/, "history", historyView, () => ({})],
  [/^\/locations$/, "locations", locationsView, () => ({})],
  [/^\/settings$/, "settings", settingsView, () => ({})],
  [/^\/devices$/, "devices", devicesView, () => ({})],
  // A QR on the node's display may carry the one-time code in the fragment (never sent).
  [/^\/pair(?:\?code=(\d{6}))?$/, "pair", pairView, (m) => ({ code: m[1] })],
];

const main = document.getElementById("view");
const banner = document.getElementById("banner");
const syncNote = document.getElementById("sync-note");
let current = null;
// Until the pairing status is known nothing else is asked: an unpaired device must not fire
// requests (views, WebSocket) that can only get 401.
let wsStatus = "starting";
let cacheOffline = false;

function route() {
  const path = location.hash.replace(/^#/, "") || "/";
  if (current && current.destroy) current.destroy();
  current = null;
  if (wsStatus === "starting") return;
  if (wsStatus === "unpaired" && !path.startsWith("/pair")) {
    location.hash = "#/pair";
    return;
  }
  for (const [re, tab, view, params] of ROUTES) {
    const m = path.match(re);
    if (!m) continue;
    document.body.dataset.view = tab;
    for (const a of document.querySelectorAll("nav.tabs a")) {
      a.classList.toggle("active", a.dataset.tab === tab);
    }
    current = view(main, params(m), paired, rerender) || {};
    return;
  }
  location.hash = "#/stock";
}

function paired() {
  connect();
  loadSettings().then(() => current && current.refresh && current.refresh());
  location.hash = "#/stock";
}

/** Put the shell's texts in the current language. */
function translateShell() {
  document.title = t("app.title");
  document.querySelector(".brand").textContent = t("app.title");
  for (const a of document.querySelectorAll("[data-tab]")) {
    const key = `tab.${a.dataset.tab}`;
    a.textContent = t(key);
  }
  updateBanner();
}

/** Redraw the shell and the current view (after a language switch). */
function rerender() {
  translateShell();
  route();
}

function unpaired() {
  disconnect("unpaired");
  if (!location.hash.startsWith("#/pair")) location.hash = "#/pair";
}

function updateBanner() {
  const offline = wsStatus === "offline" || cacheOffline;
  document.body.classList.toggle("offline", offline);
  document.body.classList.toggle("unpaired", wsStatus === "unpaired");
  banner.hidden = !offline;
  banner.dataset.state = cacheOffline ? "read-only" : offline ? "reconnecting" : "";
  banner.textContent = cacheOffline ? t("banner.readonly") : t("banner.reconnecting");
}

/** Show "sync behind" from a sync status ({connected, outbox_depth, last_ack, enabled, ...}). */
function showSync(data) {
  if (!data || typeof data !== "object" || data.enabled === false) {
    syncNote.hidden = true;
    return;
  }
  const waiting = Number(data.outbox_depth ?? data.outbox ?? 0) || 0;
  let text = "";
  if (data.connected === false) {
    text = waiting ? t("sync.offline_waiting", { n: waiting }) : t("sync.offline");
  } else if (waiting > 0) text = t("sync.behind", { n: waiting });
  syncNote.hidden = !text;
  syncNote.textContent = text;
  syncNote.title = data.last_ack ? t("sync.last_ack", { when: dateTime(data.last_ack) }) : "";
}

onStatus((status) => {
  if (status === "connecting" && wsStatus === "starting") return;
  const wasOnline = wsStatus === "online";
  wsStatus = status;
  document.body.dataset.live = status; // for people debugging, and for the browser tests
  if (status === "online") markReachable(true);
  updateBanner();
  if (status === "unpaired") unpaired();
  // Coming back: views refetch whatever they missed while the socket was down.
  if (status === "online" && !wasOnline) {
    if (!current) route();
    else if (current.refresh) current.refresh();
  }
});
onApiState((state) => {
  if (state.unauthorized) unpaired();
  if ("offline" in state) {
    cacheOffline = state.offline;
    updateBanner();
  }
});
onMessage((msg) => {
  if (msg.type.startsWith("settings.")) applySettings(msg.data);
  if (msg.type.startsWith("product.") && msg.entity_id) forgetMissingPicture(msg.entity_id);
  if (msg.type === "sync.status") showSync(msg.data);
  if (msg.type === "node.online" && msg.data) showSync(msg.data.sync);
  if (current && current.onMessage) current.onMessage(msg);
});

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") reconnectNow();
});
window.addEventListener("online", reconnectNow);
window.addEventListener("hashchange", route);
unlockAudioOnGesture();
translateShell();
get("/api/health").then((health) => showSync(health.sync)).catch(() => {});

// Ask first (public, never cached): paired devices load settings and connect, others pair.
probe().then(async (state) => {
  if (state === "unpaired") {
    wsStatus = "unpaired";
    document.body.dataset.live = "unpaired";
    updateBanner();
    disconnect("unpaired");
    route();
    return;
  }
  wsStatus = "connecting";
  if (state === "paired") await loadSettings();
  route();
  connect();
});

if ("serviceWorker" in navigator && window.isSecureContext) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch((err) => {
    console.warn("service worker registration failed", err);
  });
}
