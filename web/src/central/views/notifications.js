// Notifications: what central tells the household and where (central/notify, docs/
// notifications.md). Rules with their two switches, the daily digest, quiet hours, the time
// zone, Apprise URLs (shown masked; a saved one is kept by its id, never sent back in full),
// a test message, Web Push to this device (push.js), and the last notifications with each
// delivery's outcome.

import { get, post, put } from "../../api.js";
import { h, replace, toast } from "../../dom.js";
import { dateTime, t } from "../../i18n.js";
import { field, numberInput, textInput } from "../../ui.js";
import { pushSection } from "./push.js";

const RULES = ["expiring", "expired", "below_min", "receipt_review", "node_offline"];

function checkbox(name, checked) {
  const box = h("input", { type: "checkbox", name, id: `n-${name.replaceAll(".", "-")}` });
  box.checked = Boolean(checked);
  return box;
}

function labelled(box, text) {
  return h("label", { class: "check-label", for: box.id }, box, text);
}

function timeInput(name, value) {
  return h("input", { type: "time", name, id: `n-${name.replaceAll(".", "-")}`, value,
    required: true });
}

/** Render the notification settings into `root`. */
export function notificationsView(root) {
  const box = h("div", { id: "notify", "aria-busy": "true" });
  replace(root, h("h1", {}, t("notify.title")), h("p", { class: "hint" }, t("notify.intro")), box);
  let view = null;

  async function load() {
    try {
      view = await get("/api/notifications");
    } catch (err) {
      replace(box, h("p", { class: "empty", id: "notify-error" }, err.message));
      return;
    }
    box.setAttribute("aria-busy", "false");
    draw();
  }

  function draw() {
    const s = view.settings;
    const kept = [...s.urls];
    const urlList = h("ul", { class: "rows urls", id: "notify-urls" });
    const drawUrls = () => replace(urlList,
      kept.map((u) => h("li", { class: "row url", dataset: { id: u.id || "" } },
        h("code", { class: "name" }, u.url),
        h("button", { type: "button", class: "act remove", "aria-label": t("notify.remove_url"),
          onclick: () => {
            kept.splice(kept.indexOf(u), 1);
            drawUrls();
          } }, t("notify.remove_url")))),
      (view.config_urls || []).map((u) => h("li", { class: "row url config" },
        h("code", { class: "name" }, u.url), h("small", {}, t("notify.from_config")))),
      !kept.length && !(view.config_urls || []).length
        ? h("li", { class: "empty" }, t("notify.no_urls")) : null);
    drawUrls();
    const newUrl = textInput("new_url", "", { id: "notify-new-url", maxlength: "2048",
      placeholder: "ntfys://ntfy.example.org/kitchen" });
    const results = h("ul", { class: "rows", id: "notify-test-results" });

    const enabled = checkbox("enabled", s.enabled);
    const zone = textInput("timezone", s.timezone, { id: "n-timezone", required: true,
      maxlength: "64" });
    const horizon = numberInput("horizon_days", s.horizon_days, { id: "n-horizon", max: "60",
      step: "1", placeholder: t("notify.horizon_household") });
    const offline = numberInput("node_offline_minutes", s.node_offline_minutes,
      { id: "n-offline", min: "1", step: "1", required: true });
    const rules = h("table", { class: "grid rules", id: "notify-rules" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("notify.rule")),
        h("th", { scope: "col" }, t("notify.immediate")), h("th", { scope: "col" }, t("notify.digest")))),
      h("tbody", {}, RULES.map((rule) => h("tr", { dataset: { rule } },
        h("th", { scope: "row" }, t(`notify.rule_${rule}`)),
        h("td", {}, checkbox(`rules.${rule}.immediate`, s.rules[rule].immediate)),
        h("td", {}, checkbox(`rules.${rule}.digest`, s.rules[rule].digest))))));
    const digestOn = checkbox("digest.enabled", s.digest.enabled);
    const digestTime = timeInput("digest.time", s.digest.time);
    const digestEmpty = checkbox("digest.send_when_empty", s.digest.send_when_empty);
    const quietOn = checkbox("quiet_hours.enabled", s.quiet_hours.enabled);
    const quietStart = timeInput("quiet_hours.start", s.quiet_hours.start);
    const quietEnd = timeInput("quiet_hours.end", s.quiet_hours.end);
    const haEvent = checkbox("ha_event", s.ha_event);
    const webPush = checkbox("web_push", s.web_push);
    const error = h("p", { class: "form-error", id: "notify-form-error", role: "alert" });

    function body() {
      const urls = kept.map((u) => ({ id: u.id }));
      if (newUrl.value.trim()) urls.push({ url: newUrl.value.trim() });
      const ruleBody = {};
      for (const rule of RULES) {
        ruleBody[rule] = {
          immediate: form.elements[`rules.${rule}.immediate`].checked,
          digest: form.elements[`rules.${rule}.digest`].checked,
        };
      }
      return {
        ...s, // keys this panel does not show keep their values
        enabled: enabled.checked,
        timezone: zone.value.trim(),
        horizon_days: horizon.value === "" ? null : Number(horizon.value),
        node_offline_minutes: Number(offline.value),
        rules: ruleBody,
        digest: { enabled: digestOn.checked, time: digestTime.value,
          send_when_empty: digestEmpty.checked },
        quiet_hours: { enabled: quietOn.checked, start: quietStart.value, end: quietEnd.value },
        ha_event: haEvent.checked,
        web_push: webPush.checked,
        urls,
      };
    }

    const form = h("form", { class: "notify-form", id: "notify-form", onsubmit: async (e) => {
      e.preventDefault();
      error.textContent = "";
      try {
        view = await put("/api/notifications", body());
      } catch (err) {
        error.textContent = err.message;
        return;
      }
      toast(t("common.saved"), "ok");
      draw();
    } },
    labelled(enabled, t("notify.enabled")),
    h("h2", {}, t("notify.where")), urlList, field(t("notify.add_url"), newUrl,
      t("notify.url_hint")),
    h("div", { class: "toolbar" },
      h("button", { type: "button", class: "act", id: "notify-test", onclick: () => test() },
        t("notify.test"))),
    results,
    h("h2", {}, t("notify.what")), rules,
    h("div", { class: "columns" },
      h("section", {}, h("h2", {}, t("notify.digest_title")), labelled(digestOn, t("notify.digest_on")),
        field(t("notify.digest_time"), digestTime), labelled(digestEmpty, t("notify.digest_empty"))),
      h("section", {}, h("h2", {}, t("notify.quiet_title")), labelled(quietOn, t("notify.quiet_on")),
        field(t("notify.quiet_start"), quietStart), field(t("notify.quiet_end"), quietEnd))),
    h("h2", {}, t("notify.more")),
    field(t("notify.timezone"), zone), field(t("notify.horizon"), horizon),
    field(t("notify.offline_minutes"), offline),
    view.ha_event_topic ? labelled(haEvent, t("notify.ha_event", { topic: view.ha_event_topic }))
      : null,
    labelled(webPush, t("notify.web_push")),
    error,
    h("button", { type: "submit", class: "big", id: "notify-save" }, t("common.save")));

    /** Send a test: to the URL being typed (not saved), else to every saved target. */
    async function test() {
      const url = newUrl.value.trim();
      replace(results);
      try {
        const answer = await post("/api/notifications/test", url ? { url } : {});
        replace(results, answer.results.map((r) => h("li", {
          class: `row result ${r.status}`, dataset: { status: r.status },
        }, h("code", { class: "name" }, r.target), h("span", { class: `badge ${r.status === "sent"
          ? "ok" : "urgent"}` }, r.status === "sent" ? t("notify.sent") : t("notify.failed")),
        r.error ? h("small", {}, r.error) : null)));
      } catch (err) {
        replace(results, h("li", { class: "row result failed", dataset: { status: "error" } },
          err.message));
      }
    }

    const recent = h("ul", { class: "rows recent", id: "notify-recent" },
      (view.recent || []).length ? view.recent.map((n) => h("li", { class: "row notification" },
        h("span", { class: "name" }, n.title), h("small", {}, dateTime(n.created_at)),
        (n.deliveries || []).map((d) => h("span", { class: `badge ${d.status === "sent" ? "ok"
          : "warn"}`, title: d.error || "" }, `${d.target}: ${d.status}`))))
        : h("li", { class: "empty" }, t("notify.none_yet")));
    replace(box, form, pushSection(s.web_push), h("h2", {}, t("notify.recent")), recent);
  }

  load();
  return { refresh: load };
}
