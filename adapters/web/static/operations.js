// The Operations panel of a dataset's page: Enrich…, Re-index…, Propagate labels…, Import
// metadata… and Export…, each disabled with the reason when it cannot run now (the caller
// is a viewer; the dataset's status forbids data-modifying operations; a task this page
// started still runs; no clusters to propagate within), the latest operations' outcomes
// with their reports, and the exports with their download links.

import { writeBlockReason } from "./access.js";
import { h } from "./dom.js";
import { openEnrichDialog } from "./enrich-dialog.js";
import { exportList, openExportDialog } from "./export-panel.js";
import { openImportDialog } from "./metadata-import-dialog.js";
import { OPERATIONS, follow, onOutcome, outcomesFor } from "./operation-runs.js";
import { openPropagateDialog } from "./propagate-dialog.js";
import { openReindexDialog } from "./reindex-dialog.js";
import * as tracker from "./tasks-tracker.js";

// Statuses in which the API starts a data-modifying operation (domain/status.py, MODIFY).
const MODIFIABLE = new Set(["READY", "PARTIAL INDEX", "ERROR"]);

export function statusBlockReason(status) {
  if (MODIFIABLE.has(status)) return null;
  if (status === "DRAFT") return "The dataset has no media yet; add media first.";
  if (status === "INDEXING") return "The dataset is being indexed; wait until it is READY.";
  if (status === "READ ONLY") {
    return "A task is changing the dataset (READ ONLY); wait until it finishes.";
  }
  return `The dataset is ${status}; operations need it READY, PARTIAL INDEX or ERROR.`;
}

function quoted(text) {
  return `“${text}”`;
}

// `view`: { datasetId, dataset (getter), access, clusterCount (getter: null until known),
//           filters(): the media grid's filters, onStarted(): a task was accepted }
export function operationsPanel(view, signal) {
  const { datasetId } = view;
  const buttons = {};
  const make = (id, label, run) => {
    buttons[id] = h("button", { type: "button", id: `op-${id}`,
      onclick: (event) => run(event.currentTarget) }, label);
    return buttons[id];
  };
  const name = () => view.dataset.display_name;
  const started = (kind, title) => (body) => {
    follow({ taskId: body.task_id, kind, datasetId, title });
    view.onStarted();
    update();
  };
  const toolbar = h("div", { class: "op-toolbar", role: "group",
    "aria-label": "Dataset operations" },
  make("enrich", "Enrich…", (opener) => openEnrichDialog({
    datasetId, datasetName: name(), opener,
    started: started("enrich", `Enriching ${quoted(name())}`) })),
  make("reindex", "Re-index…", (opener) => openReindexDialog({
    datasetId, datasetName: name(), opener,
    started: started("reindex", `Re-indexing ${quoted(name())}`) })),
  make("propagate", "Propagate labels…", (opener) => {
    const filters = view.filters();
    openPropagateDialog({ datasetId, datasetName: name(), opener, filters,
      filtered: Object.values(filters).some(Boolean),
      started: started("propagate", `Propagating labels in ${quoted(name())}`) });
  }),
  make("import", "Import metadata…", (opener) => openImportDialog({
    datasetId, datasetName: name(), opener,
    started: started("metadata", `Importing metadata into ${quoted(name())}`) })),
  make("export", "Export…", (opener) => openExportDialog({
    datasetId, datasetName: name(), opener })));
  const reason = h("p", { class: "muted op-reason", id: "operations-reason" });
  const results = h("div", { class: "op-results", id: "operation-results",
    "aria-live": "polite" });
  const section = h("section", { class: "panel", id: "operations",
    "aria-labelledby": "operations-title" },
  h("h2", { id: "operations-title" }, "Operations"), toolbar, reason, results,
  exportList(datasetId, signal));

  function runningHere() {
    return tracker.runningFor(datasetId).some((item) => item.datasetId === datasetId
      && item.kind !== "clone");
  }

  function update() {
    const common = writeBlockReason(view.access) || statusBlockReason(view.dataset.status)
      || (runningHere() ? "A task started on this dataset is still running; wait until it "
        + "finishes." : null);
    let propagate = common;
    if (!propagate && view.clusterCount === null) propagate = "Reading the clusters…";
    if (!propagate && view.clusterCount === 0) {
      propagate = "The dataset has no clusters yet: re-index it first.";
    }
    for (const id of ["enrich", "reindex", "import"]) setBlocked(buttons[id], common);
    setBlocked(buttons.propagate, propagate);
    setBlocked(buttons.export, null); // a read: every role, every status
    reason.textContent = common ? `Enrich, Re-index, Propagate labels and Import metadata are `
      + `unavailable: ${common}` : propagate ? `Propagate labels is unavailable: ${propagate}` : "";
  }

  function drawResults() {
    results.replaceChildren(...outcomesFor(datasetId).map(outcomeCard));
  }
  const stopOutcomes = onOutcome((outcome) => {
    if (outcome.datasetId === datasetId) drawResults();
  });
  const stopTracker = tracker.subscribe((item) => {
    if (!item || item.datasetId === datasetId) update();
  });
  signal.addEventListener("abort", () => { stopOutcomes(); stopTracker(); });
  drawResults();
  update();
  return { section, update };
}

function setBlocked(button, why) {
  button.disabled = Boolean(why);
  if (why) {
    button.title = why;
    button.setAttribute("aria-describedby", "operations-reason");
  } else {
    button.removeAttribute("title");
    button.removeAttribute("aria-describedby");
  }
}

function outcomeCard(outcome) {
  const { name } = OPERATIONS[outcome.kind];
  const ok = outcome.status === "COMPLETED";
  const heading = ok ? `${name} completed` : `${name} ${outcome.status === "UNKNOWN"
    ? "could not be followed" : outcome.status.toLowerCase()}`;
  const tone = !ok ? "bad" : outcome.errors.length ? "warn" : "ok";
  return h("article", { class: `op-result tone-${tone}`,
    dataset: { taskId: outcome.taskId, kind: outcome.kind, status: outcome.status },
    "aria-label": heading },
  h("h3", {}, heading),
  h("p", { class: "op-summary", role: ok ? "status" : "alert" },
    outcome.loading ? "Reading the report…" : ok ? outcome.summary : outcome.message),
  outcome.errors.length ? h("ul", { class: "op-errors", "aria-label": "First errors" },
    outcome.errors.map((line) => h("li", {}, line))) : null);
}
