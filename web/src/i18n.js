// Languages: one catalogue per language (i18n/en.json, i18n/de.json), chosen from the
// browser's languages or the switch in settings; numbers, amounts and dates through Intl.

import de from "./i18n/de.json";
import en from "./i18n/en.json";

export const CATALOGUES = { en, de };
export const LANGUAGES = [["en", "English"], ["de", "Deutsch"]];
const KEY = "kitchen.lang";

/** The language from localStorage, else the first supported one of the browser's. */
function initial() {
  const saved = localStorage.getItem(KEY);
  if (saved && CATALOGUES[saved]) return saved;
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const base = String(tag).slice(0, 2).toLowerCase();
    if (CATALOGUES[base]) return base;
  }
  return "en";
}

let lang = initial();
let locale = regional(lang);
let numberFmt = null;
let dateFmt = null;
document.documentElement.lang = lang;

/** The browser's own regional form of `language` ("en-GB", "de-AT") for Intl, else the language. */
function regional(language) {
  for (const tag of navigator.languages || []) {
    if (String(tag).toLowerCase().startsWith(language)) return tag;
  }
  return language;
}

/** Add texts to the catalogues ({en: {...}, de: {...}}): central's dashboard brings its own. */
export function addTexts(extra) {
  for (const [code, texts] of Object.entries(extra)) Object.assign(CATALOGUES[code] ||= {}, texts);
}

/** The current language ("en" | "de"). */
export function language() {
  return lang;
}

/** Switch the language and remember it on this device. */
export function setLanguage(next) {
  if (!CATALOGUES[next]) return;
  lang = next;
  locale = regional(next);
  numberFmt = dateFmt = null;
  localStorage.setItem(KEY, next);
  document.documentElement.lang = next;
}

/** The text for `key`, with {name} placeholders filled from `params`. */
export function t(key, params) {
  const text = CATALOGUES[lang][key] ?? en[key] ?? key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

/** A number in the locale's format, at most 2 decimals ("1,5" in German). */
export function number(value) {
  numberFmt ||= new Intl.NumberFormat(locale, { maximumFractionDigits: 2 });
  return numberFmt.format(Number(value));
}

/** A calendar date (YYYY-MM-DD...) in the locale's format ("01.12.2026"), never shifted by time zones. */
export function date(iso) {
  if (!iso) return "";
  const [y, m, d] = String(iso).slice(0, 10).split("-").map(Number);
  if (!y || !m || !d) return String(iso);
  dateFmt ||= new Intl.DateTimeFormat(locale, {
    day: "2-digit", month: "2-digit", year: "numeric", timeZone: "UTC",
  });
  return dateFmt.format(new Date(Date.UTC(y, m - 1, d)));
}

/** A timestamp as the local date and time in the locale's format. */
export function dateTime(iso) {
  if (!iso) return "";
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return String(iso);
  return new Intl.DateTimeFormat(locale, { dateStyle: "short", timeStyle: "short" }).format(when);
}

const COUNT_UNITS = new Set(["pcs", "piece", "pieces", "pc", "Stk"]);

/** True when a unit counts pieces (shown without a unit). */
export function isCountUnit(unit) {
  return !unit || COUNT_UNITS.has(unit);
}

/** An amount with its unit: "1,5 kg", "250 g", "3" for pieces. */
export function amount(value, unit) {
  const text = number(value);
  return isCountUnit(unit) ? text : `${text} ${unit}`;
}

/** A sum of money in the locale's format ("1,19 €" in German, "€1.19" in English). */
export function money(value, currency = "EUR") {
  if (value == null || value === "") return "";
  try {
    return new Intl.NumberFormat(locale, { style: "currency", currency: currency || "EUR" })
      .format(Number(value));
  } catch {
    return `${number(value)} ${currency || ""}`.trim(); // an unknown currency code
  }
}
