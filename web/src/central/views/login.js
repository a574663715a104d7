// Login, and the first account of the household (offered only while none exists and the page
// is opened on central's machine itself: central decides, /api/auth/state says).

import { h, replace } from "../../dom.js";
import { t } from "../../i18n.js";
import { field, textInput } from "../../ui.js";
import { authState, LoginError, login, setup } from "../session.js";

/** A text for a failed login or setup, by status. */
function failure(err) {
  if (!(err instanceof LoginError)) return err.message || String(err);
  if (err.status === 401) return t("login.wrong");
  if (err.status === 429) {
    return err.retryAfter != null ? t("login.rate_limited", { seconds: err.retryAfter })
      : t("login.rate_limited_later");
  }
  if (err.status === 0) return t("login.unreachable");
  return err.message || t("login.failed");
}

function passwordInput(name, autocomplete) {
  return h("input", { type: "password", name, id: `login-${name}`, required: true,
    autocomplete, maxlength: "1024" });
}

/** The login form; offers first-account creation instead while central allows it. */
export function loginView(root, params, { loggedIn }) {
  const error = h("p", { class: "form-error", id: "login-error", role: "alert" });
  const button = h("button", { type: "submit", class: "big", id: "login-submit" },
    t("login.submit"));
  const name = textInput("name", "", { id: "login-name", required: true, autocomplete: "username",
    maxlength: "200" });
  const password = passwordInput("password", "current-password");
  let retryTimer = null;
  const form = h("form", { class: "login", id: "login-form", onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = "";
    button.disabled = true;
    try {
      await login(name.value.trim(), password.value);
      loggedIn();
    } catch (err) {
      error.textContent = failure(err);
      error.dataset.status = err.status ?? "";
      password.value = "";
      if (err.status === 429 && err.retryAfter) {
        // Locked for a while: the button comes back when central will listen again.
        clearTimeout(retryTimer);
        retryTimer = setTimeout(() => { button.disabled = false; }, err.retryAfter * 1000);
        return;
      }
    }
    button.disabled = false;
  } },
  h("h1", {}, t("login.title")),
  field(t("login.name"), name), field(t("login.password"), password), error, button);
  replace(root, h("section", { class: "login-box" }, form));
  authState().then((state) => {
    if (!state.accounts && state.setup_allowed) location.hash = "#/setup";
    else if (!state.accounts) {
      replace(root, h("section", { class: "login-box" }, h("h1", {}, t("login.title")),
        h("p", { class: "note", id: "no-account" }, t("setup.elsewhere"))));
    }
  }).catch(() => {});
  name.focus();
  return { destroy: () => clearTimeout(retryTimer) };
}

/** First-account creation: name, password twice. */
export function setupView(root, params, { loggedIn }) {
  const error = h("p", { class: "form-error", id: "setup-error", role: "alert" });
  const name = textInput("name", "", { id: "setup-name", required: true, autocomplete: "username",
    maxlength: "200" });
  const password = passwordInput("password", "new-password");
  const again = passwordInput("again", "new-password");
  const form = h("form", { class: "login", id: "setup-form", onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = "";
    if (password.value !== again.value) {
      error.textContent = t("setup.mismatch");
      return;
    }
    try {
      await setup(name.value.trim(), password.value);
      loggedIn();
    } catch (err) {
      error.textContent = err.status === 403 ? t("setup.refused") : failure(err);
    }
  } },
  h("h1", {}, t("setup.title")), h("p", { class: "hint" }, t("setup.intro")),
  field(t("login.name"), name), field(t("login.password"), password),
  field(t("setup.again"), again), error,
  h("button", { type: "submit", class: "big", id: "setup-submit" }, t("setup.submit")));
  replace(root, h("section", { class: "login-box" }, form));
  authState().then((state) => {
    if (state.accounts || !state.setup_allowed) location.hash = "#/login";
  }).catch(() => {});
  name.focus();
}
