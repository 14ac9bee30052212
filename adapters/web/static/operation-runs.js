// Follows the data-modifying operations this page started (enrichment, re-index, label
// propagation, metadata import): their progress shows in the Running tasks panel through
// tasks-tracker.js, and when one ends its report (GET /tasks/{id}/report) is read and kept
// as the dataset's latest outcomes, which the dataset page lists and a notice announces.
// Its card stays in the panel with its outcome until the user dismisses it, like a
// restore's or a clone's.

import { get } from "./api.js";
import * as endpoints from "./endpoints.js";
import { notify } from "./notices.js";
import { reportErrors, reportSummary } from "./operation-report.js";
import * as tracker from "./tasks-tracker.js";

export const OPERATIONS = {
  enrich: { taskType: "ENRICHMENT", name: "Enrichment" },
  reindex: { taskType: "REINDEX", name: "Re-index" },
  propagate: { taskType: "LABEL_PROPAGATION", name: "Label propagation" },
  metadata: { taskType: "CUSTOM_METADATA", name: "Metadata import" },
};
const KEPT_OUTCOMES = 5;

const outcomes = new Map(); // dataset_id -> [outcome], newest first
const listeners = new Set();
let following = false;

// Start following a task the API just accepted (a 202 body's task_id).
export function follow({ taskId, kind, datasetId, title }) {
  if (!following) {
    following = true;
    tracker.subscribe(settle);
  }
  return tracker.track({ taskId, kind, datasetId, title });
}

export function outcomesFor(datasetId) {
  return outcomes.get(datasetId) || [];
}

export function onOutcome(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function settle(item) {
  if (!item || !item.done || item.settled || !(item.kind in OPERATIONS)) return;
  item.settled = true;
  const completed = !item.error && item.task && item.task.status === "COMPLETED";
  const outcome = {
    taskId: item.taskId, datasetId: item.datasetId, kind: item.kind, title: item.title,
    status: item.error ? "UNKNOWN" : item.task.status,
    message: item.error ? (item.error.detail || item.error.message)
      : item.task.error_message || item.task.status_message || "",
    summary: "", errors: [], loading: completed,
  };
  const list = [outcome, ...outcomesFor(item.datasetId)].slice(0, KEPT_OUTCOMES);
  outcomes.set(item.datasetId, list);
  emit(outcome);
  if (completed) readReport(outcome);
}

async function readReport(outcome) {
  const { taskType, name } = OPERATIONS[outcome.kind];
  try {
    const body = await get(endpoints.taskReport(outcome.taskId));
    outcome.summary = reportSummary(taskType, body.report) || outcome.message;
    outcome.errors = reportErrors(body.report);
  } catch (error) {
    outcome.summary = outcome.message;
    outcome.errors = [`The report could not be read: ${error.detail || error.message}`];
  }
  outcome.loading = false;
  emit(outcome);
  notify(`${name} completed: ${outcome.summary}`, { tone: "ok" });
}

function emit(outcome) {
  for (const listener of listeners) listener(outcome);
}
