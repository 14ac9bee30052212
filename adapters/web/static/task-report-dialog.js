// A finished task's report (GET /tasks/{id}/report) in a dialog, for the Task Manager:
// counts as a list of fields, lists of flat records (per-row errors) as tables, a download
// URI as a link. The report's shape depends on the task type, so it is drawn from whatever
// JSON the task left.

import { ApiError, api, isAbort } from "./api.js";
import { h, humanize } from "./dom.js";
import * as endpoints from "./endpoints.js";
import { infoDialog } from "./info-dialog.js";

export function openReport(task, opener) {
  const controller = new AbortController();
  const body = h("div", { class: "task-report", id: "task-report", "aria-live": "polite",
    "aria-busy": "true" }, h("p", { class: "muted" }, "Loading the report…"));
  infoDialog({
    title: `Report of the ${humanize(task.task_type).toLowerCase()} task on “${task.dataset_name}”`,
    body, opener, wide: true, onClose: () => controller.abort(),
  });
  api("GET", endpoints.taskReport(task.task_id), { signal: controller.signal }).then((answer) => {
    body.replaceChildren(answer.report ? value(answer.report, "")
      : h("p", { class: "empty" }, "This task left no report."));
    body.removeAttribute("aria-busy");
  }, (error) => {
    if (isAbort(error)) return;
    const detail = error instanceof ApiError ? error.detail : String(error.message || error);
    body.replaceChildren(h("p", { class: "form-error", role: "alert" },
      `The report cannot be shown: ${detail}`));
    body.removeAttribute("aria-busy");
  });
}

function isRecord(item) {
  return item !== null && typeof item === "object" && !Array.isArray(item);
}

function isFlat(item) {
  return isRecord(item) && Object.values(item).every((v) => v === null || typeof v !== "object");
}

function value(item, key) {
  if (item === null || item === undefined) return h("span", { class: "muted" }, "—");
  if (typeof item === "boolean") return item ? "Yes" : "No";
  if (typeof item === "number") return item.toLocaleString();
  if (typeof item === "string") {
    return key.endsWith("_uri") && item.startsWith("/") ? h("a", { href: item }, item) : item;
  }
  if (Array.isArray(item)) {
    if (!item.length) return h("span", { class: "muted" }, "None");
    if (item.every(isFlat)) return recordsTable(item, key);
    return h("ul", { class: "report-list" }, item.map((entry) => h("li", {}, value(entry, key))));
  }
  // Counts first, then lists and groups; the server stores the keys sorted by name.
  const fields = Object.entries(item).sort(([, a], [, b]) => isCompound(a) - isCompound(b));
  if (!fields.length) return h("span", { class: "muted" }, "None");
  return h("dl", { class: "report-fields" }, fields.map(([name, entry]) => [
    h("dt", { dataset: { field: name } }, humanize(name)),
    h("dd", { dataset: { field: name } }, value(entry, name)),
  ]));
}

function isCompound(item) {
  return item !== null && typeof item === "object" ? 1 : 0;
}

// Where first (row, file, item, model, field), then anything else, then what went wrong.
const LEADING = ["row", "file_name", "media_id", "model", "field"];
const TRAILING = ["detail", "error", "message"];

function columnRank(name) {
  if (LEADING.includes(name)) return LEADING.indexOf(name) - LEADING.length;
  return TRAILING.includes(name) ? 1 + TRAILING.indexOf(name) : 0;
}

function recordsTable(records, key) {
  const columns = [...new Set(records.flatMap((record) => Object.keys(record)))]
    .sort((a, b) => columnRank(a) - columnRank(b));
  return h("table", { class: "grid-table report-table", dataset: { field: key } },
    h("thead", {}, h("tr", {}, columns.map((name) => h("th", { scope: "col" }, humanize(name))))),
    h("tbody", {}, records.map((record) => h("tr", {},
      columns.map((name) => h("td", {}, value(record[name] ?? null, name)))))));
}
