// The shopping list: urgent first, check an item off to purchase it, add free text.

import { get, post, del } from "../api.js";
import { h, replace, amount } from "../dom.js";

/** Render the shopping list into `root`. */
export function shoppingView(root) {
  const list = h("ul", { class: "rows shopping", id: "shopping-list" });
  const text = h("input", { type: "text", name: "text", id: "shopping-text", required: true,
    placeholder: "Add to the list", "aria-label": "Item" });
  const qty = h("input", { type: "number", name: "amount", min: "0", step: "any", value: "1",
    "aria-label": "Amount", class: "qty-input" });
  const priority = h("select", { name: "priority", "aria-label": "Priority" },
    h("option", { value: "urgent" }, "Urgent"),
    h("option", { value: "normal", selected: true }, "Normal"),
    h("option", { value: "low" }, "Low"));
  const form = h("form", { class: "add-item", onsubmit: async (e) => {
    e.preventDefault();
    try {
      await post("/api/shopping", { text: text.value.trim(), amount: Number(qty.value) || 1,
        priority: priority.value });
      text.value = "";
    } catch (err) {
      alert(err.message);
    }
    load();
  } }, text, qty, priority, h("button", { type: "submit", class: "big" }, "Add"));
  replace(root, h("h1", {}, "Shopping list"), form, list);

  async function act(fn) {
    try {
      await fn();
    } catch (err) {
      alert(err.message);
    }
    load();
  }

  async function load() {
    let items;
    try {
      items = (await get("/api/shopping?purchased=false")).items;
    } catch (err) {
      replace(list, h("li", { class: "empty" }, err.message));
      return;
    }
    replace(list, items.length ? items.map((item) =>
      h("li", { class: `row priority-${item.priority} ${item.auto ? "auto" : ""}`,
        dataset: { itemId: item.id } },
        h("button", { type: "button", class: "check", "aria-label": `Bought ${item.product_name || item.text}`,
          onclick: () => act(() => post(`/api/shopping/${item.id}/purchase`, {})) }, "✓"),
        h("span", { class: "name" }, item.product_name || item.text,
          item.note ? h("small", {}, ` ${item.note}`) : null),
        h("span", { class: "qty" }, amount(item.amount)),
        item.priority !== "normal" ? h("span", { class: `badge ${item.priority}` }, item.priority)
          : null,
        h("button", { type: "button", class: "act remove", "aria-label": "Remove",
          onclick: () => act(() => del(`/api/shopping/${item.id}`)) }, "✕")))
      : h("li", { class: "empty" }, "The list is empty."));
  }

  load();
  return {
    onMessage(msg) {
      if (msg.type.startsWith("shopping.")) load();
    },
    refresh: load,
  };
}
