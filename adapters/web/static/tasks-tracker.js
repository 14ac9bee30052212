// Follows the tasks this page started (restores, clones and operations): polls
// GET /tasks/{id} about every 500 ms, and the dataset the task works on, until the task is
// final. Views subscribe to redraw their progress bars, status badges and catalogs.

import { ApiError, get, isAbort } from "./api.js";
import * as endpoints from "./endpoints.js";
import { FINAL, pollUntil } from "./poll.js";

const POLL_MS = 500;
const NOT_YET_VISIBLE_TRIES = 20; // a just-started task may take a moment to reach the view

const tracked = new Map(); // task_id -> entry
const listeners = new Set();
let controller = new AbortController();

// entry: { taskId, kind: "restore"|"clone", datasetId (where the task runs),
//          sourceDatasetId, snapshotId, title, task, dataset, done, error }
export function track(entry) {
  const item = { task: null, dataset: null, done: false, error: null, misses: 0, ...entry };
  tracked.set(item.taskId, item);
  emit(item);
  poll(item, controller.signal);
  return item;
}

function poll(item, signal) {
  return pollUntil(() => read(item, signal), POLL_MS, signal);
}

// One look at the task and its dataset; true when there is no more to follow.
async function read(item, signal) {
  try {
    const [task, dataset] = await Promise.all([
      get(endpoints.task(item.taskId), signal),
      get(endpoints.dataset(item.datasetId), signal),
    ]);
    item.task = task;
    item.dataset = dataset;
    item.done = FINAL.has(task.status);
  } catch (error) {
    if (isAbort(error) || signal.aborted) return true;
    if (error instanceof ApiError && error.status === 404 && ++item.misses < NOT_YET_VISIBLE_TRIES) {
      // not in the task view yet: try again
    } else {
      item.error = error;
      item.done = true;
    }
  }
  emit(item);
  return item.done;
}

function emit(item) {
  for (const listener of listeners) listener(item);
}

export function subscribe(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function entries() {
  return [...tracked.values()];
}

export function dismiss(taskId) {
  tracked.delete(taskId);
  for (const listener of listeners) listener(null);
}

// Running tasks that touch a dataset: those on it, and clones taken from it.
export function runningFor(datasetId) {
  return entries().filter((item) => !item.done
    && (item.datasetId === datasetId || item.sourceDatasetId === datasetId));
}

export function stopAll() {
  controller.abort();
  controller = new AbortController();
  tracked.clear();
  for (const listener of listeners) listener(null);
}
