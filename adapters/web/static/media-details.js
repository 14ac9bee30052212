// One media item's details in a dialog (GET /dataset/{id}/media/{media_id}): its file facts,
// cluster, tags, labels, custom metadata and enrichment outputs, so the results of the
// dataset operations can be seen item by item.

import { get } from "./api.js";
import * as endpoints from "./endpoints.js";
import { infoDialog } from "./info-dialog.js";
import { h } from "./dom.js";

export async function openMediaDetails(datasetId, mediaId, opener) {
  const holder = h("div", { class: "op-details", id: "media-details", "aria-busy": "true" },
    h("p", { class: "muted" }, "Reading the item…"));
  const dialog = infoDialog({ title: "Media item", body: holder, opener, wide: true });
  try {
    const item = await get(endpoints.mediaItem(datasetId, mediaId));
    dialog.querySelector("h2").textContent = item.file_name;
    holder.replaceChildren(...details(datasetId, item));
  } catch (error) {
    holder.replaceChildren(h("p", { class: "tone-bad", role: "alert" },
      `The item could not be read: ${error.detail || error.message}`));
  }
  holder.removeAttribute("aria-busy");
}

function details(datasetId, item) {
  const facts = [
    ["Kind", item.kind === "video" ? "Video" : "Image"],
    ["Size", item.size !== null && item.size !== undefined
      ? `${item.size.toLocaleString()} bytes` : null],
    ["Dimensions", item.width && item.height ? `${item.width} × ${item.height} px` : null],
    ["Duration", item.duration ? `${item.duration} s` : null],
    ["Cluster", item.cluster_id || "none"],
    ["Tags", item.tags.length ? item.tags.join(", ") : "none"],
    ["Labels", item.labels.length ? item.labels.map(labelText).join("; ") : "none"],
  ].filter(([, value]) => value !== null);
  return [
    h("img", { class: "op-details-image", alt: item.file_name, width: "256", height: "256",
      src: endpoints.thumbnail(datasetId, item.media_id) }),
    definitions("Item", facts, "details-item"),
    definitions("Metadata", Object.entries(item.metadata).map(([k, v]) => [k, shown(v)]),
      "details-metadata", "No custom metadata."),
    h("section", { id: "details-enrichment", "aria-label": "Enrichment" },
      h("h3", {}, "Enrichment"),
      Object.keys(item.enrichment).length
        ? Object.entries(item.enrichment).map(([type, outputs]) => definitions(type,
          Object.entries(outputs).map(([k, v]) => [k, shown(v)]), null, "", "h4"))
        : h("p", { class: "muted" }, "Not enriched.")),
  ];
}

function definitions(title, pairs, id, empty = "", heading = "h3") {
  return h("section", { id, "aria-label": title },
    h(heading, {}, title),
    pairs.length ? h("dl", { class: "op-facts" }, pairs.map(([term, value]) => [
      h("dt", {}, term), h("dd", {}, value)])) : h("p", { class: "muted" }, empty));
}

function labelText(label) {
  const from = label.source === "propagation" ? ` (propagated from ${String(
    label.source_media_id).slice(0, 8)})` : label.source && label.source !== "manual"
    ? ` (${label.source})` : "";
  const box = Array.isArray(label.bbox) ? ` [${label.bbox.join(", ")}]` : "";
  return `${label.class_name}${box}${from}`;
}

function shown(value) {
  if (value === null || value === undefined) return "—";
  if (Array.isArray(value)) return value.map(shown).join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}
