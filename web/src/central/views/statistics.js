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

/** A local calendar date as YYYY-MM-DD. */
const iso = (d) => [d.getFullYear(), d.getMonth() + 1, d.getDate()]
  .map((n, i) => String(n).padStart(i ? 2 : 4, "0")).join("-");

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

// Sections of central's answer (docs/api.md, "Statistics"): [key, title, columns, chart].
// A column is [field, label key, kind]: "date", "week", "text", "number", "money", "rate".
// Charts: [x field, series fields, bars?]. Weekly amounts mix units (each product's own), so
// the weekly chart counts actions (consume and spoil events) and the table has both.
const SECTIONS = [
  ["weekly", "stats.weekly", [["iso_week", "stats.col_week", "text"],
    ["week", "stats.col_monday", "date"], ["consumed_actions", "stats.col_consumed_actions", "number"],
    ["spoiled_actions", "stats.col_spoiled_actions", "number"],
    ["consumed", "stats.col_consumed", "number"], ["spoiled", "stats.col_spoiled", "number"]],
  ["week", ["consumed_actions", "spoiled_actions"], false]],
  ["spending_by_month", "stats.spending_month", [["month", "stats.col_month", "text"],
    ["total", "stats.col_total", "money"], ["receipts", "stats.col_receipts", "number"]],
  ["month", ["total"], true]],
  ["spending_by_shop", "stats.spending_shop", [["shop", "stats.col_shop", "text"],
    ["total", "stats.col_total", "money"], ["receipts", "stats.col_receipts", "number"]], null],
  ["spoil_rate_by_product", "stats.spoil_product", [["product", "stats.col_product", "text"],
    ["category", "stats.col_category", "text"], ["consumed", "stats.col_consumed", "number"],
    ["spoiled", "stats.col_spoiled", "number"], ["rate", "stats.col_rate", "rate"]], null],
  ["spoil_rate_by_category", "stats.spoil_category", [["category", "stats.col_category", "text"],
    ["consumed", "stats.col_consumed", "number"], ["spoiled", "stats.col_spoiled", "number"],
    ["rate", "stats.col_rate", "rate"]], null],
  ["most_used", "stats.most_used", [["product", "stats.col_product", "text"],
    ["consumed", "stats.col_consumed", "number"], ["actions", "stats.col_actions", "number"]], null],
];

function cell(kind, value, currency) {
  if (value == null || value === "") return kind === "text" ? t("stats.none_value") : "–";
  if (kind === "money") return money(value, currency || "EUR");
  if (kind === "rate") return `${number(Number(value) * 100)} %`;
  if (kind === "number") return number(value);
  if (kind === "date") return date(value);
  return String(value);
}

/** Render the statistics page into `root`. */
export function statisticsView(root, params) {
  const today = new Date();
  // Central's own default: from the first day of the month eleven months back, to today.
  const yearAgo = new Date(today.getFullYear(), today.getMonth() - 11, 1);
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
    const currency = data.currency || (data.stock_value && data.stock_value.currency) || "EUR";
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
    for (const [key, title, columns, chartSpec] of SECTIONS) {
      const rows = Array.isArray(data[key]) ? data[key] : [];
      const chartBox = chartSpec && rows.length ? h("div", { class: "chart", id: `chart-${key}` }) : null;
      const table = rows.length ? h("table", { class: "grid numbers" },
          h("thead", {}, h("tr", {}, columns.map(([, label]) => h("th", { scope: "col" }, t(label))))),
          h("tbody", {}, rows.map((r) => h("tr", {}, columns.map(([field, , kind], i) => (i === 0
            ? h("th", { scope: "row" }, cell(kind, r[field], currency))
            : h("td", { class: kind === "text" || kind === "date" ? "" : "num" },
              cell(kind, r[field], currency))))))))
        : h("p", { class: "empty" }, t("stats.none"));
      // Under a chart the numbers fold away (a year has 53 weeks); elsewhere they are the content.
      parts.push(h("section", { class: "stat", id: `stat-${key}` }, h("h2", {}, t(title)), chartBox,
        chartBox ? h("details", { class: "numbers" }, h("summary", {}, t("stats.numbers")), table)
          : table));
      if (chartBox) pending.push([chartBox, rows, columns, chartSpec]);
    }
    replace(content, parts);
    if (!pending.length) return;
    const { chart } = await charts();
    for (const [box, rows, columns, [xField, fields, bars]] of pending) {
      const isMoney = columns.some(([f, , kind]) => fields.includes(f) && kind === "money");
      const label = (f) => t(columns.find(([c]) => c === f)[1]);
      plots.push(chart(box, {
        x: rows.map((r) => seconds(r[xField])),
        series: fields.map((f) => ({ label: label(f), values: rows.map((r) => r[f]) })),
        bars,
        format: isMoney ? (v) => money(v, currency) : (v) => number(v),
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
