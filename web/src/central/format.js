// Small pieces the dashboard's views share: relative times, node states, progress bars.

import { h } from "../dom.js";
import { dateTime, number, t } from "../i18n.js";

/** "12 s ago", "5 min ago", else the local date and time; "" without a timestamp. */
export function ago(iso, now = Date.now()) {
  if (!iso) return "";
  const when = new Date(iso).getTime();
  if (Number.isNaN(when)) return String(iso);
  const s = Math.max(0, Math.round((now - when) / 1000));
  if (s < 60) return t("dash.ago_s", { n: s });
  if (s < 3600) return t("dash.ago_min", { n: Math.floor(s / 60) });
  return dateTime(iso);
}

/** A node's online/offline badge. */
export function stateBadge(node) {
  return h("span", { class: `badge state ${node.online ? "online" : "offline"}` },
    node.online ? t("dash.online") : t("dash.offline"));
}

/** A progress bar with "done of total" (catch-up of a node, receipts being read). */
export function progress(done, total, label) {
  const d = Number(done) || 0;
  const n = Math.max(Number(total) || 0, d);
  return h("span", { class: "progress-line" },
    h("progress", { max: String(n || 1), value: String(d), "aria-label": label }),
    h("span", { class: "progress-text" }, t("dash.progress", { done: number(d), total: number(n) })));
}
