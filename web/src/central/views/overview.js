// Overview: the household's counts, each a link to its filtered stock list, receipts waiting,
// and every node's state; redrawn live on every change central reports.

import { get } from "../../api.js";
import { coalesce, h, replace } from "../../dom.js";
import { number, t } from "../../i18n.js";
import { ago, progress, stateBadge } from "../format.js";

const PRIORITY = { urgent: 0, normal: 1, low: 2 };
// Receipt states in which central is still reading it.
const READING = ["queued", "processing"];

// [count key, where it links to (a function of the horizon), attention class]
const COUNTS = [
  ["in_stock", () => "#/stock", ""],
  ["expired", () => "#/stock?state=expired&sort=best_before", "bad"],
  ["overdue", () => "#/stock?state=overdue&sort=best_before", "bad"],
  ["due_soon", () => "#/stock?state=due_soon&sort=best_before", "warn"],
  ["below_min", () => "#/stock?below_min=1", "warn"],
  ["shopping_open", () => null, ""],
  ["shopping_urgent", () => null, "bad"],
  ["receipts_review", () => null, "warn"],
];

/** Render the overview into `root`. */
export function overviewView(root) {
  const counts = h("div", { class: "counts", id: "counts", "aria-busy": "true" });
  const nodes = h("ul", { class: "rows nodes-brief", id: "overview-nodes" });
  const receipts = h("p", { class: "note", id: "receipts-progress", hidden: true });
  const shopping = h("ul", { class: "rows shopping-brief", id: "overview-shopping" });
  replace(root, h("h1", {}, t("dash.overview")), counts, receipts,
    h("div", { class: "columns" },
      h("section", {}, h("h2", {}, t("dash.nodes")), nodes),
      h("section", {}, h("h2", {}, t("dash.shopping")), shopping)));
  let data = null;
  const catchup = new Map(); // node -> {done, total}, from live progress messages
  const reading = new Map(); // receipt id -> status, while central reads it

  // The open shopping entries of the household, urgent first (central's copy of the list).
  const loadShopping = coalesce(async () => {
    let items;
    try {
      items = (await get("/api/shopping")).items || [];
    } catch {
      return;
    }
    const open = items.filter((e) => !e.purchased)
      .sort((a, b) => (PRIORITY[a.priority] ?? 1) - (PRIORITY[b.priority] ?? 1));
    replace(shopping, open.length ? open.map((e) => h("li", {
      class: `row entry ${e.priority === "urgent" ? "urgent" : ""}`, dataset: { entry: e.id },
    }, h("span", { class: "name" }, e.text || e.product_name || "…"),
    h("span", { class: "qty" }, number(e.amount ?? 1)),
    e.priority === "urgent" ? h("span", { class: "badge urgent" }, t("shopping.urgent")) : null))
      : h("li", { class: "empty" }, t("shopping.empty")));
  });

  const load = coalesce(async () => {
    try {
      data = await get("/api/dashboard/overview");
    } catch (err) {
      if (!data) replace(counts, h("p", { class: "empty" }, err.message));
      return;
    }
    counts.setAttribute("aria-busy", "false");
    draw();
  });

  function draw() {
    if (!data) return;
    const c = data.counts || {};
    const days = data.horizon_days ?? 3;
    replace(counts, COUNTS.map(([key, link, kind]) => {
      const value = Number(c[key] ?? 0);
      const href = link(days);
      const body = [h("span", { class: "count-value" }, number(value)),
        h("span", { class: "count-label" }, t(`dash.count_${key}`, { days }))];
      const cls = `count ${value && kind ? kind : ""}`;
      return href ? h("a", { class: cls, href, id: `count-${key}`, dataset: { count: value } }, body)
        : h("div", { class: cls, id: `count-${key}`, dataset: { count: value } }, body);
    }));
    replace(nodes, (data.nodes || []).map((n) => {
      const p = catchup.get(n.id) || n.catchup;
      return h("li", { class: `row node ${n.online ? "online" : "offline"}`, dataset: { node: n.id } },
        h("a", { href: "#/nodes" }, h("span", { class: "name" }, n.name || n.id), stateBadge(n),
          n.online ? null : h("span", { class: "seen" }, t("dash.last_seen", { when: ago(n.last_seen) })),
          p && p.total && p.done < p.total ? progress(p.done, p.total, t("dash.catching_up")) : null));
    }));
    if (!(data.nodes || []).length) replace(nodes, h("li", { class: "empty" }, t("dash.no_nodes")));
    receipts.hidden = !reading.size;
    replace(receipts, reading.size ? [h("progress", { "aria-label": t("dash.receipts_reading",
      { n: reading.size }) }), " ", t("dash.receipts_reading", { n: reading.size })] : null);
    receipts.dataset.count = reading.size;
  }

  // Receipts central is reading when the page opens; later ones arrive as messages.
  async function loadReading() {
    for (const status of READING) {
      try {
        for (const r of (await get(`/api/receipts?status=${status}`)).items || []) {
          if (!reading.has(r.id)) reading.set(r.id, status);
        }
      } catch {
        return; // central without receipts: nothing to show
      }
    }
    draw();
  }

  load();
  loadShopping();
  loadReading();
  return {
    refresh: () => {
      load();
      loadShopping();
    },
    onMessage(msg) {
      if (msg.type === "node.catchup" && msg.data) {
        catchup.set(msg.data.node, msg.data);
        draw();
        if (msg.data.done >= msg.data.total) load();
        return;
      }
      if (msg.type.startsWith("receipt.") && msg.entity_id) {
        const status = msg.type.slice("receipt.".length);
        if (READING.includes(status)) reading.set(msg.entity_id, status);
        else reading.delete(msg.entity_id);
      }
      load();
      if (msg.type.startsWith("shopping.") || msg.type.startsWith("product.")) loadShopping();
    },
  };
}
