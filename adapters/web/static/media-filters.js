// The media grid's filters: kind (image or video), file name text, tags (comma-separated,
// all must match), a label class and a cluster, as the explore API's query (kind, q, tag,
// label, cluster_id). Typing applies after a short pause, Enter or a choice at once;
// Clear filters empties them all.

import { h } from "./dom.js";

const TYPING_MS = 350;
const TEXT_FIELDS = [
  ["q", "File name contains", "e.g. img0"],
  ["tag", "Tags", "tag, another tag"],
  ["label", "Label class", "e.g. cat"],
  ["cluster_id", "Cluster", "Choose one under Clusters"],
];

export function mediaFilters({ onChange }) {
  const kind = h("select", { id: "filter-kind", name: "kind" },
    h("option", { value: "" }, "Any"),
    h("option", { value: "image" }, "Images"),
    h("option", { value: "video" }, "Videos"));
  const inputs = { kind };
  const fields = [h("div", { class: "field" }, h("label", { for: kind.id }, "Kind"), kind)];
  for (const [name, label, placeholder] of TEXT_FIELDS) {
    const input = h("input", { type: name === "q" ? "search" : "text", id: `filter-${name}`,
      name, placeholder, autocomplete: "off", maxlength: name === "tag" ? "4000" : "200" });
    inputs[name] = input;
    fields.push(h("div", { class: "field" }, h("label", { for: input.id }, label), input));
  }
  const clear = h("button", { type: "button", class: "quiet", id: "clear-filters" },
    "Clear filters");
  const form = h("form", { class: "filters op-media-filters", id: "media-filters",
    role: "search", "aria-label": "Filter the media" },
  fields, h("div", { class: "field-action" }, clear));

  let timer = null;
  let last = JSON.stringify(values());
  const apply = () => {
    clearTimeout(timer);
    const now = JSON.stringify(values());
    clear.disabled = Object.values(values()).every((value) => !value);
    if (now === last) return;
    last = now;
    onChange(values());
  };
  form.addEventListener("submit", (event) => { event.preventDefault(); apply(); });
  kind.addEventListener("change", apply);
  for (const [name] of TEXT_FIELDS) {
    inputs[name].addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(apply, TYPING_MS);
    });
    inputs[name].addEventListener("change", apply);
  }
  clear.addEventListener("click", () => {
    for (const input of Object.values(inputs)) input.value = "";
    apply();
  });
  clear.disabled = true;

  function values() {
    return Object.fromEntries(Object.entries(inputs).map(([name, input]) => [name,
      input.value.trim()]));
  }

  return {
    element: form,
    values,
    // Set some filters from elsewhere (a chosen cluster) and apply them.
    set(partial) {
      for (const [name, value] of Object.entries(partial)) inputs[name].value = value || "";
      apply();
    },
  };
}
