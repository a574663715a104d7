// The shopping list: urgent first (or grouped by category or location, urgent first within
// each), add free text or a product from the suggestions, edit an entry (text, amount,
// priority, note), tick it off with the amount bought going into stock, remove.

import { write } from "../actions.js";
import { del, get, patch, post, query } from "../api.js";
import { coalesce, h, replace, toast } from "../dom.js";
import { amount, t } from "../i18n.js";
import { amountField, field, formDialog, numberInput, picture, select, textInput } from "../ui.js";

const PRIORITY_ORDER = { urgent: 0, normal: 1, low: 2 };
const GROUP_KEY = "kitchen.shopping.group";

function priorities() {
  return [["urgent", t("shopping.urgent")], ["normal", t("shopping.normal")],
    ["low", t("shopping.low")]];
}

/** Render the shopping list into `root`. */
export function shoppingView(root) {
  const list = h("div", { class: "shopping-groups", id: "shopping-list" });
  const suggestions = h("div", { class: "suggestions", id: "shopping-suggestions" });
  const text = h("input", { type: "text", name: "text", id: "shopping-text", required: true,
    autocomplete: "off", placeholder: t("shopping.add_placeholder"),
    "aria-label": t("shopping.item"), oninput: () => suggest() });
  const qty = h("input", { type: "number", name: "amount", min: "0", step: "any", value: "1",
    "aria-label": t("shopping.amount"), class: "qty-input", id: "shopping-amount" });
  const priority = select("priority", priorities(), "normal",
    { "aria-label": t("shopping.priority"), id: "shopping-priority" });
  const group = select("group", [["none", t("shopping.group_none")],
    ["category", t("shopping.group_category")], ["location", t("shopping.group_location")]],
  localStorage.getItem(GROUP_KEY) || "none", { id: "shopping-group" });
  group.addEventListener("change", () => {
    localStorage.setItem(GROUP_KEY, group.value);
    load();
  });
  const form = h("form", { class: "add-item", onsubmit: (e) => {
    e.preventDefault();
    const value = text.value.trim();
    if (value) add({ text: value });
  } }, text, qty, priority, h("button", { type: "submit", class: "big" }, t("shopping.add")));
  replace(root, h("div", { class: "title-row" }, h("h1", {}, t("shopping.title")),
    field(t("shopping.group"), group)), form, suggestions, list);

  async function add(what) {
    const done = await write(() => post("/api/shopping", { ...what,
      amount: Number(qty.value) || 1, priority: priority.value }), null);
    if (done) {
      text.value = "";
      qty.value = "1";
      // The next entry starts as normal again: one urgent item must not make the rest urgent.
      priority.value = "normal";
      replace(suggestions);
    }
    load();
  }

  let asked = "";
  async function suggest() {
    const q = text.value.trim();
    asked = q;
    if (q.length < 2) {
      replace(suggestions);
      return;
    }
    let items = [];
    try {
      items = (await get("/api/products" + query({ search: q, limit: 6 }))).items;
    } catch {
      return;
    }
    if (asked !== q) return; // a newer keystroke is on its way
    replace(suggestions, items.map((p) => h("button", { type: "button", class: "suggestion",
      dataset: { productId: p.id }, onclick: () => add({ product_id: p.id }) },
    `+ ${p.name}`, p.brand ? h("small", {}, ` ${p.brand}`) : null)));
  }

  async function purchase(item, bought) {
    const body = bought != null ? { amount: bought } : {};
    await write(() => post(`/api/shopping/${item.id}/purchase`, body), (answer) => {
      const lot = answer.lot;
      return lot ? t("shopping.bought_stock", { name: item.product_name,
        amount: amount(lot.amount, item.unit) })
        : t("shopping.bought", { name: item.text || item.product_name });
    });
    load();
  }

  async function tick(item) {
    if (!item.product_id) {
      purchase(item);
      return;
    }
    // Bought: how much goes into stock (the entry's amount unless the person changes it).
    const name = item.product_name || item.text;
    await formDialog(t("shopping.buy_title", { name }),
      [amountField(t("shopping.buy_amount"), "amount", item.amount, item.unit)],
      t("shopping.buy"), async (f) => {
        await purchase(item, Number(f.elements.amount.value) || item.amount);
        return true;
      });
  }

  async function edit(item) {
    const fields = [
      item.product_id ? null : field(t("shopping.text"), textInput("text", item.text,
        { required: true, maxlength: "200" })),
      field(t("shopping.amount"), numberInput("amount", item.amount)),
      field(t("shopping.priority"), select("priority", priorities(), item.priority)),
      field(t("shopping.note"), textInput("note", item.note, { maxlength: "500" })),
    ];
    const saved = await formDialog(t("shopping.edit_title"), fields, t("common.save"),
      async (f) => {
        const body = {};
        if (f.elements.text && f.elements.text.value.trim() !== item.text) {
          body.text = f.elements.text.value.trim();
        }
        const n = Number(f.elements.amount.value);
        if (n && n !== item.amount) body.amount = n;
        if (f.elements.priority.value !== item.priority) body.priority = f.elements.priority.value;
        const note = f.elements.note.value.trim() || null;
        if (note !== (item.note || null)) body.note = note;
        if (!Object.keys(body).length) return item;
        const answer = await patch(`/api/shopping/${item.id}`, body);
        toast(t("common.saved"), "ok");
        return answer;
      });
    if (saved) load();
  }

  async function remove(item) {
    await write(() => del(`/api/shopping/${item.id}`), null);
    load();
  }

  function row(item) {
    const label = item.product_name || item.text;
    return h("li", { class: `row priority-${item.priority} ${item.auto ? "auto" : ""}`,
      dataset: { itemId: item.id, priority: item.priority } },
    h("button", { type: "button", class: "check", "aria-label": t("shopping.bought_label",
      { name: label }), onclick: () => tick(item) }, "✓"),
    item.product_id ? picture({ id: item.product_id, name: label,
      has_picture: item.has_picture }) : null,
    h("span", { class: "name" }, label,
      item.auto ? h("small", {}, ` ${t("shopping.below_min")}`) : null,
      item.note ? h("small", { class: "item-note" }, ` ${item.note}`) : null),
    h("span", { class: "qty" }, amount(item.amount, item.unit)),
    item.priority !== "normal" ? h("span", { class: `badge ${item.priority}` },
      item.priority === "urgent" ? t("shopping.urgent") : t("shopping.low")) : null,
    h("button", { type: "button", class: "act edit", "aria-label": t("shopping.edit",
      { name: label }), onclick: () => edit(item) }, "✎"),
    h("button", { type: "button", class: "act remove", "aria-label": t("shopping.remove",
      { name: label }), onclick: () => remove(item) }, "✕"));
  }

  const load = coalesce(async () => {
    const by = group.value === "none" ? null : group.value;
    let answer;
    try {
      answer = await get("/api/shopping" + query({ purchased: "false", group_by: by }));
    } catch (err) {
      replace(list, h("p", { class: "empty" }, err.message));
      return;
    }
    const items = answer.items.sort((a, b) =>
      (PRIORITY_ORDER[a.priority] ?? 1) - (PRIORITY_ORDER[b.priority] ?? 1));
    if (!items.length) {
      replace(list, h("ul", { class: "rows shopping" },
        h("li", { class: "empty" }, t("shopping.empty"))));
      return;
    }
    if (!by || !answer.groups) {
      replace(list, h("ul", { class: "rows shopping" }, items.map(row)));
      return;
    }
    // The node groups (urgent groups first, then by name); entries keep the list's order.
    const none = by === "category" ? t("shopping.no_category") : t("stock.no_location");
    replace(list, answer.groups.map((g) => h("section", { class: "group",
      dataset: { group: g.name || none } }, h("h2", {}, g.name || none),
    h("ul", { class: "rows shopping" }, g.items.map(row)))));
  });

  load();
  return {
    onMessage(msg) {
      if (msg.type.startsWith("shopping.") || /^(product|location)\./.test(msg.type)) load();
    },
    refresh: load,
  };
}

