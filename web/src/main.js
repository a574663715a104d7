// The app shell: hash router, live connection, offline banner, service worker.

import { onApiState, get } from "./api.js";
import { unlockAudioOnGesture } from "./beep.js";
import { connect, onMessage, onStatus, reconnectNow } from "./live.js";
import { pairView } from "./views/pair.js";
import { productView } from "./views/product.js";
import { scanView } from "./views/scan.js";
import { shoppingView } from "./views/shopping.js";
import { stockView } from "./views/stock.js";

const ROUTES = [
  [/^\/?$/, "stock", stockView, () => ({})],
  [/^\/stock\/?$/, "stock", stockView, () => ({ by: "product" })],
  [/^\/stock\/location$/, "stock", stockView, () => ({ by: "location" })],
  [/^\/product\/(.+)$/, "stock", productView, (m) => ({ id: decodeURIComponent(m[1]) })],
  [/^\/shopping$/, "shopping", shoppingView, () => ({})],
  [/^\/scan$/, "scan", scanView, () => ({})],
  // A QR on the node's display may carry the one-time code in the fragment (never sent).
  [/^\/pair(?:\?code=(\d{6}))?$/, "pair", pairView, (m) => ({ code: m[1] })],
];

const main = document.getElementById("view");
const banner = document.getElementById("banner");
const syncNote = document.getElementById("sync-note");
let current = null;
let wsStatus = "connecting";
let cacheOffline = false;

function route() {
  const path = location.hash.replace(/^#/, "") || "/";
  if (current && current.destroy) current.destroy();
  current = null;
  for (const [re, tab, view, params] of ROUTES) {
    const m = path.match(re);
    if (!m) continue;
    document.body.dataset.view = tab;
    for (const a of document.querySelectorAll("nav.tabs a")) {
      a.classList.toggle("active", a.dataset.tab === tab);
    }
    current = view(main, params(m), () => {
      location.hash = "#/stock";
      connect();
    }) || {};
    return;
  }
  location.hash = "#/stock";
}

function updateBanner() {
  const offline = wsStatus === "offline" || cacheOffline;
  document.body.classList.toggle("offline", offline);
  banner.hidden = !offline;
  banner.textContent = cacheOffline
    ? "The node is unreachable: showing the last known data, read-only."
    : "The node is unreachable: reconnecting…";
}

function showSync(data) {
  const pending = Number(data && (data.pending ?? data.outbox ?? 0));
  const state = data && (data.state || data.status);
  const behind = pending > 0 || (state && !["connected", "ok", "idle", "disabled"].includes(state));
  syncNote.hidden = !behind;
  syncNote.textContent = behind ? `Sync behind${pending ? `: ${pending} waiting` : ""}` : "";
}

onStatus((status) => {
  const wasOffline = wsStatus === "offline";
  wsStatus = status;
  updateBanner();
  // Coming back: views refetch whatever they missed.
  if (status === "online" && wasOffline && current && current.refresh) current.refresh();
});
onApiState((state) => {
  if (state.unauthorized && !location.hash.startsWith("#/pair")) location.hash = "#/pair";
  if ("offline" in state) {
    cacheOffline = state.offline;
    updateBanner();
  }
});
onMessage((msg) => {
  if (msg.type === "sync.status") showSync(msg.data);
  if (current && current.onMessage) current.onMessage(msg);
});

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") reconnectNow();
});
window.addEventListener("hashchange", route);
unlockAudioOnGesture();
route();
connect();
get("/api/health").then((health) => showSync(health.sync)).catch(() => {});

if ("serviceWorker" in navigator && window.isSecureContext) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch((err) => {
    console.warn("service worker registration failed", err);
  });
}
