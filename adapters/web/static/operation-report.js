// What a finished operation did, in words: the summary line of its task report
// (GET /tasks/{id}/report) by task type, and its sample per-item errors as lines.

import { plural } from "./dom.js";

const n = (value) => Number(value || 0);

const SUMMARIES = {
  ENRICHMENT: (r) => `${plural(n(r.items), "item")}: ${n(r.processed)} processed, `
    + `${n(r.reused)} outputs reused, ${plural(n(r.error_count), "error")}.`,
  REINDEX: (r) => `${plural(n(r.clusters), "cluster")} of near-duplicates holding `
    + `${plural(n(r.clustered_items), "item")} (threshold ${n(r.threshold)} bits); `
    + `${n(r.hashed)} images hashed, ${n(r.reused)} hashes reused, `
    + `${plural(n(r.error_count), "error")}.`,
  LABEL_PROPAGATION: (r) => `${plural(n(r.propagated_labels), "label")} propagated to `
    + `${plural(n(r.items_changed), "item")}, ${plural(n(r.error_count), "error")}.`,
  CUSTOM_METADATA: (r) => `${plural(n(r.inserted_rows), "row")} inserted, `
    + `${n(r.rejected_rows)} rejected (${plural(n(r.error_count), "error")}).`,
  EXPORT: (r) => `${plural(n(r.items), "item")} and ${plural(n(r.media_files), "media file")} `
    + `exported, ${plural(n(r.error_count), "error")}.`,
};

export function reportSummary(taskType, report) {
  if (!report) return "";
  const summary = SUMMARIES[taskType];
  return summary ? summary(report) : "";
}

// One line per sample error: where (row, file, model, field) and why.
export function reportErrors(report) {
  if (!report || !Array.isArray(report.errors)) return [];
  return report.errors.map((error) => {
    const where = [
      error.row !== undefined && error.row !== null ? `Row ${error.row}` : null,
      error.file_name || (error.media_id ? `item ${error.media_id}` : null),
      error.model || null,
      error.field || null,
    ].filter(Boolean).join(", ");
    return where ? `${where}: ${error.detail}` : String(error.detail);
  });
}
