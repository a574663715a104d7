// Service worker: precache the shell and the barcode reader, serve hashed assets from the
// cache, and keep the last answer of each API GET so the app opens read-only when the node
// is unreachable. __PRECACHE__ and __VERSION__ are filled in by build.mjs.

const VERSION = __VERSION__;
const PRECACHE = __PRECACHE__;
const SHELL = `shell-${VERSION}`;
const DATA = "data-v1";
// A Pi under load may be slow; a node that is down refuses at once and never waits this long.
const NETWORK_TIMEOUT_MS = 6000;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((c) => c.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith("shell-") && key !== SHELL) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    promise.then((v) => { clearTimeout(timer); resolve(v); },
      (e) => { clearTimeout(timer); reject(e); });
  });
}

async function shell(request) {
  try {
    const response = await withTimeout(fetch(request), NETWORK_TIMEOUT_MS);
    if (response.ok) (await caches.open(SHELL)).put("/", response.clone());
    return response;
  } catch {
    const cached = await caches.match("/", { cacheName: SHELL });
    return cached || Response.error();
  }
}

async function asset(request) {
  const cached = await caches.match(request);
  return cached || fetch(request);
}

async function apiGet(request) {
  const cache = await caches.open(DATA);
  try {
    const response = await withTimeout(fetch(request), NETWORK_TIMEOUT_MS);
    // Keep the last answer of each view's query; typed searches would only fill the cache.
    if (response.ok && !new URL(request.url).searchParams.has("search")) {
      cache.put(request, response.clone());
    }
    return response;
  } catch {
    const cached = await cache.match(request);
    if (!cached) {
      return new Response(JSON.stringify({ type: "about:blank", title: "Offline", status: 503,
        detail: "The node is unreachable and nothing is cached for this view." }),
      { status: 503, headers: { "Content-Type": "application/problem+json", "X-Kitchen-Offline": "1" } });
    }
    const headers = new Headers(cached.headers);
    headers.set("X-Kitchen-Offline", "1");
    return new Response(await cached.blob(), { status: 200, headers });
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  // A label's PDF opened in a tab is a navigation too, but no page of the app: straight to
  // the node (it must never be kept as the app's shell).
  if (request.mode === "navigate" && url.pathname.startsWith("/api/")) return;
  if (request.mode === "navigate") {
    event.respondWith(shell(request));
  } else if (url.pathname.startsWith("/app/")) {
    event.respondWith(asset(request));
  } else if (url.pathname.startsWith("/api/") && url.pathname !== "/api/ws"
    && !url.pathname.startsWith("/api/pairing/")) {
    event.respondWith(apiGet(request));
  }
});
