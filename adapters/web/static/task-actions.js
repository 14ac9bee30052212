// The Task Manager's buttons on one task: Abort (a task not finished yet; asks first), Retry
// (a failed or aborted dataset creation) and Report (what a completed task did, for the task
// types that leave a report). Abort and Retry change the dataset, so they need its editor or
// owner role: for a viewer they are disabled with the reason (GET /dataset/{id}/access, read
// once per dataset while the page is open). The server's refusals (409 once a task ended,
// 400 for a task that cannot be retried) show its detail.

import { loadAccess, writeBlockReason } from "./access.js";
import { api, isAbort } from "./api.js";
import { confirmDialog } from "./dialogs.js";
import { h, humanize } from "./dom.js";
import * as endpoints from "./endpoints.js";
import { notify, notifyError } from "./notices.js";
import { openReport } from "./task-report-dialog.js";

const ABORTABLE = new Set(["INITIALIZING", "RUNNING"]);
const RETRYABLE = new Set(["FAILED", "ABORTED"]);
const CREATION = "DATASET_CREATION";
// Task types whose completed tasks leave a report (counts, per-item errors, a download).
const REPORTING = new Set(["ENRICHMENT", "CUSTOM_METADATA", "LABEL_PROPAGATION", "REINDEX",
  "EXPORT"]);

const canAbort = (task) => ABORTABLE.has(task.status);
const canRetry = (task) => RETRYABLE.has(task.status) && task.task_type === CREATION;
const hasReport = (task) => task.status === "COMPLETED" && REPORTING.has(task.task_type);

// The caller's access to each dataset whose tasks it may abort or retry, read when needed.
export function accessCache(signal) {
  const known = new Map(); // dataset_id -> access, or null when it could not be read
  return {
    async load(tasks) {
      const wanted = new Set(tasks.filter((t) => canAbort(t) || canRetry(t)).map((t) => t.dataset_id));
      await Promise.all([...wanted].filter((id) => !known.has(id)).map(async (id) => {
        try {
          known.set(id, await loadAccess(id, signal));
        } catch (error) {
          if (isAbort(error)) throw error;
          known.set(id, null); // unknown: the server decides, and says why if it refuses
        }
      }));
    },
    get: (datasetId) => known.get(datasetId) ?? null,
  };
}

// The buttons for one task's row; `reload` redraws the table after a change.
export function taskButtons(task, { access, reload }) {
  const blocked = writeBlockReason(access);
  const opener = (action) => () => document.querySelector(
    `#task-table tr[data-task-id="${task.task_id}"] button[data-action="${action}"]`);
  const buttons = [];
  if (canAbort(task)) {
    buttons.push(button(task, "abort", "Abort", blocked, () => abort(task, opener("abort"), reload)));
  }
  if (canRetry(task)) {
    buttons.push(button(task, "retry", "Retry", blocked, () => retry(task, reload)));
  }
  if (hasReport(task)) {
    buttons.push(button(task, "report", "Report", null, () => openReport(task, opener("report"))));
  }
  return buttons;
}

function button(task, action, label, reason, run) {
  const reasonId = reason ? `task-${task.task_id}-${action}-reason` : null;
  return h("span", { class: "task-action" },
    h("button", { type: "button", class: "quiet task-button", dataset: { action },
      disabled: Boolean(reason), title: reason, "aria-describedby": reasonId,
      "aria-label": `${label} the ${humanize(task.task_type).toLowerCase()} task on ${task.dataset_name}`,
      onclick: run }, label),
    reason ? h("span", { class: "muted disabled-reason", id: reasonId }, reason) : null);
}

async function abort(task, opener, reload) {
  const kind = humanize(task.task_type).toLowerCase();
  const name = `“${task.dataset_name}”`;
  const leaves = task.task_type === CREATION || task.task_type === "SNAPSHOT_CLONE"
    ? `${name} is left in the ERROR state${task.task_type === CREATION
      ? "; its creation can be retried later" : ""}.`
    : `${name} keeps the content it had before the task started.`;
  const confirmed = await confirmDialog({
    title: `Abort the ${kind} task on ${name}?`,
    paragraphs: ["The task stops and what it has done so far is not kept.", leaves],
    confirmLabel: "Abort task",
    tone: "danger",
    opener,
  });
  if (!confirmed) return;
  try {
    await api("POST", endpoints.abortTask(task.task_id));
    notify(`The ${kind} task on ${name} was aborted.`, { tone: "ok" });
  } catch (error) {
    notifyError(error, `Could not abort the ${kind} task on ${name}`);
  }
  reload();
}

async function retry(task, reload) {
  const name = `“${task.dataset_name}”`;
  try {
    await api("POST", endpoints.retryTask(task.task_id));
    notify(`Creating ${name} again.`, { tone: "ok" });
  } catch (error) {
    notifyError(error, `Could not retry the creation of ${name}`);
  }
  reload();
}
