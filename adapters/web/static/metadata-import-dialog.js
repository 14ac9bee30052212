// The Import metadata dialog: upload a CSV (header row) or JSON (array of objects) file of
// custom metadata, one row per item (POST /dataset/{id}/custom_metadata, multipart). Once a
// file is chosen its columns are listed, each with a field type to declare (guessed from
// its values, fixed for fields the dataset already has) and, for enums, the options; the
// user picks the column that says which item a row is for. Rows that do not fit are
// rejected one by one and listed in the task's report.

import { api, get } from "./api.js";
import { InputProblem, field, formDialog, nextId } from "./dialogs.js";
import { h } from "./dom.js";
import * as endpoints from "./endpoints.js";
import { formatOf, guessType, optionsOf, readColumns } from "./metadata-file.js";

const TYPES = ["string", "float", "datetime", "enum", "multi_enum", "link"];
const ENUMS = new Set(["enum", "multi_enum"]);
const KEYS = {
  file_name: "File name (the file_name column)",
  media_id: "Media ID (the media_id column)",
};

export function openImportDialog({ datasetId, datasetName, opener, started }) {
  const file = h("input", { type: "file", id: nextId("metadata-file"), name: "file",
    accept: ".csv,.json,text/csv,application/json", required: true });
  const key = h("select", { id: nextId("metadata-key"), name: "key" },
    Object.entries(KEYS).map(([value, label]) => h("option", { value }, label)));
  const keyField = field("Match rows to items by", key);
  keyField.hidden = true;
  const fieldsHolder = h("div", { class: "op-import-fields" });
  let existing = {};
  let rows = []; // [{ name, type: select, options: input }]

  const { setError } = formDialog({
    title: `Import metadata into “${datasetName}”`,
    intro: "Adds custom metadata fields to items from a file with one row per item: a CSV "
      + "with a header row, or a JSON array of objects. A file_name or media_id column "
      + "says which item a row is for. Rows that do not fit are rejected and listed in the "
      + "report; the others are applied. The dataset is READ ONLY while this runs.",
    body: [field("CSV or JSON file", file, "UTF-8; an empty CSV cell leaves a field as it is."),
      keyField, fieldsHolder],
    submitLabel: "Start import",
    opener,
    wide: true,
    submit: async () => {
      const chosen = file.files[0];
      if (!chosen) throw new InputProblem("Choose a CSV or JSON file.");
      if (!rows.length) {
        throw new InputProblem("The file has no columns besides file_name and media_id.");
      }
      const schema = {};
      for (const row of rows) {
        const type = row.type.value;
        if (!ENUMS.has(type)) {
          schema[row.name] = { type };
          continue;
        }
        const options = row.options.value.split(",").map((o) => o.trim()).filter(Boolean);
        if (!options.length) {
          row.options.setAttribute("aria-invalid", "true");
          row.options.focus();
          throw new InputProblem(`Give the options of the ${type} field “${row.name}”, `
            + "separated by commas.");
        }
        schema[row.name] = { type, options };
      }
      const form = new FormData();
      form.append("schema", JSON.stringify(schema));
      form.append("key", key.value);
      form.append("file", chosen, chosen.name);
      const body = await api("POST", endpoints.importMetadata(datasetId), { form });
      started(body, chosen.name);
    },
  });

  get(endpoints.metadataSchema(datasetId))
    .then((body) => { existing = body.schema || {}; })
    .catch(() => { existing = {}; }); // unknown: the server checks the types anyway

  file.addEventListener("change", async () => {
    setError("");
    rows = [];
    fieldsHolder.replaceChildren();
    keyField.hidden = true;
    const chosen = file.files[0];
    if (!chosen) return;
    if (!formatOf(chosen)) {
      setError("Choose a .csv or .json file.");
      return;
    }
    let read;
    try {
      read = await readColumns(chosen);
    } catch (error) {
      setError(error.message);
      return;
    }
    const has = (name) => read.columns.includes(name);
    for (const option of key.options) option.disabled = !has(option.value);
    if (!has("file_name") && !has("media_id")) {
      setError("The file has no file_name or media_id column, so its rows cannot be matched "
        + "to items. Add one of them.");
      return;
    }
    key.value = has("file_name") ? "file_name" : "media_id";
    keyField.hidden = false;
    const names = read.columns.filter((name) => name && !(name in KEYS));
    rows = names.map((name) => fieldRow(name, read.samples[name] || [], existing[name]));
    fieldsHolder.replaceChildren(rows.length ? fieldTable(rows)
      : h("p", { class: "form-error" }, "The file has no columns besides file_name and media_id."));
  });
}

function fieldRow(name, sample, known) {
  const id = nextId("field");
  const type = h("select", { id: `${id}-type`, "aria-label": `Type of ${name}` },
    TYPES.map((t) => h("option", { value: t }, t)));
  type.value = known ? known.type : guessType(sample);
  if (known) {
    type.disabled = true;
    type.title = "The dataset already has this field; its type cannot change.";
  }
  const options = h("input", { type: "text", id: `${id}-options`, autocomplete: "off",
    "aria-label": `Options of ${name}`, placeholder: "option a, option b" });
  const fillOptions = () => {
    const have = known && known.options ? known.options : [];
    options.value = [...new Set([...have, ...optionsOf(sample, type.value)])].join(", ");
  };
  const showOptions = () => {
    options.hidden = !ENUMS.has(type.value);
    if (!options.hidden && !options.value) fillOptions();
  };
  type.addEventListener("change", showOptions);
  showOptions();
  return { name, type, options, known: Boolean(known) };
}

function fieldTable(rows) {
  return h("table", { class: "grid-table op-field-table", id: "import-fields" },
    h("caption", { class: "op-caption" }, "Fields in the file"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Column"),
      h("th", { scope: "col" }, "Type"), h("th", { scope: "col" }, "Options (enums)"))),
    h("tbody", {}, rows.map((row) => h("tr", { dataset: { field: row.name } },
      h("th", { scope: "row" }, row.name,
        row.known ? h("span", { class: "muted op-known" }, " (in the dataset)") : null),
      h("td", {}, row.type), h("td", {}, row.options)))));
}
