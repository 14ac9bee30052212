// The Snapshot Catalog of one dataset: every snapshot newest first, with a search box over
// names and descriptions, a Create a snapshot dialog, and a three-dot menu per snapshot.
// What the user's role does not allow (a viewer's writes) is disabled with the reason.
// While the dataset is busy (a restore, a clone from it, indexing) it refreshes about every
// 500 ms, updating rows in place so an open menu or the search box are left alone.

import { loadAccess, writeBlockReason } from "./access.js";
import { get, isAbort } from "./api.js";
import { actionsFor, openCreateDialog } from "./catalog-actions.js";
import { searchText, snapshotRow } from "./catalog-rows.js";
import { datasetHeader } from "./dataset-header.js";
import { h, plural } from "./dom.js";
import * as endpoints from "./endpoints.js";
import { close as closeMenu } from "./menu.js";
import { notifyError } from "./notices.js";
import { SETTLING, pause } from "./poll.js";
import * as tracker from "./tasks-tracker.js";

const REFRESH_MS = 500;
const RENDER_MEASURE = "snapset:catalog-render";
const LOAD_MEASURE = "snapset:catalog-load";

export async function catalogView(root, { params, signal }) {
  const datasetId = params.id;
  const started = performance.now();
  let dataset;
  let snapshots;
  let access; // null when unknown: then the server decides, and says why if it refuses
  try {
    [dataset, snapshots, access] = await Promise.all([
      get(endpoints.dataset(datasetId), signal),
      get(endpoints.snapshotList(datasetId), signal),
      loadAccess(datasetId, signal).catch((error) => {
        if (isAbort(error)) throw error;
        return null;
      }),
    ]);
  } catch (error) {
    if (!isAbort(error)) {
      root.append(h("p", { class: "empty" }, "This dataset's snapshots cannot be shown."));
      notifyError(error, "Could not open the Snapshot Catalog");
    }
    return;
  }
  const fetched = performance.now();
  document.title = `Snapshots of ${dataset.display_name} · snapset`;

  const rows = new Map(); // snapshot_id -> { row, snapshot, text }
  let edits = 0; // local changes; a refresh sent before one of them is stale
  const view = {
    datasetId,
    get dataset() { return dataset; },
    get snapshots() { return snapshots; },
    get access() { return access; },
    setSnapshots: (list) => { edits += 1; snapshots = list; applySnapshots(); },
    refresh: () => refresh(),
  };

  const header = datasetHeader(dataset, { where: "catalog" });
  const search = h("input", { type: "search", id: "snapshot-search", placeholder: "Name or description",
    autocomplete: "off", "aria-controls": "snapshot-table" });
  const count = h("p", { class: "muted", id: "snapshot-count", "aria-live": "polite" });
  const createButton = h("button", { type: "button", class: "primary", id: "create-snapshot",
    "aria-describedby": "create-snapshot-reason" }, "Create a snapshot");
  const createReason = h("span", { class: "muted disabled-reason", id: "create-snapshot-reason" });
  const body = h("tbody");
  const empty = h("p", { class: "empty", hidden: true });
  const table = h("table", { class: "grid-table catalog", id: "snapshot-table" },
    h("caption", { class: "visually-hidden" }, `Snapshots of ${dataset.display_name}, newest first`),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Status"),
      h("th", { scope: "col" }, "Description"), h("th", { scope: "col" }, "Date and time"),
      h("th", { scope: "col", class: "num" }, "Items"), h("th", { scope: "col" }, "Created by"),
      h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
    body);
  createButton.addEventListener("click", () => openCreateDialog(view, createButton));
  search.addEventListener("input", applyFilter);

  const section = h("section", { class: "panel catalog-panel", "aria-labelledby": "catalog-title" },
    h("h2", { id: "catalog-title" }, "Snapshot Catalog"),
    h("div", { class: "catalog-toolbar" },
      h("div", { class: "field search-field" },
        h("label", { for: search.id }, "Search snapshots"), search),
      h("div", { class: "create-action" }, createButton, createReason)),
    count, h("div", { class: "table-holder" }, table, empty));

  applySnapshots();
  root.append(header.element, section);
  void table.offsetHeight; // lay the table out inside the measured time
  const rendered = performance.now();
  performance.measure(RENDER_MEASURE, { start: fetched, end: rendered });
  performance.measure(LOAD_MEASURE, { start: started, end: rendered });
  Object.assign(table.dataset, {
    renderMs: (rendered - fetched).toFixed(1), loadMs: (rendered - started).toFixed(1),
  });

  function applySnapshots() {
    const seen = new Set();
    const focusedRow = document.activeElement && document.activeElement.closest
      ? document.activeElement.closest("tr[data-snapshot-id]") : null;
    let index = 0;
    for (const snapshot of snapshots) {
      const id = snapshot.snapshot_id;
      seen.add(id);
      let entry = rows.get(id);
      if (!entry || JSON.stringify(entry.snapshot) !== JSON.stringify(snapshot)) {
        const row = snapshotRow(snapshot, () => actionsFor(view, snapshot));
        if (entry) {
          const hadFocus = entry.row === focusedRow;
          if (entry.row.querySelector("[aria-expanded=true]")) closeMenu({ restoreFocus: false });
          entry.row.replaceWith(row);
          if (hadFocus) row.querySelector(".menu-button").focus();
        }
        entry = { row, snapshot, text: searchText(snapshot) };
        rows.set(id, entry);
      }
      if (body.children[index] !== entry.row) body.insertBefore(entry.row, body.children[index] || null);
      index += 1;
    }
    for (const [id, entry] of rows) {
      if (!seen.has(id)) {
        entry.row.remove();
        rows.delete(id);
      }
    }
    applyFilter();
    updateCreate();
  }

  function applyFilter() {
    const query = search.value.trim().toLocaleLowerCase();
    let shown = 0;
    for (const { row, text } of rows.values()) {
      const match = !query || text.includes(query);
      row.hidden = !match;
      shown += match ? 1 : 0;
    }
    const total = rows.size;
    count.textContent = query ? `${shown} of ${plural(total, "snapshot")} match “${search.value.trim()}”`
      : plural(total, "snapshot");
    empty.hidden = shown > 0;
    empty.textContent = total === 0 ? "No snapshots yet." : `No snapshot matches “${search.value.trim()}”.`;
    table.hidden = shown === 0;
  }

  function updateCreate() {
    const reason = createBlockReason();
    createButton.disabled = Boolean(reason);
    createButton.title = reason;
    createReason.textContent = reason;
  }

  function createBlockReason() {
    const viewer = writeBlockReason(access);
    if (viewer) return viewer; // the one reason that does not pass
    if (dataset.status !== "READY") {
      return `Snapshots can be taken only when the dataset is READY; it is ${dataset.status} now.`;
    }
    const running = tracker.runningFor(datasetId).filter((item) => item.datasetId === datasetId);
    return running.length ? "A task is running on this dataset; wait until it finishes." : "";
  }

  async function refresh() {
    const before = edits;
    try {
      const [nextDataset, nextSnapshots] = await Promise.all([
        get(endpoints.dataset(datasetId), signal),
        get(endpoints.snapshotList(datasetId), signal),
      ]);
      if (before !== edits) return refresh(); // read again: this answer may predate an edit
      [dataset, snapshots] = [nextDataset, nextSnapshots];
      header.update(dataset);
      applySnapshots();
    } catch (error) {
      if (!isAbort(error)) notifyError(error, "Could not refresh the Snapshot Catalog");
    }
  }

  // Refresh while something runs, and once more after it ends.
  let watching = false;
  function busy() {
    return SETTLING.has(dataset.status) || tracker.runningFor(datasetId).length > 0;
  }
  async function watch() {
    if (watching || signal.aborted) return;
    watching = true;
    let waited = false;
    while (!signal.aborted && busy()) {
      await pause(REFRESH_MS, signal);
      if (signal.aborted) break;
      waited = true;
      await refresh();
    }
    watching = false;
    if (waited && !signal.aborted) await refresh();
  }
  const unsubscribe = tracker.subscribe((item) => {
    if (!item || (item.datasetId !== datasetId && item.sourceDatasetId !== datasetId)) return;
    if (item.dataset && item.datasetId === datasetId) {
      dataset = item.dataset;
      header.update(dataset);
    }
    updateCreate();
    if (item.done) refresh();
    else watch();
  });
  signal.addEventListener("abort", unsubscribe);
  watch();
}
