// The "Running tasks" panel under the top bar: one card per task this page started, with
// its progress, its status message and the status of the dataset it works on, until it is
// final; then the outcome, named for the task's type (and for a clone, a link to the new
// dataset), until the user dismisses it.

import { h, humanize, statusBadge } from "./dom.js";
import * as tracker from "./tasks-tracker.js";

const cards = new Map(); // task_id -> { card, parts }

// What the outcome calls each task type of the Task Manager API (domain/tasks.py).
const TASK_NAMES = {
  DATASET_CREATION: "Dataset creation",
  MEDIA_ADDITION: "Media addition",
  REINDEX: "Re-index",
  ENRICHMENT: "Enrichment",
  CUSTOM_METADATA: "Metadata import",
  LABEL_PROPAGATION: "Label propagation",
  SNAPSHOT_RESTORE: "Restore",
  SNAPSHOT_CLONE: "Clone",
  EXPORT: "Export",
};

export function startActivityPanel() {
  tracker.subscribe(render);
}

function render() {
  const region = document.getElementById("activity");
  const live = new Set(tracker.entries().map((item) => item.taskId));
  for (const [taskId, { card }] of cards) {
    if (!live.has(taskId)) {
      card.remove();
      cards.delete(taskId);
    }
  }
  for (const item of tracker.entries()) {
    if (!cards.has(item.taskId)) {
      const built = build(item);
      cards.set(item.taskId, built);
      region.prepend(built.card);
    }
    update(item, cards.get(item.taskId).parts);
  }
  region.hidden = cards.size === 0;
}

function build(item) {
  const parts = {
    progress: h("progress", { max: "100", "aria-label": `Progress of ${item.title}` }),
    figures: h("span", { class: "task-figures" }),
    status: h("span", { class: "task-dataset-status" }),
    outcome: h("div", { class: "task-outcome" }),
    dismiss: h("button", { type: "button", class: "quiet", hidden: true,
      onclick: () => tracker.dismiss(item.taskId) }, "Dismiss"),
  };
  const card = h("article", { class: "task-card", dataset: { taskId: item.taskId, kind: item.kind },
    "aria-label": item.title },
  h("div", { class: "task-card-head" }, h("strong", {}, item.title), parts.dismiss),
  parts.progress,
  h("div", { class: "task-card-line" }, parts.figures, parts.status),
  parts.outcome);
  return { card, parts };
}

function update(item, parts) {
  const { task, dataset } = item;
  if (task && task.progress_percentage !== null && task.progress_percentage !== undefined) {
    parts.progress.value = task.progress_percentage;
  } else if (item.done) {
    parts.progress.value = 100;
  } else {
    parts.progress.removeAttribute("value"); // indeterminate until the worker reports
  }
  const percent = task && task.progress_percentage !== null ? `${task.progress_percentage}%` : "";
  const words = task ? [percent, humanize(task.status), task.status_message].filter(Boolean)
    : ["Starting…"];
  parts.figures.textContent = words.join(" · ");
  if (dataset) {
    parts.status.replaceChildren(`${dataset.display_name}: `,
      statusBadge(dataset.status, { dataset: { role: "task-dataset-status" } }));
  }
  if (!item.done) return;
  parts.dismiss.hidden = false;
  const tone = item.error || task.status !== "COMPLETED" ? "bad" : "ok";
  parts.outcome.className = `task-outcome tone-${tone}`;
  if (item.error) {
    parts.outcome.replaceChildren(h("p", { role: "alert" }, item.error.detail || item.error.message));
  } else if (task.status === "COMPLETED") {
    parts.outcome.replaceChildren(h("p", { role: "status" }, `${taskName(task)} completed.`,
      item.kind === "clone" && dataset
        ? [" ", h("a", { href: `#/datasets/${dataset.id}` }, `Open “${dataset.display_name}”`)]
        : null));
  } else {
    parts.outcome.replaceChildren(h("p", { role: "alert" },
      `${taskName(task)} ${task.status.toLowerCase()}: `
      + `${task.error_message || task.status_message || "no reason given"}`));
  }
}

function taskName(task) {
  return TASK_NAMES[task.task_type] || humanize(task.task_type);
}
