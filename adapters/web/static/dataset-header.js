// The header of a dataset's pages: its name, its status (kept fresh by the page), its counts
// and owner, and the buttons to its media and its Snapshot Catalog.

import { h, plural, statusBadge } from "./dom.js";

export function datasetHeader(dataset, { where }) {
  const status = h("span", { class: "dataset-status", id: "dataset-status" });
  const facts = h("p", { class: "muted dataset-facts" });
  const progress = h("span", { class: "muted", id: "dataset-progress" });
  const actions = h("div", { class: "page-actions" },
    where === "catalog"
      ? h("a", { class: "button quiet", href: `#/datasets/${dataset.id}` }, "Media and history")
      : h("button", { type: "button", class: "primary", id: "open-snapshots",
        onclick: () => { location.hash = `#/datasets/${dataset.id}/snapshots`; } }, "Snapshots"));
  const title = h("h1", { id: "dataset-title" }, dataset.display_name);
  const element = h("div", { class: "page-head dataset-head" },
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" },
      h("a", { href: "#/datasets" }, "Datasets"), " / ",
      where === "catalog" ? [h("a", { href: `#/datasets/${dataset.id}` }, dataset.display_name),
        " / ", h("span", { "aria-current": "page" }, "Snapshots")]
        : h("span", { "aria-current": "page" }, dataset.display_name)),
    h("div", { class: "title-line" }, title, status, progress, actions),
    facts);

  function update(next) {
    title.textContent = next.display_name;
    status.replaceChildren(statusBadge(next.status, { "aria-label": `Status: ${next.status}` }));
    progress.textContent = next.progress !== null && next.progress !== undefined
      && next.status !== "READY" ? `${next.progress}%` : "";
    facts.replaceChildren(
      `${plural(next.n_images + next.n_videos, "item")} (${plural(next.n_images, "image")}, `
      + `${plural(next.n_videos, "video")}) · owner ${next.owned_by}`,
      next.fatal_error_msg ? h("span", { class: "tone-bad", role: "alert" },
        ` · Last operation failed: ${next.fatal_error_msg}`) : "");
  }
  update(dataset);
  return { element, update };
}
