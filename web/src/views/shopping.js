// The shopping list: urgent first, check an item off to purchase it (a product goes into
// stock), add free text or a product picked from the suggestions.

import { del, get, post, query } from "../api.js";
import { amount, coalesce, h, replace, toast } from "../dom.js";

/** Render the shopping list into `root`. */
export function shoppingView(root) {
  const list = h("ul", { class: "rows shopping", id: "shopping-list" });
  const suggestions = h("div", { class: "suggestions", id: "shopping-suggestions" });
  const text = h("input", { type: "text", name: "text", id: "shopping-text", required: true,
    autocomplete: "off", placeholder: "Add to the list", "aria-label": "Item",
    oninput: () => suggest() });
  const qty = h("input", { type: "number", name: "amount", min: "0", step: "any", value: "1",
    "aria-label": "Amount", class: "qty-input", id: "shopping-amount" });
  const priority = h("select", { name: "priority", "aria-label": "Priority", id: "shopping-priority" },
    h("option", { value: "urgent" }, "Urgent"),
    h("option", { value: "normal", selected: true }, "Normal"),
    h("option", { value: "low" }, "Low"));
  const form = h("form", { class: "add-item", onsubmit: (e) => {
    e.preventDefault();
    const value = text.value.trim();
    if (value) add({ text: value });
  } }, text, qty, priority, h("button", { type: "submit", class: "big" }, "Add"));
  replace(root, h("h1", {}, "Shopping list"), form, suggestions, list);

  async function add(what) {
    try {
      await post("/api/shopping", { ...what, amount: Number(qty.value) || 1,
        priority: priority.value });
      text.value = "";
      qty.value = "1";
      replace(suggestions);
    } catch (err) {
      toast(err.message);
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

  async function purchase(item) {
    try {
      const answer = await post(`/api/shopping/${item.id}/purchase`, {});
      const lot = answer.lot;
      toast(lot ? `Bought ${item.product_name}: ${amount(lot.amount, item.unit)} into stock`
        : `Bought ${item.text || item.product_name}`, "ok");
    } catch (err) {
      toast(err.message);
    }
    load();
  }

  async function remove(item) {
    try {
      await del(`/api/shopping/${item.id}`);
    } catch (err) {
      toast(err.message);
    }
    load();
  }

  const load = coalesce(async () => {
    let items;
    try {
      items = (await get("/api/shopping?purchased=false")).items;
    } catch (err) {
      replace(list, h("li", { class: "empty" }, err.message));
      return;
    }
    replace(list, items.length ? items.map((item) => {
      const label = item.product_name || item.text;
      return h("li", { class: `row priority-${item.priority} ${item.auto ? "auto" : ""}`,
        dataset: { itemId: item.id, priority: item.priority } },
        h("button", { type: "button", class: "check", "aria-label": `Bought ${label}`,
          onclick: () => purchase(item) }, "✓"),
        h("span", { class: "name" }, label,
          item.auto ? h("small", {}, " below minimum") : null,
          item.note ? h("small", {}, ` ${item.note}`) : null),
        h("span", { class: "qty" }, amount(item.amount, item.unit)),
        item.priority !== "normal" ? h("span", { class: `badge ${item.priority}` }, item.priority)
          : null,
        h("button", { type: "button", class: "act remove", "aria-label": `Remove ${label}`,
          onclick: () => remove(item) }, "✕"));
    }) : h("li", { class: "empty" }, "The list is empty."));
  });

  load();
  return {
    onMessage(msg) {
      if (msg.type.startsWith("shopping.") || msg.type === "product.updated") load();
    },
    refresh: load,
  };
}
