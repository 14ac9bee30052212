// What a restore would change, from the API's dry run (POST .../restore?dry_run=true, which
// answers with the diff from the current content to the snapshot): a one-line summary in the
// Restore confirmation, and a "Compare with current" dialog that pages through the items the
// restore would remove, add and change. If the dry run fails, the summary says the preview
// is unavailable and why; the confirmation itself keeps working.

import { ApiError, api, isAbort } from "./api.js";
import { h, humanize, pager, plural } from "./dom.js";
import * as endpoints from "./endpoints.js";
import { infoDialog } from "./info-dialog.js";

const SUMMARY_PAGE_SIZE = 100; // the API's largest page; the changed parts are read from it
const COMPARE_PAGE_SIZE = 20;
// The order the API names the parts of a changed item in; others follow, sorted.
const PART_ORDER = ["file", "metadata", "tags", "labels", "enrichment", "cluster"];
const FACET_NAMES = {
  clustered: "clusters", models: "enrichment models", schema: "custom metadata schema",
};

function dryRun(datasetId, snapshotId, page, pageSize, signal) {
  return api("POST",
    endpoints.restoreSnapshot(datasetId, snapshotId, { dryRun: true, page, pageSize }), { signal });
}

function listed(words) {
  if (words.length < 2) return words.join("");
  return `${words.slice(0, -1).join(", ")} and ${words.at(-1)}`;
}

// The parts of the changed items on this page, in the API's order.
function changedParts(diff) {
  const seen = new Set(diff.changed.flatMap((item) => item.parts));
  const known = PART_ORDER.filter((part) => seen.has(part));
  return [...known, ...[...seen].filter((part) => !PART_ORDER.includes(part)).sort()];
}

// "Restoring will remove 3 items, add 1, change 5 (labels, enrichment)." and the facets.
export function describeRestore(diff) {
  const { added, removed, changed } = diff.counts;
  const segments = [["remove", removed], ["add", added], ["change", changed]]
    .filter(([, n]) => n > 0)
    .map(([verb, n], index) => `${verb} ${index === 0 ? plural(n, "item") : n.toLocaleString()}`);
  if (changed > 0) {
    const parts = changedParts(diff);
    const whole = diff.total <= diff.page_size; // every changed item was on this page
    if (parts.length) segments[segments.length - 1] += ` (${whole ? "" : "including "}${parts.join(", ")})`;
  }
  const facets = Object.keys(diff.facets || {}).map((name) => FACET_NAMES[name] || humanize(name).toLowerCase());
  if (!segments.length && !facets.length) {
    return "Restoring changes nothing: the current content already matches this snapshot.";
  }
  const sentences = [];
  if (segments.length) sentences.push(`Restoring will ${segments.join(", ")}.`);
  if (facets.length) {
    sentences.push(segments.length ? `It also changes the dataset's ${listed(facets)}.`
      : `Restoring changes no items, only the dataset's ${listed(facets)}.`);
  }
  return sentences.join(" ");
}

// The summary for the Restore confirmation: shown at once as "working out", filled in when
// the dry run answers. `stop()` gives up on an answer not yet received.
export function restorePreview({ datasetId, snapshot, datasetName }) {
  const controller = new AbortController();
  const text = h("span", { class: "preview-text" }, "Working out what the restore would change…");
  const element = h("span", { class: "restore-preview", id: `restore-preview-${snapshot.snapshot_id}`,
    "aria-live": "polite", dataset: { state: "loading" } }, text);
  dryRun(datasetId, snapshot.snapshot_id, 1, SUMMARY_PAGE_SIZE, controller.signal).then((diff) => {
    element.dataset.state = "ready";
    text.textContent = describeRestore(diff);
    if (diff.total > 0) {
      const compare = h("button", { type: "button", class: "quiet compare-button" },
        "Compare with current");
      compare.addEventListener("click", () => openComparison({
        datasetId, snapshot, datasetName, opener: compare }));
      element.append(" ", compare);
    }
  }, (error) => {
    if (isAbort(error)) return;
    element.dataset.state = "unavailable";
    const detail = error instanceof ApiError ? error.detail : String(error.message || error);
    text.textContent = `The preview of what would change is unavailable: ${detail}`;
  });
  return { element, stop: () => controller.abort() };
}

// A dialog over the confirmation: the restore's changes, a page at a time.
function openComparison({ datasetId, snapshot, datasetName, opener }) {
  const controller = new AbortController();
  const summary = h("p", { class: "muted", id: "comparison-summary", "aria-live": "polite" },
    "Loading the changes…");
  const holder = h("div", { class: "table-holder", "aria-busy": "true" });
  const pagerHolder = h("div");
  infoDialog({
    title: `Compare “${snapshot.snapshot_name}” with current`,
    body: [h("p", {}, `What restoring “${snapshot.snapshot_name}” would do to the current `
      + `content of “${datasetName}”.`), summary, holder, pagerHolder],
    opener, wide: true, onClose: () => controller.abort(),
  });

  async function show(page) {
    holder.setAttribute("aria-busy", "true");
    try {
      const diff = await dryRun(datasetId, snapshot.snapshot_id, page, COMPARE_PAGE_SIZE,
        controller.signal);
      summary.textContent = describeRestore(diff);
      holder.replaceChildren(changesTable(diff));
      holder.removeAttribute("aria-busy");
      pagerHolder.replaceChildren(diff.total > COMPARE_PAGE_SIZE ? pager({
        page, pageSize: COMPARE_PAGE_SIZE, total: diff.total, label: "Change pages",
        onPage: show,
      }) : "");
    } catch (error) {
      if (isAbort(error)) return;
      holder.removeAttribute("aria-busy");
      const detail = error instanceof ApiError ? error.detail : String(error.message || error);
      summary.textContent = `The changes cannot be shown: ${detail}`;
    }
  }
  show(1);
}

function changesTable(diff) {
  const rows = [
    ...diff.removed.map((item) => [item, "removed", "Removed", "The whole item"]),
    ...diff.added.map((item) => [item, "added", "Added", "The whole item"]),
    ...diff.changed.map((item) => [item, "changed", "Changed", item.parts.join(", ")]),
  ];
  if (!rows.length) return h("p", { class: "empty" }, "No item changes.");
  return h("table", { class: "grid-table", id: "comparison-table" },
    h("caption", { class: "visually-hidden" }, "Items the restore would change"),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Change"), h("th", { scope: "col" }, "Item"),
      h("th", { scope: "col" }, "Kind"), h("th", { scope: "col" }, "What changes"))),
    h("tbody", {}, rows.map(([item, kind, label, what]) => h("tr", {
      dataset: { change: kind, mediaId: item.media_id } },
    h("td", {}, h("span", { class: `change-${kind}` }, label)),
    h("th", { scope: "row", class: "file-name", title: item.media_id },
      item.file_name || item.media_id),
    h("td", {}, item.kind ? humanize(item.kind) : "—"),
    h("td", {}, what)))));
}
