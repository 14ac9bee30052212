// The audit history timeline: each event of the dataset as "who did what, when", newest
// first, in pages. Event details are the raw event payloads; this turns them into sentences.

import { get, isAbort } from "./api.js";
import { h, humanize, pager, plural, timeElement } from "./dom.js";
import * as endpoints from "./endpoints.js";
import { notifyError } from "./notices.js";

const PAGE_SIZE = 15;

export function historySection(datasetId, signal) {
  const list = h("ol", { class: "timeline", id: "history-list", "aria-busy": "true" });
  const pagerHolder = h("div");
  const section = h("section", { class: "panel", "aria-labelledby": "history-title" },
    h("h2", { id: "history-title" }, "History"), list, pagerHolder);
  let names = new Map();

  // The API pages oldest first. Page `page` here holds the events numbered
  // [total - page * SIZE, total - (page - 1) * SIZE), which span one or two API pages.
  async function load(page) {
    try {
      const read = (apiPage) => get(
        endpoints.history(datasetId, { page: apiPage, pageSize: PAGE_SIZE }), signal);
      const [first, snapshots] = await Promise.all([
        read(1), get(endpoints.snapshotList(datasetId), signal).catch(() => []),
      ]);
      names = new Map(snapshots.map((s) => [s.snapshot_id, s.snapshot_name]));
      const { total } = first;
      const end = Math.max(0, total - (page - 1) * PAGE_SIZE);
      const start = Math.max(0, end - PAGE_SIZE);
      const wanted = [...new Set([Math.floor(start / PAGE_SIZE) + 1,
        Math.floor(Math.max(start, end - 1) / PAGE_SIZE) + 1])];
      const bodies = await Promise.all(wanted.map((n) => (n === 1 ? first : read(n))));
      const events = bodies.flatMap((body) => body.events);
      const offset = (wanted[0] - 1) * PAGE_SIZE;
      show(events.slice(start - offset, end - offset), page, total);
    } catch (error) {
      if (!isAbort(error)) notifyError(error, "Could not read the history");
    }
  }

  function show(events, page, total) {
    const items = document.createDocumentFragment();
    for (const event of [...events].reverse()) {
      items.append(h("li", { class: `timeline-item kind-${kindOf(event.event_type)}`,
        dataset: { eventType: event.event_type, position: event.position } },
      h("div", { class: "timeline-when" }, timeElement(event.at)),
      h("div", { class: "timeline-what" },
        h("span", { class: "timeline-actor" }, event.actor), " ",
        describe(event, names))));
    }
    list.replaceChildren(items);
    list.removeAttribute("aria-busy");
    if (!events.length) list.append(h("li", { class: "empty" }, "Nothing has happened yet."));
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    pagerHolder.replaceChildren(total > PAGE_SIZE ? pager({
      page, pageSize: PAGE_SIZE, total, label: "History pages",
      status: `Page ${page} of ${pages} · ${plural(total, "event")}, newest first`,
      previous: "Newer", next: "Older",
      onPage: (next) => load(next),
    }) : "");
  }

  load(1);
  return { section, reload: () => load(1) };
}

function kindOf(type) {
  if (type.startsWith("Snapshot")) return "snapshot";
  if (type.endsWith("Failed") || type === "TaskAborted") return "failure";
  if (type === "TaskClaimed" || type === "TaskProgressed") return "system";
  return "change";
}

function quoted(text) {
  return `“${text}”`;
}

function snapshotName(names, id) {
  return names.has(id) ? quoted(names.get(id)) : `(removed or renamed, id ${String(id).slice(0, 8)})`;
}

const FIRST_SNAPSHOT = {
  manual: "created snapshot",
  creation: "took the first snapshot after indexing,",
  auto: "took an automatic checkpoint",
  clone: "took the clone's first snapshot,",
};

// A snapshot event's record: one `checkpoint` field since its events' version 2; rows the
// history kept from before spell it out at the top level.
function checkpointOf(details) {
  const record = details.checkpoint || details;
  return { ...record, version: record.version || details };
}

function items(version) {
  return plural((version.n_images || 0) + (version.n_videos || 0), "item");
}

function describe(event, names) {
  const d = event.details || {};
  const task = d.task || {};
  switch (event.event_type) {
    case "Created":
      return d.source_dataset_id ? `created the dataset ${quoted(d.name)} as a clone`
        : `created the dataset ${quoted(d.name)}`;
    case "Shared": return `gave ${d.email} the ${d.role} role`;
    case "SnapshotCreated": {
      const snapshot = checkpointOf(d);
      return `${FIRST_SNAPSHOT[snapshot.reason] || "created snapshot"} ${quoted(snapshot.name)} (${
        items(snapshot.version)})`;
    }
    case "SnapshotUpdated": {
      const changes = [];
      if (d.name !== null && d.name !== undefined) changes.push(`renamed a snapshot to ${quoted(d.name)}`);
      if (d.description !== null && d.description !== undefined) {
        changes.push(d.description ? `set its description to ${quoted(d.description)}`
          : "cleared its description");
      }
      return changes.join(" and ") || "edited a snapshot";
    }
    case "SnapshotSoftDeleted": return `removed snapshot ${snapshotName(names, d.checkpoint_id)}`;
    case "OperationStarted": return `started ${humanize(task.task_type || "a task").toLowerCase()}`;
    case "RestoreStarted":
      return `started restoring snapshot ${snapshotName(names, (task.params || {}).snapshot_id)}`;
    case "RestoreCompleted": return `restored snapshot ${snapshotName(names, d.checkpoint_id)}`;
    case "CloneRequested":
      return `started cloning snapshot ${snapshotName(names, d.checkpoint_id)} into a new dataset`;
    case "CloneFinished": return "finished a clone into a new dataset";
    case "CloneStarted":
      return `started cloning snapshot ${quoted((task.params || {}).snapshot_name || "?")} into this dataset`;
    case "CloneCompleted": return `completed the clone (${items(checkpointOf(d).version)})`;
    case "ExportStarted": return "started an export";
    case "ExportCompleted": return "completed an export";
    case "TaskClaimed": return "— a worker picked up the task";
    case "TaskProgressed": return `— progress ${d.progress}%${d.message ? `: ${d.message}` : ""}`;
    case "OperationCompleted": return d.message ? `completed the task: ${d.message}` : "completed the task";
    case "OperationFailed":
    case "RestoreFailed":
    case "CloneFailed":
    case "ExportFailed": return `— the task failed: ${d.error}`;
    case "TaskAborted": return "aborted the task";
    case "TaskRetried": return "retried the task";
    case "ContentEdited": return d.summary ? `edited media: ${d.summary}` : "edited media";
    default: return humanize(event.event_type).toLowerCase();
  }
}
