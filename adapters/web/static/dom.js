// Small DOM helpers: build elements without innerHTML (so no markup injection, and no
// inline styles, which the page's Content-Security-Policy forbids anyway).

export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "value") el.value = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : String(child));
  }
  return parent;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

// The API's times are UTC: snapshots' without a zone suffix and with microseconds,
// tasks' with a "Z". Both parse as UTC here and show in the reader's local time.
const dateTime = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "numeric",
  hour: "2-digit", minute: "2-digit", second: "2-digit",
});

export function parseUtc(text) {
  if (!text) return null;
  const trimmed = text.replace(/(\.\d{3})\d+/, "$1");
  return new Date(/[zZ]|[+-]\d\d:\d\d$/.test(trimmed) ? trimmed : `${trimmed}Z`);
}

export function timeElement(text) {
  const date = parseUtc(text);
  if (!date || Number.isNaN(date.getTime())) return h("span", { class: "muted", text: "—" });
  return h("time", { datetime: date.toISOString(), title: `${date.toISOString()} (UTC)` },
    dateTime.format(date));
}

export function plural(n, one, many = `${one}s`) {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

// Labels for the API's enum spellings.
export function humanize(constant) {
  const text = String(constant).replaceAll("_", " ").toLowerCase();
  return text.charAt(0).toUpperCase() + text.slice(1);
}

const STATUS_TONES = {
  READY: "ok", COMPLETED: "ok",
  INDEXING: "busy", RUNNING: "busy", INITIALIZING: "busy",
  "READ ONLY": "warn", READ_ONLY: "warn", "PARTIAL INDEX": "warn", PARTIAL_INDEX: "warn",
  ERROR: "bad", FAILED: "bad",
  DRAFT: "idle", ABORTED: "idle",
};

export function statusBadge(status, extra = {}) {
  const label = String(status).replaceAll("_", " ");
  return h("span", { class: `badge tone-${STATUS_TONES[status] || "idle"}`, ...extra }, label);
}

// With `atLeast`, `total` is a lower bound: the status says "at least", and `more` (whether
// another page follows) decides Next instead of the page count.
export function pager({ page, pageSize, total, onPage, label, status,
  previous = "Previous", next = "Next", atLeast = false, more }) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const first = total === 0 ? 0 : (page - 1) * pageSize + 1;
  const last = atLeast ? page * pageSize : Math.min(total, page * pageSize);
  const counted = atLeast ? `Page ${page} · ${first}–${last} of at least ${total.toLocaleString()}`
    : `Page ${page} of ${pages} · ${first}–${last} of ${total.toLocaleString()}`;
  const lastPage = more === undefined ? page >= pages : !more;
  return h("nav", { class: "pager", "aria-label": label },
    h("button", { type: "button", class: "quiet", disabled: page <= 1,
      onclick: () => onPage(page - 1) }, h("span", { "aria-hidden": "true" }, "‹ "), previous),
    h("span", { class: "pager-status", "aria-live": "polite" }, status || counted),
    h("button", { type: "button", class: "quiet", disabled: lastPage,
      onclick: () => onPage(page + 1) }, next, h("span", { "aria-hidden": "true" }, " ›")));
}
