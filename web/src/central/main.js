// The household dashboard's shell, served by central: login first, then a hash router over
// the dashboard's views, the live connection to central's /api/ws and the account menu.
// It shares the node app's modules (api, live, i18n, dom, the action dialogs) and adds its
// own texts to the same catalogues.

import { offerUndo } from "../actions.js";
import { onApiState } from "../api.js";
import { h, replace } from "../dom.js";
import { addTexts, LANGUAGES, language, setLanguage, t } from "../i18n.js";
import { connect, disconnect, onMessage, onStatus, setProbe } from "../live.js";
import de from "./i18n/de.json";
import en from "./i18n/en.json";
import { currentUser, loadMe, logout, probeSession } from "./session.js";
import { loginView, setupView } from "./views/login.js";
import { nodesView } from "./views/nodes.js";
import { notificationsView } from "./views/notifications.js";
import { overviewView } from "./views/overview.js";
import { statisticsView } from "./views/statistics.js";
import { stockView } from "./views/stock.js";
import { tokensView } from "./views/tokens.js";

addTexts({ en, de });
offerUndo(false); // central keeps no journal to undo from
setProbe(probeSession);

// [pattern, tab, view, public]: public views are shown without a session.
const ROUTES = [
  [/^\/login$/, "login", loginView, true],
  [/^\/setup$/, "setup", setupView, true],
  [/^\/(overview)?$/, "overview", overviewView, false],
  [/^\/nodes$/, "nodes", nodesView, false],
  [/^\/stock$/, "stock", stockView, false],
  [/^\/statistics$/, "statistics", statisticsView, false],
  [/^\/tokens$/, "tokens", tokensView, false],
  [/^\/notifications$/, "notifications", notificationsView, false],
];

const main = document.getElementById("view");
const banner = document.getElementById("banner");
const tabs = document.querySelector("nav.tabs");
const account = document.getElementById("account");
let current = null;
let liveStatus = "starting";

/** The hash as {path, params}: "#/stock?node=a" -> {"/stock", URLSearchParams}. */
function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, q] = raw.split("?");
  return { path, params: new URLSearchParams(q || "") };
}

function route() {
  if (current && current.destroy) current.destroy();
  current = null;
  const { path, params } = parseHash();
  const found = ROUTES.find(([re]) => re.test(path));
  if (!found) {
    location.hash = "#/overview";
    return;
  }
  const [, tab, view, isPublic] = found;
  if (!isPublic && !currentUser()) {
    location.hash = "#/login";
    return;
  }
  if (isPublic && currentUser()) {
    location.hash = "#/overview";
    return;
  }
  document.body.dataset.view = tab;
  for (const a of tabs.querySelectorAll("a")) a.classList.toggle("active", a.dataset.tab === tab);
  current = view(main, params, { loggedIn }) || {};
}

/** After login or first-account creation: show the dashboard and go live. */
function loggedIn() {
  drawAccount();
  connect();
  location.hash = "#/overview";
}

/** Back to the login page (logout, or the session expired or was revoked). */
function loggedOut() {
  disconnect("unpaired");
  drawAccount();
  if (!location.hash.startsWith("#/login")) location.hash = "#/login";
  else route();
}

function drawAccount() {
  const user = currentUser();
  tabs.hidden = !user;
  account.hidden = !user;
  if (!user) {
    replace(account);
    return;
  }
  const lang = h("select", { id: "language", "aria-label": t("dash.language"),
    onchange: () => {
      setLanguage(lang.value);
      translateShell();
      route();
    } }, LANGUAGES.map(([code, name]) => h("option", { value: code }, name)));
  lang.value = language();
  replace(account,
    h("span", { class: "who", id: "who" }, user.name),
    lang,
    h("button", { type: "button", class: "act", id: "logout", onclick: async () => {
      await logout(false).catch(() => {});
      loggedOut();
    } }, t("dash.logout")),
    h("button", { type: "button", class: "act", id: "logout-all", onclick: async () => {
      await logout(true).catch(() => {});
      loggedOut();
    } }, t("dash.logout_all")));
}

function translateShell() {
  document.title = t("dash.title");
  document.querySelector(".brand").textContent = t("dash.title");
  for (const a of tabs.querySelectorAll("a")) a.textContent = t(`dash.tab_${a.dataset.tab}`);
  drawAccount();
  updateBanner();
}

function updateBanner() {
  const offline = currentUser() && liveStatus === "offline";
  banner.hidden = !offline;
  banner.textContent = offline ? t("dash.reconnecting") : "";
}

onStatus((status) => {
  if (status === "connecting" && liveStatus === "starting") return;
  const wasOnline = liveStatus === "online";
  liveStatus = status;
  document.body.dataset.live = status; // for people debugging, and for the browser tests
  updateBanner();
  if (status === "unpaired" && currentUser()) {
    // The socket was refused and central says this browser is not logged in (any more).
    loadMe().then((me) => { if (!me) loggedOut(); }).catch(() => {});
  }
  // Coming back: the view refetches what it missed while the socket was down.
  if (status === "online" && !wasOnline && current && current.refresh) current.refresh();
});
onApiState((state) => {
  if (state.unauthorized && currentUser()) loadMe().then((me) => { if (!me) loggedOut(); });
});
onMessage((msg) => {
  if (current && current.onMessage) current.onMessage(msg);
});
window.addEventListener("hashchange", route);
// Central serves the same page at /login and /setup: show that view there.
if (["/login", "/setup"].includes(location.pathname) && !location.hash) {
  history.replaceState(null, "", `/#${location.pathname}`);
}

translateShell();
loadMe().then((me) => {
  drawAccount();
  if (me) connect();
  route();
}).catch((err) => {
  replace(main, h("p", { class: "empty" }, err.message));
});
