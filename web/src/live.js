// The live connection to /api/ws: one JSON message per frame, reconnect with backoff and
// jitter, and a status that the shell turns into the offline banner.

const handlers = new Set();
const statusHandlers = new Set();
let socket = null;
let attempt = 0;
let timer = null;
let status = "connecting";

/** Subscribe to every message; returns an unsubscribe function. */
export function onMessage(fn) {
  handlers.add(fn);
  return () => handlers.delete(fn);
}

/** Subscribe to connection status: "connecting" | "online" | "offline". */
export function onStatus(fn) {
  statusHandlers.add(fn);
  fn(status);
  return () => statusHandlers.delete(fn);
}

function setStatus(next) {
  if (next === status) return;
  status = next;
  for (const fn of statusHandlers) fn(status);
}

/** Delay before reconnect attempt n: 0.5 s doubling to 30 s, with ±25 % jitter. */
export function backoff(n) {
  const base = Math.min(30000, 500 * 2 ** n);
  return Math.round(base * (0.75 + Math.random() * 0.5));
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(connect, backoff(attempt++));
}

/** Open the socket (idempotent); the browser sends the session cookie with it. */
export function connect() {
  if (socket && socket.readyState <= WebSocket.OPEN) return;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  try {
    socket = new WebSocket(`${scheme}//${location.host}/api/ws`);
  } catch {
    setStatus("offline");
    schedule();
    return;
  }
  socket.onopen = () => {
    attempt = 0;
    setStatus("online");
  };
  socket.onmessage = (event) => {
    let msg;
    try {
      msg = JSON.parse(event.data);
    } catch {
      return;
    }
    for (const fn of handlers) fn(msg);
  };
  socket.onclose = () => {
    socket = null;
    setStatus("offline");
    schedule();
  };
  socket.onerror = () => socket && socket.close();
}

/** Reconnect at once (e.g. when the page becomes visible again). */
export function reconnectNow() {
  attempt = 0;
  if (!socket) {
    clearTimeout(timer);
    connect();
  }
}
