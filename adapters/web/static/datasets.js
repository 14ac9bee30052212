// The Datasets page: every dataset the user has a role on (name, status, item counts, owner)
// and a form that creates one from uploaded files. While a dataset is being indexed or is
// read only, the list refreshes itself until it settles.

import { api, get, isAbort } from "./api.js";
import { h, pager, statusBadge, timeElement } from "./dom.js";
import * as endpoints from "./endpoints.js";
import { notify, notifyError } from "./notices.js";
import { SETTLING, refresher } from "./poll.js";

const PAGE_SIZE = 20;
const REFRESH_MS = 1000;

export function datasetsView(root, { signal }) {
  let page = 1;
  const tableHolder = h("div", { class: "table-holder", "aria-busy": "true" });
  const pagerHolder = h("div");
  document.title = "Datasets · snapset";

  root.append(
    h("div", { class: "page-head" }, h("h1", {}, "Datasets")),
    createForm(() => load()),
    h("section", { "aria-labelledby": "datasets-title", class: "panel" },
      h("h2", { id: "datasets-title", class: "visually-hidden" }, "Your datasets"),
      tableHolder, pagerHolder));

  // Shows the page of datasets; true while one on it is still settling.
  async function show() {
    try {
      const body = await get(endpoints.datasetList({ page, pageSize: PAGE_SIZE }), signal);
      tableHolder.replaceChildren(table(body.datasets));
      tableHolder.removeAttribute("aria-busy");
      pagerHolder.replaceChildren(body.total > PAGE_SIZE ? pager({
        page, pageSize: PAGE_SIZE, total: body.total, label: "Dataset pages",
        onPage: (next) => { page = next; load(); },
      }) : "");
      return body.datasets.some((d) => SETTLING.has(d.status));
    } catch (error) {
      if (!isAbort(error)) notifyError(error, "Could not list datasets");
      return false;
    }
  }
  const { now: load } = refresher(show, REFRESH_MS, signal);
  load();
}

function table(datasets) {
  if (!datasets.length) {
    return h("p", { class: "empty" }, "No datasets yet. Create one from your images and videos above.");
  }
  const body = h("tbody");
  const rows = document.createDocumentFragment();
  for (const d of datasets) {
    rows.append(h("tr", { dataset: { datasetId: d.id } },
      h("th", { scope: "row" }, h("a", { href: `#/datasets/${d.id}` }, d.display_name)),
      h("td", {}, statusBadge(d.status)),
      h("td", { class: "num", dataset: { col: "images" } }, d.n_images.toLocaleString()),
      h("td", { class: "num", dataset: { col: "videos" } }, d.n_videos.toLocaleString()),
      h("td", { class: "num", dataset: { col: "items" } }, (d.n_images + d.n_videos).toLocaleString()),
      h("td", {}, d.owned_by),
      h("td", {}, timeElement(d.created_at))));
  }
  body.append(rows);
  return h("table", { class: "grid-table", id: "datasets-table" },
    h("caption", { class: "visually-hidden" }, "Datasets"),
    h("thead", {}, h("tr", {},
      ["Name", "Status", "Images", "Videos", "Items", "Owner", "Created"].map((name) =>
        h("th", { scope: "col", class: ["Images", "Videos", "Items"].includes(name) ? "num" : null },
          name)))),
    body);
}

function createForm(onCreated) {
  const name = h("input", { id: "new-dataset-name", name: "dataset_name", type: "text",
    maxlength: "200", autocomplete: "off", "aria-required": "true" });
  const files = h("input", { id: "new-dataset-files", name: "files", type: "file", multiple: true,
    accept: "image/*,video/*,.zip" });
  const error = h("p", { class: "form-error", role: "alert", id: "new-dataset-error" });
  const submit = h("button", { type: "submit", class: "primary" }, "Create dataset");
  const form = h("form", { class: "panel create-dataset", novalidate: true,
    "aria-labelledby": "new-dataset-title" },
  h("h2", { id: "new-dataset-title" }, "New dataset"),
  h("p", { class: "muted" }, "Upload images, videos or a zip of them. Indexing starts at once."),
  h("div", { class: "form-row" },
    h("div", { class: "field" }, h("label", { for: name.id }, "Name"), name),
    h("div", { class: "field" }, h("label", { for: files.id }, "Files"), files),
    h("div", { class: "field field-action" }, submit)),
  error);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const datasetName = name.value.trim();
    error.textContent = "";
    if (!datasetName) {
      error.textContent = "Enter a name for the dataset.";
      name.focus();
      return;
    }
    if (!files.files.length) {
      error.textContent = "Choose at least one file to upload.";
      files.focus();
      return;
    }
    const body = new FormData();
    body.append("dataset_name", datasetName);
    for (const file of files.files) body.append("files", file, file.name);
    submit.disabled = true;
    submit.textContent = "Uploading…";
    try {
      await api("POST", endpoints.datasetUpload(), { form: body });
      form.reset();
      notify(`Dataset “${datasetName}” created; indexing its media.`, { tone: "ok" });
      onCreated();
    } catch (failure) {
      error.textContent = failure.detail || failure.message;
    } finally {
      submit.disabled = false;
      submit.textContent = "Create dataset";
    }
  });
  return form;
}
