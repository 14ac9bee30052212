// The sign-in page: an API key and secret, exchanged once for a session cookie. The secret
// leaves the input as it is sent and is kept nowhere: not in storage, not in memory.

import { ApiError, signIn } from "./api.js";
import { h } from "./dom.js";

export function signInView(root, { onSignedIn, message }) {
  document.title = "Sign in · snapset";
  const key = h("input", { id: "api-key", name: "api_key", type: "text", autocomplete: "username",
    spellcheck: "false", "aria-required": "true" });
  const secret = h("input", { id: "api-secret", name: "api_secret", type: "password",
    autocomplete: "off", "aria-required": "true" });
  const error = h("p", { class: "form-error", role: "alert", id: "sign-in-error" }, message || "");
  const submit = h("button", { type: "submit", class: "primary wide" }, "Sign in");
  const form = h("form", { class: "sign-in panel", novalidate: true, "aria-labelledby": "sign-in-title" },
    h("h1", { id: "sign-in-title" }, "Sign in to snapset"),
    h("p", { class: "muted" }, "Use the API key and secret you were given (",
      h("code", {}, "snapset users add"), " prints them)."),
    h("div", { class: "field" }, h("label", { for: key.id }, "API key"), key),
    h("div", { class: "field" }, h("label", { for: secret.id }, "API secret"), secret),
    error, submit);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const apiKey = key.value.trim();
    if (!apiKey || !secret.value) {
      error.textContent = "Enter your API key and your API secret.";
      (apiKey ? secret : key).focus();
      return;
    }
    submit.disabled = true;
    error.textContent = "";
    try {
      const session = await signIn(apiKey, secret.value);
      secret.value = "";
      onSignedIn(session);
    } catch (failure) {
      secret.value = "";
      error.textContent = failure instanceof ApiError ? failure.detail : `Could not sign in: ${failure.message}`;
      secret.focus();
    } finally {
      submit.disabled = false;
    }
  });
  root.append(h("div", { class: "sign-in-page" }, form));
  key.focus();
}
