// The household's settings as the node states them: one "due soon" horizon for every list,
// the display and every device (never this device's own rule).

import { get } from "./api.js";

const DEFAULT_DUE_SOON_DAYS = 3;
let settings = { due_soon_days: DEFAULT_DUE_SOON_DAYS };
const listeners = new Set();

/** Days ahead that count as "due soon", from the node. */
export function dueSoonDays() {
  const days = Number(settings.due_soon_days);
  return Number.isFinite(days) && days >= 0 ? days : DEFAULT_DUE_SOON_DAYS;
}

/** The last settings document the node sent. */
export function householdSettings() {
  return settings;
}

/**
 * Take a settings document: GET /api/settings ({household: {...}, node: {name}}) or a
 * settings.updated message (its `setting` member: the household part).
 */
export function applySettings(next) {
  if (!next || typeof next !== "object") return;
  const flat = { ...(next.household || next.setting || next.settings || {}) };
  if ("due_soon_days" in next) flat.due_soon_days = next.due_soon_days;
  if (next.node && next.node.name) flat.node_name = next.node.name;
  settings = { ...settings, ...flat };
  for (const fn of listeners) fn(settings);
}

/** Subscribe to settings changes. */
export function onSettings(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Fetch the settings from the node (after pairing; a failure keeps the last ones). */
export async function loadSettings() {
  try {
    applySettings(await get("/api/settings"));
  } catch {
    // An older node without the endpoint, or offline: keep what we have.
  }
  return settings;
}
