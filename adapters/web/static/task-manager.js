// The Task Manager: every task of the datasets the user has a role on, filtered by dataset
// name, task type, status, creator (the options come from GET /tasks/filters) and start time
// (entered in local time, sent as ISO 8601 UTC), sorted by any sortable column, in pages,
// with each task's Abort, Retry and Report buttons (task-actions.js). It refreshes itself
// while a listed task is still running, keeping the focus on the button that had it.

import { get, isAbort } from "./api.js";
import { h, humanize, pager, statusBadge, timeElement } from "./dom.js";
import * as endpoints from "./endpoints.js";
import { notifyError } from "./notices.js";
import { FINAL, refresher } from "./poll.js";
import { accessCache, taskButtons } from "./task-actions.js";

const STATUSES = ["INITIALIZING", "RUNNING", "COMPLETED", "FAILED", "ABORTED"];
const SORTS = [
  ["start_time", "Started"], ["status", "Status"], ["task_type", "Task type"],
  ["dataset_name", "Dataset"], ["created_by", "Created by"],
];
const PAGE_SIZES = [5, 10, 20, 50];
const REFRESH_MS = 1500;

// Survives leaving the page and coming back, until sign-out.
const FILTERS = ["dataset_name", "task_type", "task_status", "created_by", "start_time_from",
  "start_time_to"];
const DEFAULTS = {
  dataset_name: "", task_type: "", task_status: "", created_by: "",
  start_time_from: "", start_time_to: "", // as typed: local date and time
  sort_by: "start_time", sort_order: "desc", page: 1, page_size: 20,
};
const state = { ...DEFAULTS };

export function resetTaskFilters() {
  Object.assign(state, DEFAULTS);
}

// A datetime-local value (the reader's local time) as ISO 8601 UTC; "" when empty or invalid.
function utc(local) {
  if (!local) return "";
  const moment = new Date(local);
  return Number.isNaN(moment.getTime()) ? "" : moment.toISOString();
}

function query() {
  return { ...state, start_time_from: utc(state.start_time_from),
    start_time_to: utc(state.start_time_to) };
}

export function taskManagerView(root, { signal }) {
  document.title = "Task Manager · snapset";
  const controls = {};
  const select = (name, label, options) => {
    const id = `filter-${name}`;
    const element = h("select", { id, name },
      options.map(([value, text]) => h("option", { value }, text)));
    element.value = String(state[name]);
    element.addEventListener("change", () => {
      state[name] = name === "page_size" ? Number(element.value) : element.value;
      state.page = 1;
      load();
    });
    controls[name] = element;
    return h("div", { class: "field" }, h("label", { for: id }, label), element);
  };
  const when = (name, label) => {
    const id = `filter-${name}`;
    const element = h("input", { id, name, type: "datetime-local", step: "1",
      value: state[name] });
    element.addEventListener("change", () => {
      state[name] = element.value;
      state.page = 1;
      load();
    });
    controls[name] = element;
    return h("div", { class: "field" }, h("label", { for: id }, label), element);
  };
  const any = (label) => [["", label]];
  const filters = h("form", { class: "filters", "aria-label": "Task filters" },
    select("dataset_name", "Dataset", any("All datasets")),
    select("task_type", "Task type", any("All types")),
    select("task_status", "Status", [...any("All statuses"), ...STATUSES.map((s) => [s, humanize(s)])]),
    select("created_by", "Created by", any("Anyone")),
    when("start_time_from", "Started from"),
    when("start_time_to", "Started until"),
    select("sort_by", "Sort by", SORTS),
    select("sort_order", "Order", [["desc", "Descending"], ["asc", "Ascending"]]),
    select("page_size", "Per page", PAGE_SIZES.map((n) => [String(n), String(n)])),
    h("div", { class: "field field-action" },
      h("button", { type: "button", class: "quiet", id: "clear-task-filters", onclick: clearFilters },
        "Clear filters")));
  filters.addEventListener("submit", (event) => event.preventDefault());
  const summary = h("p", { class: "muted", id: "task-count", "aria-live": "polite" });
  const holder = h("div", { class: "table-holder", "aria-busy": "true" });
  const pagerHolder = h("div");
  root.append(h("div", { class: "page-head" }, h("h1", {}, "Task Manager")),
    h("section", { class: "panel" }, filters, summary, holder, pagerHolder));

  function clearFilters() {
    for (const name of FILTERS) {
      state[name] = "";
      controls[name].value = "";
    }
    state.page = 1;
    load();
  }

  async function loadOptions() {
    try {
      const options = await get(endpoints.taskFilters(), signal);
      fill("dataset_name", "All datasets", options.dataset_names.map((n) => [n, n]));
      fill("task_type", "All types", options.task_types.map((t) => [t, humanize(t)]));
      fill("created_by", "Anyone", options.created_by.map((e) => [e, e]));
    } catch (error) {
      if (!isAbort(error)) notifyError(error, "Could not read the task filters");
    }
  }

  function fill(name, anyLabel, options) {
    const element = controls[name];
    const values = new Set(options.map(([value]) => value));
    if (state[name] && !values.has(state[name])) options.push([state[name], state[name]]);
    element.replaceChildren(...[["", anyLabel], ...options].map(([value, text]) => h("option", { value }, text)));
    element.value = state[name];
  }

  let generation = 0;
  const access = accessCache(signal);
  // Shows the tasks the filters pick; true while a listed task still runs.
  async function show() {
    const mine = ++generation;
    holder.setAttribute("aria-busy", "true");
    const { page, page_size: pageSize } = state;
    try {
      const body = await get(endpoints.taskList(query()), signal);
      await access.load(body.tasks);
      if (mine !== generation) return false; // a newer query was sent meanwhile
      const focus = focusedControl(holder);
      holder.replaceChildren(table(body.tasks, { sortBy, access, reload: load }));
      refocus(holder, focus);
      holder.removeAttribute("aria-busy");
      summary.textContent = body.total === 1 ? "1 task" : `${body.total.toLocaleString()} tasks`;
      pagerHolder.replaceChildren(body.total > pageSize ? pager({
        page, pageSize, total: body.total, label: "Task pages",
        onPage: (next) => { state.page = next; load(); },
      }) : "");
      return body.tasks.some((task) => !FINAL.has(task.status));
    } catch (error) {
      if (!isAbort(error)) notifyError(error, "Could not list the tasks");
      return false;
    }
  }
  const { now: load } = refresher(show, REFRESH_MS, signal);

  function sortBy(field) {
    if (state.sort_by === field) state.sort_order = state.sort_order === "asc" ? "desc" : "asc";
    else Object.assign(state, { sort_by: field, sort_order: field === "start_time" ? "desc" : "asc" });
    controls.sort_by.value = state.sort_by;
    controls.sort_order.value = state.sort_order;
    state.page = 1;
    load();
  }

  loadOptions();
  load();
}

// Which button of the table has the focus, so a redraw can give it back.
function focusedControl(holder) {
  const active = document.activeElement;
  if (!active || !holder.contains(active) || active.tagName !== "BUTTON") return null;
  const row = active.closest("tr[data-task-id]");
  return { taskId: row ? row.dataset.taskId : null, action: active.dataset.action || null,
    sort: active.dataset.sort || null };
}

function refocus(holder, focus) {
  if (!focus) return;
  const selector = focus.sort ? `button[data-sort="${focus.sort}"]`
    : `tr[data-task-id="${focus.taskId}"] button[data-action="${focus.action}"]`;
  const target = holder.querySelector(selector);
  if (target && !target.disabled) target.focus();
}

function table(tasks, { sortBy, access, reload }) {
  if (!tasks.length) return h("p", { class: "empty" }, "No task matches these filters.");
  const head = (label, field, extra = {}) => {
    if (!field) return h("th", { scope: "col", ...extra }, label);
    const active = state.sort_by === field;
    const order = state.sort_order === "asc" ? "ascending" : "descending";
    return h("th", { scope: "col", "aria-sort": active ? order : null, ...extra },
      h("button", { type: "button", class: "sort", dataset: { sort: field },
        onclick: () => sortBy(field) }, label,
      h("span", { class: "sort-mark", "aria-hidden": "true" },
        active ? (state.sort_order === "asc" ? " ▲" : " ▼") : "")));
  };
  const rows = document.createDocumentFragment();
  for (const task of tasks) {
    const percent = task.progress_percentage;
    rows.append(h("tr", { dataset: { taskId: task.task_id } },
      h("td", {}, humanize(task.task_type)),
      h("td", {}, h("a", { href: `#/datasets/${task.dataset_id}` }, task.dataset_name)),
      h("td", {}, statusBadge(task.status)),
      h("td", { class: "progress-cell" },
        h("progress", { max: "100", value: percent ?? (FINAL.has(task.status) ? 100 : null),
          "aria-label": `Progress of ${humanize(task.task_type).toLowerCase()} on ${task.dataset_name}` }),
        h("span", { class: "muted" }, percent === null ? "" : ` ${percent}%`)),
      h("td", { class: "message" }, task.error_message
        ? h("span", { class: "tone-bad" }, task.error_message) : task.status_message),
      h("td", {}, task.created_by),
      h("td", {}, timeElement(task.start_time)),
      h("td", {}, task.end_time ? timeElement(task.end_time) : h("span", { class: "muted" }, "running")),
      h("td", { class: "task-actions" },
        taskButtons(task, { access: access.get(task.dataset_id), reload }))));
  }
  return h("table", { class: "grid-table", id: "task-table" },
    h("caption", { class: "visually-hidden" }, "Tasks"),
    h("thead", {}, h("tr", {},
      head("Task type", "task_type"), head("Dataset", "dataset_name"), head("Status", "status"),
      head("Progress"), head("Message"), head("Created by", "created_by"),
      head("Started", "start_time"), head("Ended"),
      head(h("span", { class: "visually-hidden" }, "Actions")))),
    h("tbody", {}, rows));
}
