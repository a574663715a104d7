// The node's HTTP API. Same-origin fetch with the HttpOnly session cookie; no token in URLs.
// Errors arrive as application/problem+json and become ApiError.

const listeners = new Set();
// The service worker's cache of API answers (see sw.js).
const DATA_CACHE = "data-v1";
let readOnly = false;
// Central's session wants its CSRF token on every write; the node's needs none (null).
let csrfToken = null;

/** An API failure carrying the problem document. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/** Subscribe to {unauthorized, offline} state changes. */
export function onApiState(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function emit(state) {
  for (const fn of listeners) fn(state);
}

/** Mark the app read-only (node unreachable) or writable again. */
export function markReachable(reachable) {
  setReadOnly(!reachable);
}

/** Send `token` as X-CSRF-Token with every write from now on (central's login gives it). */
export function setCsrf(token) {
  csrfToken = token || null;
}

/** True while answers come from the service worker's cache (node unreachable). */
export function isReadOnly() {
  return readOnly;
}

function setReadOnly(value) {
  if (value !== readOnly) {
    readOnly = value;
    emit({ offline: value });
  }
}

async function request(method, path, body) {
  if (method !== "GET" && readOnly) {
    throw new ApiError(503, { title: "Offline", detail: "The node is unreachable: read-only." });
  }
  const init = {
    method,
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  };
  if (csrfToken && method !== "GET") init.headers["X-CSRF-Token"] = csrfToken;
  if (body instanceof FormData) {
    init.body = body; // multipart: the browser sets the Content-Type with its boundary
  } else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    setReadOnly(true);
    throw new ApiError(0, { title: "Unreachable", detail: "The node cannot be reached." });
  }
  if (method === "GET") setReadOnly(response.headers.get("X-Kitchen-Offline") === "1");
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await response.json() : null;
  if (!response.ok) {
    if (response.status === 401) {
      // Revoked or never paired: forget the cached data of this device, then pair again.
      if (window.caches) caches.delete(DATA_CACHE).catch(() => {});
      emit({ unauthorized: true });
    }
    throw new ApiError(response.status, data || { title: response.statusText });
  }
  return data;
}

/** GET a JSON document. */
export const get = (path) => request("GET", path);
/** POST a JSON body. */
export const post = (path, body = {}) => request("POST", path, body);
/** POST a multipart form (files). */
export const upload = (path, form) => request("POST", path, form);
/** PATCH a JSON body. */
export const patch = (path, body) => request("PATCH", path, body);
/** PUT a JSON body. */
export const put = (path, body) => request("PUT", path, body);
/** DELETE a resource. */
export const del = (path) => request("DELETE", path);

/** Build a query string from the defined values of an object. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v != null && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

