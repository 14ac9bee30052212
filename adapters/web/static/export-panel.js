// Exports: the Export dialog (which version: the current one or any snapshot; with or
// without the media files) starts GET /dataset/{id}/export_context_async, and the exports
// list follows each one through export_status until it can be downloaded. Exports are reads
// that run beside anything else (a viewer may export), so they are followed here rather than
// in the Running tasks panel, whose tasks block the dataset. The list lives for the page's
// session, so leaving the dataset and coming back still shows the download links; signing
// out (or the session ending) forgets it, since the exports are the signed-in user's.

import { get, isAbort } from "./api.js";
import { field, formDialog, nextId } from "./dialogs.js";
import { h, parseUtc, timeElement } from "./dom.js";
import * as endpoints from "./endpoints.js";
import { notify } from "./notices.js";
import { FINAL, pollUntil } from "./poll.js";

const POLL_MS = 500;
const CURRENT = "current";

const exportsOf = new Map(); // dataset_id -> [run], newest first
const listeners = new Set();
let controller = new AbortController(); // ends the polls of the signed-in user's exports

export function openExportDialog({ datasetId, datasetName, opener }) {
  const version = h("select", { id: nextId("export-version"), name: "version" },
    h("option", { value: CURRENT }, "Current version"));
  const media = h("input", { type: "checkbox", id: nextId("export-media"), name: "media" });
  const { setError } = formDialog({
    title: `Export “${datasetName}”`,
    intro: "Writes a zip archive holding metadata.json (every item's record: metadata, tags, "
      + "labels, enrichment, cluster) and, if you choose, the media files. The dataset stays "
      + "usable meanwhile; a snapshot is exported without restoring it.",
    body: [field("Version", version),
      h("div", { class: "op-check" }, media,
        h("label", { for: media.id }, "Include the media files"),
        h("span", { class: "muted" }, " (larger; under media/ in the archive)"))],
    submitLabel: "Start export",
    opener,
    submit: async () => {
      const snapshotId = version.value === CURRENT ? null : version.value;
      const label = version.selectedOptions[0].dataset.name || "Current version";
      const body = await get(endpoints.startExport(datasetId,
        { snapshotId, includeMedia: media.checked }));
      startFollowing({ taskId: body.id, datasetId, datasetName, label,
        includeMedia: media.checked });
    },
  });
  get(endpoints.snapshotList(datasetId)).then((snapshots) => {
    for (const snapshot of snapshots) {
      version.append(h("option", { value: snapshot.snapshot_id,
        dataset: { name: `Snapshot “${snapshot.snapshot_name}”` } },
      `Snapshot “${snapshot.snapshot_name}” · ${parseUtc(snapshot.created_at).toLocaleString()}`));
    }
  }).catch((error) => {
    setError(`The snapshots could not be listed (${error.detail || error.message}); the `
      + "current version can still be exported.");
  });
  version.focus();
}

function startFollowing({ taskId, datasetId, datasetName, label, includeMedia }) {
  const run = { taskId, datasetId, datasetName, label, includeMedia, status: "INITIALIZING",
    progress: null, downloadUri: null, error: null, startedAt: new Date().toISOString() };
  exportsOf.set(datasetId, [run, ...(exportsOf.get(datasetId) || [])]);
  emit(run);
  poll(run, controller.signal);
}

// Sign-out or the end of the session: drop the exports and stop following them, so the
// next user to sign in on this page neither sees them nor hears that they are ready.
export function forgetExports() {
  controller.abort();
  controller = new AbortController();
  exportsOf.clear();
}

async function poll(run, signal) {
  await pollUntil(() => read(run, signal), POLL_MS, signal);
  if (run.status === "COMPLETED" && !signal.aborted) {
    notify(`The export of “${run.datasetName}” (${run.label}) is ready.`, { tone: "ok",
      action: h("a", { href: run.downloadUri, download: "" }, "Download") });
  }
}

// One look at the export; true when there is no more to follow.
async function read(run, signal) {
  try {
    const body = await get(endpoints.exportStatus(run.datasetId, run.taskId), signal);
    Object.assign(run, { status: body.status, progress: body.progress_percentage,
      downloadUri: body.download_uri, error: body.error_message });
  } catch (error) {
    if (isAbort(error)) return true;
    Object.assign(run, { status: "UNKNOWN", error: error.detail || error.message });
    emit(run);
    return true;
  }
  emit(run);
  return FINAL.has(run.status);
}

function emit(run) {
  for (const listener of listeners) listener(run);
}

// The dataset page's list of its exports; `signal` ends its subscription.
export function exportList(datasetId, signal) {
  const list = h("ul", { class: "op-exports", id: "export-list", "aria-live": "polite" });
  const section = h("div", { class: "op-exports-holder", hidden: true },
    h("h3", {}, "Exports"), list);
  const render = () => {
    const runs = exportsOf.get(datasetId) || [];
    section.hidden = runs.length === 0;
    list.replaceChildren(...runs.map(exportRow));
  };
  const listener = (run) => { if (run.datasetId === datasetId) render(); };
  listeners.add(listener);
  signal.addEventListener("abort", () => listeners.delete(listener));
  render();
  return section;
}

function exportRow(run) {
  const what = `${run.label}, ${run.includeMedia ? "with" : "without"} media files`;
  let state;
  if (run.status === "COMPLETED") {
    state = h("a", { class: "button primary op-download", href: run.downloadUri, download: "",
      "aria-label": `Download the export of ${what}` }, "Download zip");
  } else if (FINAL.has(run.status) || run.status === "UNKNOWN") {
    state = h("span", { class: "tone-bad", role: "alert" },
      `Export ${run.status === "UNKNOWN" ? "could not be followed" : run.status.toLowerCase()}: `
      + `${run.error || "no reason given"}`);
  } else {
    const bar = h("progress", { max: "100", "aria-label": `Progress of the export of ${what}` });
    if (run.progress !== null && run.progress !== undefined) bar.value = run.progress;
    state = h("span", { class: "op-export-progress" }, bar,
      h("span", { class: "muted" }, run.progress !== null && run.progress !== undefined
        ? `${run.progress}%` : "Starting…"));
  }
  return h("li", { class: "op-export", dataset: { taskId: run.taskId, status: run.status } },
    h("span", {}, h("strong", {}, what), " · started ", timeElement(run.startedAt)), state);
}
