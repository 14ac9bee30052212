// The Propagate labels dialog. Label propagation copies the labels of source items to the
// other members of their clusters (POST /dataset/{id}/propagate_labels with the sources'
// media_ids and, optionally, the label classes to copy). The sources here are the items
// with labels of their own (not copies made by an earlier propagation) that are in a
// cluster, among the media the grid shows with its current filters; the dialog finds them
// by reading those media, and lets the user choose the classes.

import { api, get } from "./api.js";
import { InputProblem, formDialog, nextId } from "./dialogs.js";
import { h, plural } from "./dom.js";
import * as endpoints from "./endpoints.js";

const PAGE_SIZE = 100;
const MAX_SCANNED = 2000;
const MAX_SOURCES = 1000; // the API's limit
const PROPAGATION = "propagation";

export function openPropagateDialog({ datasetId, datasetName, filters, filtered, opener,
  started }) {
  const status = h("p", { class: "op-scan", role: "status", "aria-live": "polite" },
    "Looking for items with labels…");
  const classList = h("div", { class: "op-class-list" });
  const fieldset = h("fieldset", { class: "op-fieldset", hidden: true },
    h("legend", {}, "Label classes to copy"), classList);
  let sources = [];
  const boxes = [];
  const { setError, setSubmittable } = formDialog({
    title: `Propagate labels in “${datasetName}”`,
    intro: "Copies each source item's own labels to the other items of its cluster of "
      + "near-duplicates. A label an item already has is not added again, so running this "
      + `twice changes nothing. Sources are the labelled items in a cluster among ${filtered
        ? "the media the grid shows with its current filters" : "all the dataset's media"}.`,
    body: [status, fieldset],
    submitLabel: "Start propagation",
    opener,
    submit: async () => {
      const classes = boxes.filter((box) => box.checked).map((box) => box.value);
      if (!classes.length) throw new InputProblem("Choose at least one label class.");
      const wanted = sources.filter((item) => ownClasses(item).some((c) => classes.includes(c)))
        .slice(0, MAX_SOURCES);
      const body = await api("POST", endpoints.propagateLabels(datasetId), { json: {
        media_ids: wanted.map((item) => item.media_id),
        class_names: classes.length === boxes.length ? null : classes,
      } });
      started(body, wanted.length);
    },
  });
  setSubmittable(false);
  scan(datasetId, filters).then(({ found, scanned, total }) => {
    sources = found.filter((item) => item.cluster_id);
    const unclustered = found.length - sources.length;
    const classes = [...new Set(sources.flatMap(ownClasses))].sort();
    const clusters = new Set(sources.map((item) => item.cluster_id)).size;
    const words = [sources.length
      ? `Found ${plural(sources.length, "item")} with labels of their own in `
        + `${plural(clusters, "cluster")}.`
      : "No item in a cluster has labels of its own here, so there is nothing to copy."];
    if (unclustered) words.push(`${plural(unclustered, "labelled item")} in no cluster `
      + `${unclustered === 1 ? "is" : "are"} skipped.`);
    if (scanned < total) words.push(`Only the first ${scanned.toLocaleString()} of `
      + `${total.toLocaleString()} items were read; narrow the grid's filters (a label, a `
      + "cluster) to reach the others.");
    if (sources.length > MAX_SOURCES) words.push(`The first ${MAX_SOURCES} sources are used.`);
    status.textContent = words.join(" ");
    classList.replaceChildren(...classes.map((name) => classChoice(name, boxes)));
    fieldset.hidden = classes.length === 0;
    setSubmittable(sources.length > 0);
  }).catch((error) => {
    status.textContent = "";
    setError(`The media could not be read: ${error.detail || error.message}`);
  });
}

function ownClasses(item) {
  return (item.labels || []).filter((label) => label.source !== PROPAGATION)
    .map((label) => label.class_name);
}

async function scan(datasetId, filters) {
  const found = [];
  let page = 1;
  let scanned = 0;
  let total = 0;
  while (scanned < MAX_SCANNED) {
    const body = await get(
      endpoints.mediaList(datasetId, filters, { page, pageSize: PAGE_SIZE }));
    total = body.total;
    scanned += body.media.length;
    found.push(...body.media.filter((item) => ownClasses(item).length));
    if (!body.media.length || scanned >= total) break;
    page += 1;
  }
  return { found, scanned, total };
}

function classChoice(name, boxes) {
  const id = nextId("class");
  const box = h("input", { type: "checkbox", id, value: name, checked: true });
  boxes.push(box);
  return h("div", { class: "op-check" }, box, h("label", { for: id }, name));
}
