// Short messages at the top of the page: confirmations (which fade after a while) and
// errors (which stay until dismissed, and carry the API's `detail`).

import { ApiError } from "./api.js";
import { h } from "./dom.js";

const LINGER_MS = 8000;

function region() {
  return document.getElementById("notices");
}

export function notify(message, { tone = "info", action = null } = {}) {
  const close = () => item.remove();
  const item = h("div", { class: `notice tone-${tone}`, role: tone === "bad" ? "alert" : "status" },
    h("span", { class: "notice-text" }, message),
    action,
    h("button", { type: "button", class: "quiet notice-close", "aria-label": "Dismiss",
      onclick: close }, "×"));
  region().append(item);
  if (tone !== "bad") setTimeout(close, LINGER_MS);
  return item;
}

export function notifyError(error, doing) {
  // A 401 already sent the page to the sign-in form, which says why.
  if (error instanceof ApiError && error.status === 401) return null;
  const detail = error instanceof ApiError ? error.detail : String(error.message || error);
  return notify(doing ? `${doing}: ${detail}` : detail, { tone: "bad" });
}

export function clearNotices() {
  region().replaceChildren();
}
