// Nodes: online/offline with last seen, software version, outbox depth and sync lag, last
// scan, station modes, and the progress of a node catching up. A node going offline shows
// from central's live message; "last seen" ticks on its own.

import { get } from "../../api.js";
import { coalesce, h, replace } from "../../dom.js";
import { number, t } from "../../i18n.js";
import { ago, progress, stateBadge } from "../format.js";

/** A station mode in the kitchen app's words ("Use up"), else as the node named it. */
function modeLabel(mode) {
  const label = t(`mode.${mode}`);
  return label === `mode.${mode}` ? String(mode) : label;
}

/** Render the node table into `root`. */
export function nodesView(root) {
  const body = h("tbody", { id: "nodes-body" });
  const table = h("table", { class: "grid nodes", id: "nodes", "aria-busy": "true" },
    h("thead", {}, h("tr", {}, ["dash.node", "dash.state", "dash.last_seen_col", "dash.version",
      "dash.outbox", "dash.sync_lag", "dash.last_scan", "dash.stations"].map((k) =>
      h("th", { scope: "col" }, t(k))))), body);
  // Nodes announcing themselves on the LAN (mDNS) that central has not heard from yet.
  const lan = h("section", { id: "lan-nodes", hidden: "" },
    h("h2", {}, t("dash.lan_title")), h("p", { class: "hint" }, t("dash.lan_hint")),
    h("ul", { id: "lan-list" }));
  replace(root, h("h1", {}, t("dash.nodes")), table, lan);
  let items = null;

  const loadLan = coalesce(async () => {
    let found;
    try {
      found = (await get("/api/lan/nodes")).items || [];
    } catch {
      return; // central does not browse the LAN ([lan] browse = false), or is away
    }
    const fresh = found.filter((n) => !n.added && n.household_matches);
    lan.hidden = !fresh.length;
    replace(lan.querySelector("#lan-list"), fresh.map((n) =>
      h("li", { dataset: { node: n.node } },
        h("strong", {}, n.instance), " ",
        h("a", { href: n.url, target: "_blank", rel: "noopener" }, n.url), " ",
        h("code", {}, `kitchen-central node add ${n.node}`))));
  });
  const catchup = new Map();

  const load = coalesce(async () => {
    try {
      items = (await get("/api/dashboard/nodes")).items || [];
    } catch (err) {
      if (!items) replace(body, h("tr", {}, h("td", { colspan: "8" }, err.message)));
      return;
    }
    table.setAttribute("aria-busy", "false");
    draw();
  });

  function lastScan(scan) {
    if (!scan) return "";
    return [scan.product || scan.code || "", scan.at ? h("small", {}, ` ${ago(scan.at)}`) : null];
  }

  function draw() {
    if (!items) return;
    if (!items.length) {
      replace(body, h("tr", {}, h("td", { colspan: "8", class: "empty" }, t("dash.no_nodes"))));
      return;
    }
    replace(body, items.map((n) => {
      const p = catchup.get(n.id) || n.catchup;
      return h("tr", { class: `node ${n.online ? "online" : "offline"}`, dataset: { node: n.id } },
        h("th", { scope: "row" }, n.name || n.id,
          p && p.total && p.done < p.total ? progress(p.done, p.total, t("dash.catching_up")) : null),
        h("td", { class: "state" }, stateBadge(n)),
        h("td", { class: "seen", dataset: { at: n.last_seen || "" } }, ago(n.last_seen)),
        h("td", { class: "version" }, n.version || "–"),
        h("td", { class: "outbox num" }, n.outbox == null ? "–" : number(n.outbox)),
        h("td", { class: "lag num" }, n.sync_lag_s == null ? "–"
          : t("dash.seconds", { n: number(n.sync_lag_s) })),
        h("td", { class: "scan" }, lastScan(n.last_scan)),
        h("td", { class: "stations" }, (n.stations || []).map((s) =>
          h("span", { class: "badge mode", dataset: { station: s.id } },
            `${s.name || s.id}: ${modeLabel(s.mode)}`))));
    }));
  }

  // "12 s ago" keeps counting without asking central.
  const ticker = setInterval(() => {
    for (const cell of body.querySelectorAll("td.seen")) cell.textContent = ago(cell.dataset.at);
  }, 1000);
  // What answers on the LAN changes without a message from central: look again now and then.
  const lanTicker = setInterval(loadLan, 5000);

  load();
  loadLan();
  return {
    refresh: load,
    onMessage(msg) {
      if (msg.type === "node.catchup" && msg.data) {
        catchup.set(msg.data.node, msg.data);
        draw();
        if (msg.data.done >= msg.data.total) load();
        return;
      }
      if (msg.type.startsWith("node.") || msg.type === "sync.status") load();
    },
    destroy: () => {
      clearInterval(ticker);
      clearInterval(lanTicker);
    },
  };
}
