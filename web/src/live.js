// The live connection to /api/ws: one JSON message per frame, reconnect with backoff and
// jitter, and a status the shell turns into the offline banner or the pairing view.
//
// A WebSocket that fails tells the page nothing about why, so after every close the node is
// asked (GET /api/pairing/status, public and never cached) whether it is reachable at all and
// whether this device is paired: an unpaired device goes to pairing instead of "reconnecting".

const handlers = new Set();
const statusHandlers = new Set();
const PING_EVERY_MS = 25000;
const PONG_WITHIN_MS = 10000;
let socket = null;
let attempt = 0;
let timer = null;
let pingTimer = null;
let pongTimer = null;
let status = "connecting";
let stopped = false;
// What is asked after a close; central's dashboard asks its own login state instead.
let probeWith = null;

/** Subscribe to every message; returns an unsubscribe function. */
export function onMessage(fn) {
  handlers.add(fn);
  return () => handlers.delete(fn);
}

/** Subscribe to connection status: "connecting" | "online" | "offline" | "unpaired". */
export function onStatus(fn) {
  statusHandlers.add(fn);
  fn(status);
  return () => statusHandlers.delete(fn);
}

/** The current connection status. */
export function currentStatus() {
  return status;
}

function setStatus(next) {
  if (next === status) return;
  status = next;
  for (const fn of statusHandlers) fn(status);
}

/** Delay before reconnect attempt n: 0.5 s doubling to 10 s (a LAN node), with ±25 % jitter. */
export function backoff(n) {
  const base = Math.min(10000, 500 * 2 ** n);
  return Math.round(base * (0.75 + Math.random() * 0.5));
}

/** Ask `fn` (resolving "paired" | "unpaired" | "down") instead of the node's pairing status. */
export function setProbe(fn) {
  probeWith = fn;
}

/** Ask the node whether it is reachable and this device paired: "paired" | "unpaired" | "down". */
export async function probe() {
  try {
    const response = await fetch("/api/pairing/status", {
      credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" },
    });
    if (!response.ok) return "down";
    const body = await response.json();
    return body.paired ? "paired" : "unpaired";
  } catch {
    return "down";
  }
}

function schedule() {
  clearTimeout(timer);
  if (!stopped) timer = setTimeout(connect, backoff(attempt++));
}

function clearPing() {
  clearInterval(pingTimer);
  clearTimeout(pongTimer);
  pingTimer = pongTimer = null;
}

async function closed(ws) {
  if (socket !== ws) return;
  socket = null;
  clearPing();
  if (stopped) return;
  const state = await (probeWith || probe)();
  if (stopped || socket) return;
  if (state === "unpaired") {
    setStatus("unpaired");
    return; // nothing to reconnect to until the device is paired
  }
  setStatus("offline");
  schedule();
}

function open() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  let ws;
  try {
    ws = new WebSocket(`${scheme}//${location.host}/api/ws`);
  } catch {
    setStatus("offline");
    schedule();
    return;
  }
  socket = ws;
  ws.onopen = () => {
    attempt = 0;
    setStatus("online");
    // A node that vanished without closing (power cut, Wi-Fi gone) is noticed by a missed pong.
    pingTimer = setInterval(() => {
      if (ws.readyState !== WebSocket.OPEN) return;
      ws.send("ping");
      clearTimeout(pongTimer);
      pongTimer = setTimeout(() => {
        ws.onclose = ws.onerror = ws.onmessage = null;
        ws.close();
        closed(ws);
      }, PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  };
  ws.onmessage = (event) => {
    clearTimeout(pongTimer);
    let msg;
    try {
      msg = JSON.parse(event.data);
    } catch {
      return;
    }
    if (msg.type === "pong") return;
    for (const fn of handlers) fn(msg);
  };
  ws.onclose = () => closed(ws);
  ws.onerror = () => ws.close();
}

/** Open the socket (idempotent); the browser sends the HttpOnly session cookie with it. */
export function connect() {
  stopped = false;
  clearTimeout(timer);
  if (socket && socket.readyState <= WebSocket.OPEN) return;
  if (status === "unpaired") setStatus("connecting");
  open();
}

/** Close the socket and stop reconnecting (e.g. while the device is being paired). */
export function disconnect(next = "unpaired") {
  stopped = true;
  clearTimeout(timer);
  clearPing();
  const ws = socket;
  socket = null;
  if (ws) {
    ws.onclose = ws.onerror = ws.onmessage = null;
    ws.close();
  }
  setStatus(next);
}

/** Reconnect at once (e.g. when the page becomes visible again). */
export function reconnectNow() {
  if (stopped) return;
  attempt = 0;
  if (!socket) connect();
}
