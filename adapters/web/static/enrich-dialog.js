// The Enrich dialog: the models this server offers (GET /enrichment/{id}/list_models), one
// checkbox each with what it computes, which media it applies to and whether the dataset
// already has its output; Start runs the chosen ones (POST /dataset/{id}/enrich_dataset).

import { api, get } from "./api.js";
import { InputProblem, formDialog, nextId } from "./dialogs.js";
import { h } from "./dom.js";
import * as endpoints from "./endpoints.js";

const KINDS = { image: "images", video: "videos" };

export function openEnrichDialog({ datasetId, datasetName, opener, started }) {
  const list = h("div", { class: "op-model-list", "aria-busy": "true" },
    h("p", { class: "muted" }, "Reading the available models…"));
  const boxes = [];
  const fieldset = h("fieldset", { class: "op-fieldset" },
    h("legend", {}, "Models to run"), list);
  const { setError, setSubmittable } = formDialog({
    title: `Enrich “${datasetName}”`,
    intro: "Runs models over the dataset's media and stores their outputs with each item. "
      + "Items that already have a model's output are not run again. The dataset is "
      + "READ ONLY while this runs.",
    body: fieldset,
    submitLabel: "Start enrichment",
    opener,
    wide: true,
    submit: async () => {
      const chosen = boxes.filter((box) => box.checked);
      if (!chosen.length) throw new InputProblem("Choose at least one model.");
      const enrichmentModels = Object.fromEntries(
        chosen.map((box) => [box.dataset.type, box.value]));
      const body = await api("POST", endpoints.enrichDataset(datasetId),
        { json: { enrichment_models: enrichmentModels } });
      started(body, chosen.map((box) => box.dataset.name));
    },
  });
  setSubmittable(false);
  get(endpoints.enrichmentModels(datasetId)).then(({ models }) => {
    list.replaceChildren(...models.map((model) => modelChoice(model, boxes)));
    if (!models.length) list.append(h("p", { class: "empty" }, "This server offers no models."));
    list.removeAttribute("aria-busy");
    setSubmittable(models.length > 0);
  }).catch((error) => {
    list.removeAttribute("aria-busy");
    list.replaceChildren();
    setError(`The models could not be listed: ${error.detail || error.message}`);
  });
}

function modelChoice(model, boxes) {
  const id = nextId("model");
  const box = h("input", { type: "checkbox", id, value: model.model_id,
    dataset: { type: model.type, name: model.name }, "aria-describedby": `${id}-about` });
  boxes.push(box);
  const kinds = model.media_kinds.map((kind) => KINDS[kind] || kind).join(" and ");
  return h("div", { class: "op-model" },
    box,
    h("div", {},
      h("label", { for: id }, h("strong", {}, model.name), " ",
        h("code", { class: "muted" }, `${model.type} · ${model.model_id}`)),
      model.applied ? h("span", { class: "badge tone-ok op-applied" }, "Already applied") : null,
      h("p", { class: "muted op-model-about", id: `${id}-about` },
        `For ${kinds}. ${model.description}`)));
}
