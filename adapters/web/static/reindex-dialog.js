// The Re-index dialog: the near-duplicate threshold (0 to 32 bits, default 8), then
// POST /dataset/{id}/reindex, which groups near-duplicate images into clusters.

import { api } from "./api.js";
import { InputProblem, field, formDialog, nextId } from "./dialogs.js";
import { h } from "./dom.js";
import * as endpoints from "./endpoints.js";

export const DEFAULT_THRESHOLD = 8;
export const MAX_THRESHOLD = 32;

export function openReindexDialog({ datasetId, datasetName, opener, started }) {
  const input = h("input", { type: "number", id: nextId("threshold"), name: "threshold",
    min: "0", max: String(MAX_THRESHOLD), step: "1", value: String(DEFAULT_THRESHOLD),
    inputmode: "numeric", required: true });
  formDialog({
    title: `Re-index “${datasetName}”`,
    intro: "Hashes every image and groups near-duplicates into clusters, which you can then "
      + "browse, filter the media by, and propagate labels within. A PARTIAL INDEX dataset "
      + "becomes READY. The dataset is READ ONLY while this runs.",
    body: field("Threshold (bits)", input,
      `Two images are near-duplicates when their 64-bit perceptual hashes differ in at most `
      + `this many bits: 0 finds exact look-alikes only, larger is looser. From 0 to `
      + `${MAX_THRESHOLD}; ${DEFAULT_THRESHOLD} is the default.`),
    submitLabel: "Start re-index",
    opener,
    submit: async () => {
      const text = input.value.trim();
      const threshold = Number(text);
      if (!/^\d+$/.test(text) || threshold > MAX_THRESHOLD) {
        input.setAttribute("aria-invalid", "true");
        input.focus();
        throw new InputProblem(`Enter a whole number of bits from 0 to ${MAX_THRESHOLD}.`);
      }
      input.removeAttribute("aria-invalid");
      const body = await api("POST", endpoints.reindexDataset(datasetId), { json: { threshold } });
      started(body, threshold);
    },
  });
  input.addEventListener("input", () => input.removeAttribute("aria-invalid"));
  input.focus();
  input.select();
}
