// A dataset's page: its header (with the Snapshots button), the Operations panel (enrich,
// re-index, propagate labels, import metadata, export), its clusters, the media grid with
// filters and pages, and the audit history. While the dataset is being indexed or is read
// only, or a task this page started runs, its status refreshes; when it settles (or such a
// task ends) the media, clusters and history reload.

import { loadAccess } from "./access.js";
import { get, isAbort } from "./api.js";
import { clustersSection } from "./clusters.js";
import { datasetHeader } from "./dataset-header.js";
import { h } from "./dom.js";
import * as endpoints from "./endpoints.js";
import { historySection } from "./history.js";
import { mediaGrid } from "./media-grid.js";
import { notifyError } from "./notices.js";
import { operationsPanel } from "./operations.js";
import { SETTLING, refresher } from "./poll.js";
import * as tracker from "./tasks-tracker.js";

const REFRESH_MS = 1000;

export async function datasetView(root, { params, signal }) {
  const datasetId = params.id;
  let dataset;
  let access;
  try {
    [dataset, access] = await Promise.all([
      get(endpoints.dataset(datasetId), signal),
      loadAccess(datasetId, signal).catch((error) => {
        if (isAbort(error)) throw error;
        return null; // unknown: every button stays enabled and the server decides
      }),
    ]);
  } catch (error) {
    if (!isAbort(error)) {
      root.append(h("p", { class: "empty" }, "This dataset cannot be shown."));
      notifyError(error, "Could not open the dataset");
    }
    return;
  }
  document.title = `${dataset.display_name} · snapset`;

  const view = {
    datasetId,
    access,
    clusterCount: null,
    get dataset() { return dataset; },
    filters: () => media.values(),
    onStarted: () => refresh(),
  };
  const header = datasetHeader(dataset, { where: "dataset" });
  const operations = operationsPanel(view, signal);
  const media = mediaGrid(datasetId, signal, {
    onFilters: (values) => clusters.setChosen(values.cluster_id),
  });
  const clusters = clustersSection(datasetId, signal, {
    onChoose: (clusterId) => {
      media.setFilters({ cluster_id: clusterId });
      media.section.scrollIntoView({ block: "start" });
    },
    onCount: (total) => {
      view.clusterCount = total;
      operations.update();
    },
  });
  const history = historySection(datasetId, signal);
  root.append(header.element, operations.section, clusters.section, media.section,
    history.section);

  function show(next) {
    dataset = next;
    header.update(next);
    operations.update();
  }

  function reloadContent() {
    media.reload();
    clusters.reload();
    history.reload();
  }

  const runningHere = () => tracker.runningFor(datasetId)
    .some((item) => item.datasetId === datasetId);
  // Shows the dataset's status; true while it or a task this page started is still busy.
  async function readStatus() {
    try {
      const next = await get(endpoints.dataset(datasetId), signal);
      const settled = SETTLING.has(dataset.status) && !SETTLING.has(next.status);
      show(next);
      if (settled) reloadContent();
    } catch (error) {
      if (isAbort(error)) return false;
      notifyError(error, "Could not refresh the dataset");
    }
    return SETTLING.has(dataset.status) || runningHere();
  }
  const { now: refresh, later: refreshLater } = refresher(readStatus, REFRESH_MS, signal);

  // Tasks this page started: their polls bring the dataset's status, and their end the
  // new content.
  const ended = new Set();
  const unsubscribe = tracker.subscribe((item) => {
    if (!item || item.datasetId !== datasetId) return;
    if (item.dataset) show(item.dataset);
    if (item.done && !ended.has(item.taskId)) {
      ended.add(item.taskId);
      reloadContent();
      refresh();
    }
  });
  signal.addEventListener("abort", unsubscribe);
  if (SETTLING.has(dataset.status)) refreshLater();
}
