// The Media section of a dataset's page: its filters, a grid of thumbnails in pages
// (GET /dataset/{id}/media), and a details dialog per item. A filter change goes back to
// the first page; a reload keeps the page unless it no longer exists.

import { ApiError, get, isAbort } from "./api.js";
import { h, pager, plural } from "./dom.js";
import * as endpoints from "./endpoints.js";
import { openMediaDetails } from "./media-details.js";
import { mediaFilters } from "./media-filters.js";
import { notifyError } from "./notices.js";

const MEDIA_PAGE_SIZE = 24;

export function mediaGrid(datasetId, signal, { onFilters = () => {} } = {}) {
  let page = 1;
  let loads = 0;
  const filters = mediaFilters({ onChange: (values) => { page = 1; load(); onFilters(values); } });
  const count = h("p", { class: "muted", id: "media-count", "aria-live": "polite" });
  const grid = h("ul", { class: "media-grid", id: "media-grid", "aria-busy": "true" });
  const pagerHolder = h("div");
  const section = h("section", { class: "panel", "aria-labelledby": "media-title" },
    h("h2", { id: "media-title" }, "Media"), filters.element, count, grid, pagerHolder);

  async function load() {
    const serial = ++loads;
    const query = filters.values();
    const filtered = Object.values(query).some(Boolean);
    grid.setAttribute("aria-busy", "true");
    try {
      const body = await get(
        endpoints.mediaList(datasetId, query, { page, pageSize: MEDIA_PAGE_SIZE }), signal);
      if (serial !== loads) return; // a newer load is on its way
      const tiles = document.createDocumentFragment();
      for (const item of body.media) tiles.append(tile(datasetId, item));
      grid.replaceChildren(tiles);
      grid.removeAttribute("aria-busy");
      if (!body.media.length) {
        grid.append(h("li", { class: "empty" }, filtered ? "No media matches the filters."
          : "No media yet."));
      }
      // A lower-bound total (counting every match would cost more than the page) reads
      // "2,000+ items", and the pager offers Next while the server says more follow.
      const atLeast = body.total_is_lower_bound;
      const amount = atLeast ? `${body.total.toLocaleString()}+ items` : plural(body.total, "item");
      count.textContent = filtered ? `${amount} ${body.total === 1 && !atLeast
        ? "matches" : "match"} the filters.` : amount;
      const more = body.next_cursor != null;
      pagerHolder.replaceChildren(body.total > MEDIA_PAGE_SIZE || (atLeast && more) ? pager({
        page, pageSize: MEDIA_PAGE_SIZE, total: body.total, label: "Media pages",
        atLeast, more: atLeast ? more : undefined, onPage: (next) => { page = next; load(); },
      }) : "");
    } catch (error) {
      if (isAbort(error) || serial !== loads) return;
      if (error instanceof ApiError && error.status === 422 && page > 1) {
        page = 1; // the page is gone (fewer items now): show the first
        load();
        return;
      }
      grid.removeAttribute("aria-busy");
      notifyError(error, "Could not list the media");
    }
  }
  load();
  return {
    section,
    reload: load,
    values: () => filters.values(),
    setFilters: (partial) => filters.set(partial),
  };
}

function tile(datasetId, item) {
  const size = item.width && item.height ? `${item.width}×${item.height}` : "";
  const classes = [...new Set((item.labels || []).map((label) => label.class_name))];
  const notes = [
    classes.length ? `Labels: ${classes.join(", ")}` : null,
    item.tags && item.tags.length ? `Tags: ${item.tags.join(", ")}` : null,
  ].filter(Boolean).join(" · ");
  return h("li", { class: "media-tile", dataset: { mediaId: item.media_id,
    clusterId: item.cluster_id || "" } },
  h("figure", {},
    h("button", { type: "button", class: "op-tile-open", title: "Show this item's details",
      "aria-label": `Details of ${item.file_name}`,
      onclick: (event) => openMediaDetails(datasetId, item.media_id, event.currentTarget) },
    h("img", { src: endpoints.thumbnail(datasetId, item.media_id),
      alt: item.file_name, loading: "lazy", decoding: "async", width: "160", height: "160" })),
    h("figcaption", {},
      h("span", { class: "file-name", title: item.file_name }, item.file_name),
      h("span", { class: "muted" }, [item.kind === "video" ? "Video" : "Image", size]
        .filter(Boolean).join(" · ")),
      notes ? h("span", { class: "muted op-tile-notes", title: notes }, notes) : null)));
}
