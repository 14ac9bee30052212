// The Clusters section of a dataset's page: its clusters of near-duplicate images
// (GET /dataset/{id}/clusters, largest first, in pages), each with its size and up to four
// sample thumbnails. Choosing a cluster filters the media grid to it; choosing it again
// clears that filter.

import { get, isAbort } from "./api.js";
import { h, pager, plural } from "./dom.js";
import * as endpoints from "./endpoints.js";
import { notifyError } from "./notices.js";

const PAGE_SIZE = 12;

export function clustersSection(datasetId, signal, { onChoose, onCount }) {
  let page = 1;
  let chosen = null;
  let clusters = [];
  const count = h("p", { class: "muted", id: "cluster-count", "aria-live": "polite" });
  const list = h("ul", { class: "op-clusters", id: "cluster-list", "aria-busy": "true" });
  const pagerHolder = h("div");
  const section = h("section", { class: "panel", id: "clusters",
    "aria-labelledby": "clusters-title" },
    h("h2", { id: "clusters-title" }, "Clusters"), count, list, pagerHolder);

  async function load() {
    try {
      const body = await get(
        endpoints.clusterList(datasetId, { page, pageSize: PAGE_SIZE }), signal);
      if (page > 1 && !body.clusters.length && body.total) {
        page = 1;
        load();
        return;
      }
      clusters = body.clusters;
      onCount(body.total);
      count.textContent = body.total
        ? `${plural(body.total, "cluster")} of near-duplicate images. Choose one to show only `
          + "its items in the media grid."
        : "No clusters yet. Re-index the dataset to group near-duplicate images.";
      draw();
      list.removeAttribute("aria-busy");
      pagerHolder.replaceChildren(body.total > PAGE_SIZE ? pager({
        page, pageSize: PAGE_SIZE, total: body.total, label: "Cluster pages",
        onPage: (next) => { page = next; load(); },
      }) : "");
    } catch (error) {
      if (!isAbort(error)) notifyError(error, "Could not list the clusters");
    }
  }

  function draw() {
    list.replaceChildren(...clusters.map((cluster, index) => {
      const name = `Cluster ${(page - 1) * PAGE_SIZE + index + 1}`;
      const pressed = cluster.cluster_id === chosen;
      return h("li", { class: "op-cluster", dataset: { clusterId: cluster.cluster_id } },
        h("button", { type: "button", class: "op-cluster-button", "aria-pressed": String(pressed),
          title: pressed ? "Show every item again" : `Show only the items of ${name}`,
          onclick: () => onChoose(pressed ? null : cluster.cluster_id) },
        h("span", { class: "op-cluster-thumbs" }, cluster.sample_media.map((item) => h("img", {
          src: endpoints.thumbnail(datasetId, item.media_id),
          alt: item.file_name, width: "64", height: "64", loading: "lazy", decoding: "async",
        }))),
        h("span", { class: "op-cluster-name" }, h("strong", {}, name), " · ",
          plural(cluster.size, "item"))));
    }));
  }

  load();
  return {
    section,
    reload: load,
    // The media grid's cluster filter changed (here or in its own form).
    setChosen(clusterId) {
      chosen = clusterId || null;
      draw();
    },
  };
}
