// The dashboard's login session with central: who is logged in, the CSRF token every write
// carries, and the login, first-account and logout calls (docs/api.md, "Central auth").

import { ApiError, get, post, setCsrf } from "../api.js";

let me = null;

/** The logged-in user ({name}) or null. */
export function currentUser() {
  return me ? me.user : null;
}

/** Ask central who this browser is; null when not logged in (401). */
export async function loadMe() {
  try {
    me = await get("/api/auth/me");
    setCsrf(me.csrf);
    return me;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      forget();
      return null;
    }
    throw err;
  }
}

/** Drop what this page knows of the session (after logout or a 401). */
export function forget() {
  me = null;
  setCsrf(null);
}

/** {accounts, setup_allowed}: whether the first account may be created from here. */
export function authState() {
  return get("/api/auth/state");
}

/** A failed login or setup: `status` 401/403/429, `retryAfter` seconds when rate-limited. */
export class LoginError extends Error {
  constructor(status, detail, retryAfter = null) {
    super(detail);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

// Not through api.js: a 401 here is a wrong password, not an expired session, and the
// Retry-After header of a 429 matters.
async function send(path, body) {
  let response;
  try {
    response = await fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  } catch {
    throw new LoginError(0, "");
  }
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await response.json().catch(() => ({})) : {};
  if (!response.ok) {
    const retry = Number.parseInt(response.headers.get("Retry-After") || "", 10);
    throw new LoginError(response.status, data.detail || data.title || response.statusText,
      Number.isFinite(retry) ? retry : null);
  }
  return data;
}

/** Log in; resolves with the session ({user, csrf}). */
export async function login(name, password) {
  await send("/api/auth/login", { name, password });
  return loadMe();
}

/** Create the first account (only while none exists, from the machine itself) and log in. */
export async function setup(name, password) {
  await send("/api/auth/setup", { name, password });
  return loadMe();
}

/** Log out this browser, or (`everywhere`) every session of this user. */
export async function logout(everywhere = false) {
  try {
    await post(everywhere ? "/api/auth/logout-all" : "/api/auth/logout", {});
  } finally {
    forget();
  }
}

/** For live.js after the socket closed: "paired" (logged in), "unpaired" or "down". */
export async function probeSession() {
  try {
    const response = await fetch("/api/auth/me", {
      credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" },
    });
    if (response.status === 401) return "unpaired";
    return response.ok ? "paired" : "down";
  } catch {
    return "down";
  }
}
