// API tokens for scripts and integrations: the list, a new one (its secret shown once) and
// revoking. Central stores only their hashes.

import { write } from "../../actions.js";
import { del, get, post } from "../../api.js";
import { coalesce, h, replace } from "../../dom.js";
import { dateTime, t } from "../../i18n.js";
import { confirmDialog, field, select, textInput } from "../../ui.js";

/** Render the token list into `root`. */
export function tokensView(root) {
  const body = h("tbody", { id: "tokens-body" });
  const secret = h("div", { class: "note secret", id: "token-secret", hidden: true });
  const name = textInput("name", "", { id: "token-name", required: true, maxlength: "100" });
  const scope = select("scope", [["read", t("tokens.read")], ["full", t("tokens.full")]], "read",
    { id: "token-scope" });
  const form = h("form", { class: "add-item", id: "token-form", onsubmit: async (e) => {
    e.preventDefault();
    const created = await write(() => post("/api/tokens", { name: name.value.trim(),
      scope: scope.value }), t("tokens.created"));
    if (created && created.token) {
      name.value = "";
      replace(secret, h("p", {}, t("tokens.copy_now")),
        h("code", { id: "token-value" }, created.token));
      secret.hidden = false;
    }
    load();
  } }, field(t("tokens.name"), name), field(t("tokens.scope"), scope),
  h("button", { type: "submit", class: "big" }, t("tokens.create")));
  replace(root, h("h1", {}, t("dash.tab_tokens")), h("p", { class: "hint" }, t("tokens.intro")),
    form, secret,
    h("table", { class: "grid tokens", id: "tokens" },
      h("thead", {}, h("tr", {}, ["tokens.name", "tokens.scope", "tokens.created_at",
        "tokens.last_used", ""].map((k) => h("th", { scope: "col" }, k ? t(k) : "")))), body));

  const load = coalesce(async () => {
    let items;
    try {
      const answer = await get("/api/tokens");
      items = Array.isArray(answer) ? answer : answer.items || [];
    } catch (err) {
      replace(body, h("tr", {}, h("td", { colspan: "5" }, err.message)));
      return;
    }
    if (!items.length) {
      replace(body, h("tr", {}, h("td", { colspan: "5", class: "empty" }, t("tokens.none"))));
      return;
    }
    replace(body, items.map((tok) => h("tr", { class: "token", dataset: { token: tok.id } },
      h("th", { scope: "row" }, tok.name),
      h("td", {}, tok.scope === "full" ? t("tokens.full") : t("tokens.read")),
      h("td", {}, dateTime(tok.created_at || tok.created)),
      h("td", {}, dateTime(tok.last_used_at || tok.last_used) || "–"),
      h("td", {}, h("button", { type: "button", class: "act remove revoke",
        onclick: () => revoke(tok) }, t("tokens.revoke"))))));
  });

  async function revoke(tok) {
    if (!await confirmDialog(t("tokens.revoke"), t("tokens.revoke_confirm", { name: tok.name }),
      t("tokens.revoke"), true)) return;
    await write(() => del(`/api/tokens/${encodeURIComponent(tok.id)}`), t("tokens.revoked"));
    load();
  }

  load();
  return { refresh: load };
}
