// Every server URL the page uses: the public JSON API under /api/v1 (requests, and the
// thumbnails' image sources) and the web UI's session. Query strings are built here alone,
// leaving out parameters that are null, undefined or "". Ids go into paths as the API gave
// them (UUIDs), unencoded.

const API = "/api/v1";

function url(path, params = {}) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") search.set(key, value);
  }
  const text = search.toString();
  return `${API}${path}${text ? `?${text}` : ""}`;
}

// The browser session: sign in (POST), who is signed in (GET), sign out (DELETE).
export const session = () => "/ui/session";

// Datasets
export const datasetList = ({ page, pageSize }) => url("/datasets", { page, page_size: pageSize });
export const datasetUpload = () => url("/dataset"); // POST, multipart: a new dataset
export const dataset = (datasetId) => url(`/dataset/${datasetId}`);
export const datasetAccess = (datasetId) => url(`/dataset/${datasetId}/access`);
export const history = (datasetId, { page, pageSize }) =>
  url(`/dataset/${datasetId}/history`, { page, page_size: pageSize });

// Snapshots: GET lists them, POST creates one; one snapshot: PATCH edits, DELETE removes.
export const snapshotList = (datasetId) => url(`/dataset/${datasetId}/snapshot`);
export const snapshot = (datasetId, snapshotId) =>
  url(`/dataset/${datasetId}/snapshot/${snapshotId}`);
// A dry run answers with the diff, a page of it at a time, and changes nothing.
export const restoreSnapshot = (datasetId, snapshotId, { dryRun = false, page, pageSize } = {}) =>
  url(`/dataset/${datasetId}/snapshot/${snapshotId}/restore`,
    dryRun ? { dry_run: "true", page, page_size: pageSize } : {});
export const cloneSnapshot = (datasetId, snapshotId, { dryRun = false } = {}) =>
  url(`/dataset/${datasetId}/snapshot/${snapshotId}/clone`, dryRun ? { dry_run: "true" } : {});

// Media and clusters; `filters` is the media grid's query (kind, q, tag, label, cluster_id).
export const mediaList = (datasetId, filters, { page, pageSize }) =>
  url(`/dataset/${datasetId}/media`, { ...filters, page, page_size: pageSize });
export const mediaItem = (datasetId, mediaId) => url(`/dataset/${datasetId}/media/${mediaId}`);
export const thumbnail = (datasetId, mediaId) =>
  url(`/dataset/${datasetId}/media/${mediaId}/thumbnail`);
export const clusterList = (datasetId, { page, pageSize }) =>
  url(`/dataset/${datasetId}/clusters`, { page, page_size: pageSize });

// Operations (each POST answers with the task it started) and exports.
export const enrichmentModels = (datasetId) => url(`/enrichment/${datasetId}/list_models`);
export const enrichDataset = (datasetId) => url(`/dataset/${datasetId}/enrich_dataset`);
export const reindexDataset = (datasetId) => url(`/dataset/${datasetId}/reindex`);
export const propagateLabels = (datasetId) => url(`/dataset/${datasetId}/propagate_labels`);
export const importMetadata = (datasetId) => url(`/dataset/${datasetId}/custom_metadata`);
export const metadataSchema = (datasetId) => url(`/dataset/${datasetId}/custom_metadata/schema`);
export const startExport = (datasetId, { snapshotId, includeMedia }) =>
  url(`/dataset/${datasetId}/export_context_async`,
    { snapshot_id: snapshotId, include_media: includeMedia ? "true" : "false" });
export const exportStatus = (datasetId, taskId) =>
  url(`/dataset/${datasetId}/export_status`, { export_task_id: taskId });

// Tasks; `query` holds the Task Manager's filters, sort and page as the API names them.
export const taskList = (query) => url("/tasks", query);
export const taskFilters = () => url("/tasks/filters");
export const task = (taskId) => url(`/tasks/${taskId}`);
export const taskReport = (taskId) => url(`/tasks/${taskId}/report`);
export const abortTask = (taskId) => url(`/tasks/${taskId}/abort`);
export const retryTask = (taskId) => url(`/tasks/${taskId}/retry`);
