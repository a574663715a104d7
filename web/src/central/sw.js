// The dashboard's service worker: Web Push only (docs/notifications.md, "Web Push"). It
// caches nothing; the dashboard needs central anyway. A push shows its notification at once
// (iOS drops the subscription of a worker that receives pushes without showing one), and a
// tap focuses an open dashboard or opens one at the notification's page.

// Where each kind of notification is looked into; central's event JSON carries no URL.
const PAGES = {
  expiring: "/#/stock",
  expired: "/#/stock",
  below_min: "/#/stock",
  node_offline: "/#/nodes",
  receipt_review: "/#/overview",
  digest: "/#/overview",
};

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

/** Central's notification event ({event_type, title, message, items}); text as the body. */
function readPush(data) {
  if (!data) return {};
  try {
    const value = data.json();
    return value && typeof value === "object" ? value : { message: String(value) };
  } catch {
    return { message: data.text() };
  }
}

/** A URL of this dashboard only: anything else (or nothing) opens its start page. */
function pageUrl(event) {
  const wanted = event.url || PAGES[event.event_type] || "/";
  try {
    const url = new URL(wanted, self.location.origin);
    return url.origin === self.location.origin ? url.href : `${self.location.origin}/`;
  } catch {
    return `${self.location.origin}/`;
  }
}

self.addEventListener("push", (event) => {
  const data = readPush(event.data);
  const title = typeof data.title === "string" && data.title ? data.title : "Kitchen";
  const kind = typeof data.event_type === "string" ? data.event_type : "notification";
  // The same notification delivered again (a retry) replaces the one shown, not adds to it.
  const tag = typeof data.tag === "string" && data.tag ? data.tag : `${kind}:${title}`;
  event.waitUntil(self.registration.showNotification(title, {
    body: typeof data.message === "string" ? data.message : "",
    tag,
    data: { url: pageUrl(data), event_type: kind },
  }));
});

/** A tap on a notification: focus an open dashboard at its page, or open one there. */
async function openNotification(notification) {
  notification.close();
  const url = (notification.data && notification.data.url) || `${self.location.origin}/`;
  const open = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const same = open.find((c) => new URL(c.url).origin === self.location.origin);
  if (!same) {
    await self.clients.openWindow(url);
    return;
  }
  // Focusing is allowed only while handling the tap; a window that cannot be focused still
  // goes to the notification's page.
  await same.focus().catch(() => null);
  if (same.url !== url && "navigate" in same) await same.navigate(url).catch(() => null);
}

self.addEventListener("notificationclick", (event) => {
  event.waitUntil(openNotification(event.notification));
});
