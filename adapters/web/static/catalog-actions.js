// What the Snapshot Catalog's buttons do: create a snapshot, and the five actions of each
// snapshot's menu (Edit, Clone, Copy Snapshot ID, Restore, Remove), each with the reason it
// is disabled when it cannot run now (a viewer may only copy the id). Restore, Clone and
// Remove ask first, saying what will happen (Restore also previews what it would change);
// restores and clones then show their progress in the Running tasks panel.

import { writeBlockReason } from "./access.js";
import { api } from "./api.js";
import { confirmDialog, formDialog } from "./dialogs.js";
import { plural } from "./dom.js";
import * as endpoints from "./endpoints.js";
import { notify, notifyError } from "./notices.js";
import { restorePreview } from "./restore-preview.js";
import * as tracker from "./tasks-tracker.js";

// Statuses from which the API accepts a restore or a clone.
const RESTORABLE = new Set(["READY", "PARTIAL INDEX", "ERROR"]);

function quoted(text) {
  return `“${text}”`;
}

export function openCreateDialog(view, opener) {
  formDialog({
    title: "Create a snapshot",
    intro: `Saves ${quoted(view.dataset.display_name)} as it is now: its media, metadata, `
      + "enrichment results, clusters, tags and labels. It becomes the current version.",
    fields: [
      { name: "name", label: "Name", required: true, maxLength: 200 },
      { name: "description", label: "Description", multiline: true, maxLength: 2000 },
    ],
    submitLabel: "Create snapshot",
    opener,
    submit: async ({ name, description }) => {
      const created = await api("POST", endpoints.snapshotList(view.datasetId),
        { json: { name, description } });
      view.setSnapshots([created, ...view.snapshots.map((s) => ({ ...s, is_current: false }))]);
      notify(`Snapshot ${quoted(created.snapshot_name)} created.`, { tone: "ok" });
    },
  });
}

// Why the dataset cannot start a restore or clone now, or null.
function datasetBusy(view, { forRestore }) {
  const { status } = view.dataset;
  if (!RESTORABLE.has(status)) {
    return `The dataset is ${status} while a task runs; wait until it finishes.`;
  }
  const running = tracker.runningFor(view.datasetId);
  if (running.some((item) => item.kind === "restore")) return "A restore of this dataset is running.";
  if (forRestore && running.some((item) => item.kind === "clone")) {
    return "A clone from this dataset is running; wait until it finishes.";
  }
  return null;
}

// Why this snapshot's own restore or clone blocks Restore, Clone and Remove, or null.
function snapshotBusy(view, snapshot) {
  if (snapshot.is_restoring) return "This snapshot is being restored.";
  const cloning = tracker.runningFor(view.datasetId)
    .some((item) => item.kind === "clone" && item.snapshotId === snapshot.snapshot_id);
  return cloning ? "A clone of this snapshot is running." : null;
}

export function actionsFor(view, snapshot) {
  const viewer = writeBlockReason(view.access); // the one reason that lasts: checked first
  const own = snapshotBusy(view, snapshot);
  // The row may be redrawn while a dialog is open: find its menu button when needed.
  const opener = () => document.querySelector(
    `tr[data-snapshot-id="${snapshot.snapshot_id}"] .menu-button`);
  return [
    { id: "edit", label: "Edit", disabled: viewer, run: () => edit(view, snapshot, opener) },
    { id: "clone", label: "Clone",
      disabled: viewer || own || datasetBusy(view, { forRestore: false }),
      run: () => clone(view, snapshot, opener) },
    { id: "copy", label: "Copy Snapshot ID", disabled: null, run: () => copyId(snapshot) },
    { id: "restore", label: "Restore",
      disabled: viewer || (snapshot.is_current ? "This snapshot is already the current version."
        : own || datasetBusy(view, { forRestore: true })),
      run: () => restore(view, snapshot, opener) },
    { id: "remove", label: "Remove",
      disabled: viewer || (snapshot.is_current ? "The current version cannot be removed." : own),
      run: () => remove(view, snapshot, opener) },
  ];
}

function edit(view, snapshot, opener) {
  formDialog({
    title: "Edit snapshot",
    fields: [
      { name: "name", label: "Name", required: true, maxLength: 200, value: snapshot.snapshot_name },
      { name: "description", label: "Description", multiline: true, maxLength: 2000,
        value: snapshot.description },
    ],
    submitLabel: "Save",
    opener,
    submit: async ({ name, description }) => {
      const updated = await api("PATCH", endpoints.snapshot(view.datasetId, snapshot.snapshot_id),
        { json: { name, description } });
      view.setSnapshots(view.snapshots.map((s) => (s.snapshot_id === updated.snapshot_id ? updated : s)));
      notify(`Snapshot ${quoted(updated.snapshot_name)} saved.`, { tone: "ok" });
    },
  });
}

async function copyId(snapshot) {
  try {
    await navigator.clipboard.writeText(snapshot.snapshot_id);
    notify(`Snapshot ID ${snapshot.snapshot_id} copied to the clipboard.`, { tone: "ok" });
  } catch (error) {
    notify(`Could not copy to the clipboard (${error.message}). The snapshot ID is `
      + `${snapshot.snapshot_id}.`, { tone: "bad" });
  }
}

async function restore(view, snapshot, opener) {
  const name = view.dataset.display_name;
  const preview = restorePreview({ datasetId: view.datasetId, snapshot, datasetName: name });
  const confirmed = await confirmDialog({
    title: `Restore ${quoted(snapshot.snapshot_name)}?`,
    paragraphs: [
      `All current data of ${quoted(name)} will be replaced with this snapshot's state: its `
        + `${plural(snapshot.n_images + snapshot.n_videos, "item")} and their metadata, `
        + "enrichment results, clusters, tags and labels.",
      preview.element,
      "An automatic checkpoint of the current state is taken first, so you can undo this "
        + "by restoring that checkpoint.",
      "The dataset is READ ONLY until the restore finishes. Later snapshots are kept.",
    ],
    confirmLabel: "Restore",
    opener,
  });
  preview.stop();
  if (!confirmed) return;
  try {
    const started = await api("POST",
      endpoints.restoreSnapshot(view.datasetId, snapshot.snapshot_id));
    tracker.track({
      taskId: started.task_id, kind: "restore", datasetId: view.datasetId,
      snapshotId: snapshot.snapshot_id,
      title: `Restoring ${quoted(snapshot.snapshot_name)} in ${quoted(name)}`,
    });
    await view.refresh();
  } catch (error) {
    notifyError(error, `Could not restore ${quoted(snapshot.snapshot_name)}`);
  }
}

async function clone(view, snapshot, opener) {
  const name = view.dataset.display_name;
  let preview;  // what the API says the clone would create (its name is the API's to give)
  try {
    preview = await api("POST",
      endpoints.cloneSnapshot(view.datasetId, snapshot.snapshot_id, { dryRun: true }));
  } catch (error) {
    notifyError(error, `Could not clone ${quoted(snapshot.snapshot_name)}`);
    return;
  }
  const confirmed = await confirmDialog({
    title: `Clone ${quoted(snapshot.snapshot_name)}?`,
    paragraphs: [
      `A new dataset ${quoted(preview.dataset_name)} will be created with this snapshot's `
        + `${plural(preview.n_images + preview.n_videos, "item")}, owned by you and fully `
        + "independent of this one.",
      `${quoted(name)} itself is not changed.`,
    ],
    confirmLabel: "Clone",
    opener,
  });
  if (!confirmed) return;
  try {
    const started = await api("POST",
      endpoints.cloneSnapshot(view.datasetId, snapshot.snapshot_id));
    tracker.track({
      taskId: started.task_id, kind: "clone", datasetId: started.dataset_id,
      sourceDatasetId: view.datasetId, snapshotId: snapshot.snapshot_id,
      title: `Cloning ${quoted(snapshot.snapshot_name)} into ${quoted(preview.dataset_name)}`,
    });
  } catch (error) {
    notifyError(error, `Could not clone ${quoted(snapshot.snapshot_name)}`);
  }
}

async function remove(view, snapshot, opener) {
  const confirmed = await confirmDialog({
    title: `Remove ${quoted(snapshot.snapshot_name)}?`,
    paragraphs: [
      "The snapshot will be hidden from the catalog and can no longer be restored or cloned.",
      `The data of ${quoted(view.dataset.display_name)}, its other snapshots and any clones `
        + "already made from this snapshot are not touched.",
    ],
    confirmLabel: "Remove",
    tone: "danger",
    opener,
  });
  if (!confirmed) return;
  try {
    await api("DELETE", endpoints.snapshot(view.datasetId, snapshot.snapshot_id));
    view.setSnapshots(view.snapshots.filter((s) => s.snapshot_id !== snapshot.snapshot_id));
    notify(`Snapshot ${quoted(snapshot.snapshot_name)} removed.`, { tone: "ok" });
  } catch (error) {
    notifyError(error, `Could not remove ${quoted(snapshot.snapshot_name)}`);
  }
}
