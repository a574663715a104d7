// Writes from the views: every one shows that it worked (with Undo where the node records a
// journal entry) or why not (the problem+json detail), and a consume the node refuses for
// lack of stock asks "record anyway?" before it is sent again with allow_negative.

import { ApiError, post } from "./api.js";
import { toast } from "./dom.js";
import { t } from "./i18n.js";
import { confirmDialog } from "./ui.js";

// Undo needs the node's journal (POST /api/journal/{id}/undo); central has none (yet).
let undoOffered = true;

/** Offer Undo in the toasts of writes whose answer names a journal entry (default: yes). */
export function offerUndo(on) {
  undoOffered = on;
}

/** The person chose not to record a consume without stock: nothing to report. */
class Declined extends Error {}

/** True when a problem is the node's "none in stock" refusal (409 from a consume). */
export function isNoneInStock(err) {
  if (!(err instanceof ApiError) || err.status !== 409) return false;
  const p = err.problem || {};
  return p.code === "none_in_stock" || p.reason === "none_in_stock" || "allow_negative" in p
    || /in stock|negative|im Vorrat/i.test(`${p.detail || ""} ${p.title || ""}`);
}

/** Undo a journal entry from a toast. */
export async function undoEntry(journalId) {
  try {
    await post(`/api/journal/${encodeURIComponent(journalId)}/undo`, {});
    toast(t("journal.undo_done"), "ok");
  } catch (err) {
    toast(err.message);
  }
}

/**
 * Run `send()` (an API call); on success toast `okText` (a string or a function of the
 * answer) with Undo when the answer names a journal entry. Returns the answer, or null.
 */
export async function write(send, okText) {
  try {
    const answer = await send();
    const text = typeof okText === "function" ? okText(answer) : okText;
    const journalId = undoOffered && answer && answer.journal_id;
    if (text) {
      toast(text, "ok", journalId
        ? { label: t("common.undo"), run: () => undoEntry(journalId) } : null);
    }
    return answer ?? {};
  } catch (err) {
    if (!(err instanceof Declined)) toast(err.message);
    return null;
  }
}

/**
 * A consume: `send(extra)` is called with {} first; when the node answers "none in stock"
 * the person is asked, and only on "record anyway" is it sent again with allow_negative.
 */
export async function consume(send, okText, productName) {
  return write(async () => {
    try {
      return await send({});
    } catch (err) {
      if (!isNoneInStock(err)) throw err;
      const anyway = await confirmDialog(t("negative.title"),
        t("negative.text", { name: productName }), t("negative.record"));
      if (!anyway) throw new Declined();
      return send({ allow_negative: true });
    }
  }, okText);
}

