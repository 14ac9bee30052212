// A dataset's page: its header (with the Snapshots button), a grid of media thumbnails in
// pages, and the audit history. While the dataset is being indexed or is read only, its
// status refreshes, and the media and history reload when it settles.

import { get, isAbort } from "./api.js";
import { datasetHeader } from "./dataset-header.js";
import { h, pager } from "./dom.js";
import { historySection } from "./history.js";
import { notifyError } from "./notices.js";

const MEDIA_PAGE_SIZE = 24;
const REFRESH_MS = 1000;
const SETTLING = new Set(["INDEXING", "READ ONLY"]);

export async function datasetView(root, { params, signal }) {
  const datasetId = params.id;
  let dataset;
  try {
    dataset = await get(`/dataset/${datasetId}`, null, signal);
  } catch (error) {
    if (!isAbort(error)) {
      root.append(h("p", { class: "empty" }, "This dataset cannot be shown."));
      notifyError(error, "Could not open the dataset");
    }
    return;
  }
  document.title = `${dataset.display_name} · snapset`;
  const header = datasetHeader(dataset, { where: "dataset" });
  const media = mediaSection(datasetId, signal);
  const history = historySection(datasetId, signal);
  root.append(header.element, media.section, history.section);

  let timer = null;
  signal.addEventListener("abort", () => clearTimeout(timer));
  const watch = async () => {
    if (!SETTLING.has(dataset.status)) return;
    timer = setTimeout(async () => {
      try {
        const next = await get(`/dataset/${datasetId}`, null, signal);
        const settled = SETTLING.has(dataset.status) && !SETTLING.has(next.status);
        dataset = next;
        header.update(next);
        if (settled) {
          media.reload();
          history.reload();
        }
        watch();
      } catch (error) {
        if (!isAbort(error)) notifyError(error, "Could not refresh the dataset");
      }
    }, REFRESH_MS);
  };
  watch();
}

function mediaSection(datasetId, signal) {
  let page = 1;
  const grid = h("ul", { class: "media-grid", id: "media-grid", "aria-busy": "true" });
  const pagerHolder = h("div");
  const section = h("section", { class: "panel", "aria-labelledby": "media-title" },
    h("h2", { id: "media-title" }, "Media"), grid, pagerHolder);

  async function load() {
    try {
      const body = await get(`/dataset/${datasetId}/media`,
        { page, page_size: MEDIA_PAGE_SIZE }, signal);
      const tiles = document.createDocumentFragment();
      for (const item of body.media) tiles.append(tile(datasetId, item));
      grid.replaceChildren(tiles);
      grid.removeAttribute("aria-busy");
      if (!body.media.length) grid.append(h("li", { class: "empty" }, "No media yet."));
      pagerHolder.replaceChildren(body.total > MEDIA_PAGE_SIZE ? pager({
        page, pageSize: MEDIA_PAGE_SIZE, total: body.total, label: "Media pages",
        onPage: (next) => { page = next; load(); },
      }) : "");
    } catch (error) {
      if (!isAbort(error)) notifyError(error, "Could not list the media");
    }
  }
  load();
  return { section, reload: load };
}

function tile(datasetId, item) {
  const size = item.width && item.height ? `${item.width}×${item.height}` : "";
  return h("li", { class: "media-tile", dataset: { mediaId: item.media_id } },
    h("figure", {},
      h("img", { src: `/api/v1/dataset/${datasetId}/media/${item.media_id}/thumbnail`,
        alt: item.file_name, loading: "lazy", decoding: "async", width: "160", height: "160" }),
      h("figcaption", {},
        h("span", { class: "file-name", title: item.file_name }, item.file_name),
        h("span", { class: "muted" }, [item.kind === "video" ? "Video" : "Image", size]
          .filter(Boolean).join(" · ")))));
}
