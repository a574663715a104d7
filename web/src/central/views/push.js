// "Notify this device": Web Push to this browser (docs/notifications.md, "Web Push"). Off
// until the person taps the button: then permission is asked (browsers want a user gesture),
// the dashboard's service worker (/sw.js, web/src/central/sw.js) is registered, the browser
// subscribes at its push service with the household's VAPID key, and central keeps the
// subscription. The list shows every device of the household, each with a remove button.

import { del, get, post } from "../../api.js";
import { h, replace, toast } from "../../dom.js";
import { dateTime, t } from "../../i18n.js";
import { field, textInput } from "../../ui.js";

// This browser's subscription id at central, to mark "this device" in the list.
const MINE = "kitchen-push-id";

function isIos() {
  return /iPad|iPhone|iPod/.test(navigator.userAgent)
    // iPadOS's Safari says it is a Mac; Macs have no touch screen.
    || (/Macintosh/.test(navigator.userAgent) && navigator.maxTouchPoints > 0);
}

function standalone() {
  return window.matchMedia("(display-mode: standalone)").matches || navigator.standalone === true;
}

/** Why this browser cannot take Web Push (an i18n key), or null when it can. */
export function pushSupport() {
  // iOS has PushManager only in a web app opened from the home screen (iPadOS 16.4+).
  if (isIos() && !standalone()) return "push.need_home_screen";
  if (!window.isSecureContext) return "push.need_https";
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    return isIos() ? "push.ios_too_old" : "push.unsupported";
  }
  return null;
}

/** A guess at a name for this device; the person may change it before subscribing. */
function deviceName() {
  const ua = navigator.userAgent;
  const device = isIos() ? (/iPhone/.test(ua) ? "iPhone" : "iPad")
    : /Android/.test(ua) ? "Android" : /Mac OS X/.test(ua) ? "Mac"
      : /Windows/.test(ua) ? "Windows" : /Linux/.test(ua) ? "Linux" : "";
  const browser = /Edg\//.test(ua) ? "Edge" : /Firefox\//.test(ua) ? "Firefox"
    : /Chrom(e|ium)\//.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : "";
  return [browser, device].filter(Boolean).join(" on ") || t("push.this_device");
}

/** The VAPID public key (base64url) as the bytes `pushManager.subscribe` wants. */
function keyBytes(base64url) {
  const b64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
  const raw = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

/** The Web Push section of the notification settings; `householdOn` is the saved `web_push`. */
export function pushSection(householdOn) {
  const status = h("p", { class: "hint", id: "push-status", role: "status" });
  const list = h("ul", { class: "rows", id: "push-subscriptions" });
  const label = textInput("push_label", deviceName(), { id: "push-label", maxlength: "100" });
  const button = h("button", { type: "button", class: "act", id: "push-subscribe",
    onclick: () => subscribe() }, t("push.subscribe"));
  const section = h("section", { id: "push", "aria-busy": "true" },
    h("h2", {}, t("push.title")), h("p", { class: "hint" }, t("push.intro")),
    h("h3", {}, t("push.this_device")), status, field(t("push.label"), label),
    h("div", { class: "toolbar" }, button),
    h("h3", {}, t("push.devices")), list);
  let publicKey = null;

  function say(key, params, kind = "info") {
    status.textContent = t(key, params);
    status.dataset.kind = kind;
    status.setAttribute("role", kind === "error" ? "alert" : "status");
  }

  function explain() {
    const why = pushSupport();
    button.disabled = Boolean(why) || !householdOn || !publicKey;
    if (why) say(why, null, "error");
    else if (Notification.permission === "denied") say("push.denied", null, "error");
    else if (!householdOn) say("push.household_off");
    else say("push.ready");
  }

  async function load() {
    let answer;
    try {
      answer = await get("/api/notifications/push");
    } catch (err) {
      say("push.load_failed", { error: err.message }, "error");
      button.disabled = true;
      return;
    }
    publicKey = answer.public_key;
    householdOn = answer.enabled;
    section.setAttribute("aria-busy", "false");
    const mine = localStorage.getItem(MINE);
    replace(list, answer.subscriptions.length ? answer.subscriptions.map((s) => h("li", {
      class: "row subscription", dataset: { id: s.id } },
    h("span", { class: "name" }, s.label || s.service),
    h("small", {}, s.service), h("small", {}, dateTime(s.created_at)),
    s.id === mine ? h("span", { class: "badge ok" }, t("push.this_device")) : null,
    h("button", { type: "button", class: "act remove", "aria-label": t("push.remove"),
      onclick: () => remove(s.id) }, t("push.remove"))))
      : h("li", { class: "empty" }, t("push.none")));
    explain();
  }

  async function remove(id) {
    try {
      await del(`/api/notifications/push/subscriptions/${encodeURIComponent(id)}`);
    } catch (err) {
      toast(err.message);
      return;
    }
    if (id === localStorage.getItem(MINE)) {
      localStorage.removeItem(MINE);
      // This browser's own subscription: end it at the push service too.
      const registration = "serviceWorker" in navigator
        ? await navigator.serviceWorker.getRegistration("/").catch(() => null) : null;
      const current = registration && await registration.pushManager.getSubscription();
      if (current) await current.unsubscribe().catch(() => false);
    }
    toast(t("push.removed"), "ok");
    await load();
  }

  async function subscribe() {
    // Asked first, within the tap: Safari refuses a permission request outside a gesture.
    const permission = await Notification.requestPermission();
    if (permission !== "granted") {
      say(permission === "denied" ? "push.denied" : "push.dismissed", null, "error");
      return;
    }
    button.disabled = true;
    say("push.subscribing");
    let subscription;
    try {
      await navigator.serviceWorker.register("/sw.js", { scope: "/" });
      const registration = await navigator.serviceWorker.ready;
      // A subscription made with another key (an older household key) is refused by central's
      // push: start afresh.
      const old = await registration.pushManager.getSubscription();
      if (old) await old.unsubscribe().catch(() => false);
      subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true, applicationServerKey: keyBytes(publicKey),
      });
    } catch (err) {
      // An AbortError: no push service in reach (no internet), or none for this browser (the
      // headless Chromium of the tests says "permission denied").
      say("push.unreachable", { error: `${err.name}: ${err.message}` }, "error");
      button.disabled = false;
      return;
    }
    try {
      const answer = await post("/api/notifications/push/subscriptions",
        { ...subscription.toJSON(), label: label.value.trim() || deviceName() });
      localStorage.setItem(MINE, answer.id);
    } catch (err) {
      await subscription.unsubscribe().catch(() => false);
      say("push.refused", { error: err.message }, "error");
      button.disabled = false;
      return;
    }
    toast(t("push.subscribed"), "ok");
    await load();
    say("push.subscribed", null, "ok");
  }

  button.disabled = true;
  load();
  return section;
}
