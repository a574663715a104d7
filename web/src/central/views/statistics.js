// Statistics over a date range (default: the last 12 months): consumed and spoiled per week,
// spoil rate by product and category, spending per month and per shop (confirmed receipts),
// most used products and the stock's value. Charts for the series, every number in a table.
// The chart library is a separate file loaded here only.

import { get, query } from "../../api.js";
import { coalesce, h, replace } from "../../dom.js";
import { date, money, number, t } from "../../i18n.js";

let chartsModule = null;
/** uPlot and its wrapper, fetched the first time a chart is drawn. */
function charts() {
  // The URL is put in by build.mjs; a variable, so esbuild leaves the import to the browser.
  const url = __CHARTS_JS__;
  chartsModule ||= import(url);
  return chartsModule;
}

const iso = (d) => d.toISOString().slice(0, 10);

/** Unix seconds of a date or ISO week ("2026-W05" -> its Monday). */
function seconds(value) {
  const week = /^(\d{4})-W(\d{2})$/.exec(String(value));
  if (week) {
    const jan4 = new Date(Date.UTC(Number(week[1]), 0, 4));
    const monday = jan4.getTime() - ((jan4.getUTCDay() + 6) % 7) * 86400000;
    return (monday + (Number(week[2]) - 1) * 7 * 86400000) / 1000;
  }
  const text = String(value);
  const d = new Date(/^\d{4}-\d{2}$/.test(text) ? `${text}-01T00:00:00Z` : `${text.slice(0, 10)}T00:00:00Z`);
  return d.getTime() / 1000;
}

// Sections of the answer: [key, title key, chart?]. Rows are shown with whatever columns the
// API gives, each named through the catalogue (stats.col_<name>).
// Money sections show their sums as money; the others count amounts.
const SECTIONS = [
  ["weekly", "stats.weekly", "line"],
  ["spending_by_month", "stats.spending_month", "bars", true],
  ["spending_by_shop", "stats.spending_shop", null, true],
  ["spoil_rate_by_product", "stats.spoil_product", null],
  ["spoil_rate_by_category", "stats.spoil_category", null],
  ["most_used", "stats.most_used", null],
];
const TIME_KEYS = ["week", "month", "day", "date"];
const MONEY_KEYS = /(amount|spent|spending|value|total|price)$/;

function cell(key, value, currency) {
  if (value == null) return "–";
  if (typeof value === "number") {
    if (/rate$/.test(key)) return `${number(value * 100)} %`;
    if (currency && MONEY_KEYS.test(key)) return money(value, currency);
    return number(value);
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(String(value))) return date(value);
  return String(value);
}

function columnLabel(key) {
  const label = t(`stats.col_${key}`);
  return label === `stats.col_${key}` ? key : label;
}

/** Render the statistics page into `root`. */
export function statisticsView(root, params) {
  const today = new Date();
  const yearAgo = new Date(Date.UTC(today.getUTCFullYear() - 1, today.getUTCMonth(), today.getUTCDate() + 1));
  const from = h("input", { type: "date", id: "stats-from", value: params.get("from") || iso(yearAgo) });
  const to = h("input", { type: "date", id: "stats-to", value: params.get("to") || iso(today) });
  const content = h("div", { id: "stats", "aria-busy": "true" });
  const form = h("form", { class: "toolbar", id: "stats-range", onsubmit: (e) => {
    e.preventDefault();
    load();
  } }, h("label", { for: "stats-from" }, t("stats.from")), from,
  h("label", { for: "stats-to" }, t("stats.to")), to,
  h("button", { type: "submit", class: "act" }, t("stats.show")));
  replace(root, h("h1", {}, t("dash.tab_statistics")), form, content);
  let plots = [];

  function clearPlots() {
    for (const p of plots) p.destroy();
    plots = [];
  }

  const load = coalesce(async () => {
    let data;
    try {
      data = await get(`/api/dashboard/statistics${query({ from: from.value, to: to.value })}`);
    } catch (err) {
      replace(content, h("p", { class: "empty" }, err.message));
      return;
    }
    content.setAttribute("aria-busy", "false");
    await draw(data);
  });

  async function draw(data) {
    clearPlots();
    const currency = data.currency || "EUR";
    const parts = [];
    const value = data.stock_value;
    if (value != null) {
      const v = typeof value === "object" ? value : { value };
      parts.push(h("section", { class: "stat", id: "stat-stock_value" },
        h("h2", {}, t("stats.stock_value")),
        h("p", { class: "big-number" }, money(v.value ?? v.amount ?? 0, v.currency || currency)),
        v.lots_priced != null ? h("p", { class: "hint" }, t("stats.value_note",
          { priced: number(v.lots_priced), total: number(v.lots_total ?? v.lots_priced) })) : null));
    }
    const pending = [];
    for (const [key, title, kind, isMoney] of SECTIONS) {
      const cur = isMoney ? currency : null;
      const rows = Array.isArray(data[key]) ? data[key] : [];
      const columns = rows.length ? Object.keys(rows[0]) : [];
      const chartBox = kind && rows.length ? h("div", { class: "chart", id: `chart-${key}` }) : null;
      parts.push(h("section", { class: "stat", id: `stat-${key}` }, h("h2", {}, t(title)), chartBox,
        rows.length ? h("table", { class: "grid numbers" },
          h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, columnLabel(c))))),
          h("tbody", {}, rows.map((r) => h("tr", {}, columns.map((c, i) => (i === 0
            ? h("th", { scope: "row" }, cell(c, r[c], cur))
            : h("td", { class: typeof r[c] === "number" ? "num" : "" }, cell(c, r[c], cur))))))))
          : h("p", { class: "empty" }, t("stats.none"))));
      if (chartBox) pending.push([chartBox, rows, columns, kind, cur]);
    }
    replace(content, parts);
    if (!pending.length) return;
    const { chart } = await charts();
    for (const [box, rows, columns, kind, cur] of pending) {
      const xKey = columns.find((c) => TIME_KEYS.includes(c)) || columns[0];
      const numeric = columns.filter((c) => c !== xKey && typeof rows[0][c] === "number");
      const format = cur ? (v) => money(v, cur) : (v) => number(v);
      plots.push(chart(box, {
        x: rows.map((r) => seconds(r[xKey])),
        series: numeric.map((c) => ({ label: columnLabel(c), values: rows.map((r) => r[c]) })),
        bars: kind === "bars",
        format,
      }));
    }
    content.dataset.charts = String(plots.length);
  }

  load();
  return {
    refresh: load,
    destroy: clearPlots,
  };
}
