// "Print label" for a lot: through the node's label printer when one is configured
// ([labels] webhook), else the label's PDF opens in a new tab to print from there.

import { ApiError, get, post } from "./api.js";
import { h, toast } from "./dom.js";
import { t } from "./i18n.js";

// What GET /api/labels said; asked once. Until it answers, a press opens the PDF.
let settings = null;
let asking = null;

/** Ask the node once whether it has a label printer (the button's wording follows). */
export function loadLabelSettings() {
  if (!asking) {
    asking = get("/api/labels").then((answer) => { settings = answer; return answer; })
      .catch(() => { asking = null; return null; });
  }
  return asking;
}

/** The label's PDF (or PNG) address; the session cookie authorises it. */
export function labelUrl(lotId, kind = "pdf") {
  return `/api/lots/${encodeURIComponent(lotId)}/label.${kind}`;
}

function openLabel(lotId) {
  // Opened in the click itself: Safari blocks windows opened after an await.
  window.open(labelUrl(lotId), "_blank", "noopener");
}

/** Print the lot's label (printer), or open it (no printer). */
export async function printLabel(lotId) {
  if (!settings || !settings.printer) {
    openLabel(lotId);
    return;
  }
  try {
    await post(`/api/lots/${encodeURIComponent(lotId)}/print`, {});
    toast(t("label.sent"), "ok");
  } catch (err) {
    const noPrinter = err instanceof ApiError && err.problem && err.problem.reason === "no_printer";
    if (noPrinter) settings = { ...settings, printer: false };
    // The label can still be had as a PDF: offer it with the reason it did not print.
    toast(err.message, "error", { label: t("label.open"), run: () => openLabel(lotId) });
  }
}

/** A "Print label" button for a lot. */
export function labelButton(lotId, cls = "act label") {
  const button = h("button", { type: "button", class: cls, dataset: { lotId },
    onclick: () => printLabel(lotId) }, t("label.print"));
  loadLabelSettings().then((answer) => {
    if (answer && !answer.printer) button.title = t("label.no_printer");
  });
  return button;
}
