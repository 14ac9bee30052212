// Modal dialogs on the native <dialog> element: it traps focus, closes on Escape and marks
// the rest of the page inert. Each dialog is built when needed and removed when closed, and
// focus goes back to whatever opened it. Here are the confirmation and the form dialogs;
// info-dialog.js shows read-only content.

import { ApiError } from "./api.js";
import { h } from "./dom.js";

let serial = 0;

// An id no other element of the page has, for a dialog and the controls in it.
export function nextId(prefix) {
  serial += 1;
  return `${prefix}-${serial}`;
}

export function mountDialog(dialog, opener) {
  document.body.append(dialog);
  dialog.addEventListener("close", () => {
    // The close event comes a moment after the dialog closed and the browser put focus
    // back; step in only when that focus was lost (the opener may have been redrawn:
    // `opener` can be a function that finds it again).
    const lost = !document.activeElement || document.activeElement === document.body
      || dialog.contains(document.activeElement);
    dialog.remove();
    const target = typeof opener === "function" ? opener() : opener;
    if (lost && target && target.isConnected) target.focus();
  });
  dialog.showModal();
}

// Ask before doing something with consequences; Cancel has the focus, so a stray Enter
// does nothing. Resolves true when the user confirms.
export function confirmDialog({ title, paragraphs, confirmLabel, tone = "primary", opener }) {
  const id = nextId("dialog");
  return new Promise((resolve) => {
    const dialog = h("dialog", { class: "dialog", "aria-labelledby": `${id}-title`,
      "aria-describedby": `${id}-body` },
      h("form", { method: "dialog" },
        h("h2", { id: `${id}-title` }, title),
        h("div", { id: `${id}-body`, class: "dialog-body" },
          paragraphs.map((text) => h("p", {}, text))),
        h("div", { class: "dialog-actions" },
          h("button", { type: "submit", value: "cancel", class: "quiet", autofocus: true },
            "Cancel"),
          h("button", { type: "submit", value: "confirm", class: tone }, confirmLabel))));
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"));
    mountDialog(dialog, opener);
  });
}

// A form in a dialog, for every form the UI asks in one: text fields, or any controls.
// `fields`: text inputs it builds ({ name, label, required, maxLength, value, multiline }),
// checks that the required ones are filled and passes to `submit` as trimmed `values`.
// `body`: nodes the caller built (checkboxes, numbers, files, selects) and reads itself.
// `submit(values)` runs the request, or throws: an ApiError (its detail is shown) or an Error
// whose message is shown; the dialog then stays open with that line, and closes when
// `submit` succeeds. `setError` and `setSubmittable` let the caller report what it found
// while filling `body` in.
export function formDialog({ title, intro, fields = [], body = null, submitLabel, submit, opener,
  wide = false }) {
  const id = nextId("dialog");
  const error = h("p", { class: "form-error", role: "alert", id: `${id}-error` });
  const inputs = {};
  const rows = fields.map((spec) => {
    const inputId = `${id}-${spec.name}`;
    const props = {
      id: inputId, name: spec.name, maxlength: spec.maxLength, value: spec.value || "",
      "aria-required": spec.required ? "true" : null, autocomplete: "off",
    };
    const input = spec.multiline ? h("textarea", { ...props, rows: 3 })
      : h("input", { ...props, type: "text" });
    inputs[spec.name] = input;
    return h("div", { class: "field" },
      h("label", { for: inputId }, spec.label,
        spec.required ? null : h("span", { class: "muted" }, " (optional)")),
      input);
  });
  const submitButton = h("button", { type: "submit", class: "primary" }, submitLabel);
  const cancel = h("button", { type: "button", class: "quiet" }, "Cancel");
  const form = h("form", { novalidate: true },
    h("h2", { id: `${id}-title` }, title),
    intro ? h("p", { class: "muted" }, intro) : null,
    rows, body, error,
    h("div", { class: "dialog-actions" }, cancel, submitButton));
  const dialog = h("dialog", { class: wide ? "dialog op-dialog-wide" : "dialog",
    "aria-labelledby": `${id}-title` }, form);
  cancel.addEventListener("click", () => dialog.close());
  form.addEventListener("input", () => { error.textContent = ""; }); // the user acted on it

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = Object.fromEntries(
      Object.entries(inputs).map(([name, input]) => [name, input.value.trim()]));
    const missing = fields.find((spec) => spec.required && !values[spec.name]);
    for (const input of Object.values(inputs)) input.removeAttribute("aria-invalid");
    if (missing) {
      error.textContent = `Enter a ${missing.label.toLowerCase()}.`;
      inputs[missing.name].setAttribute("aria-invalid", "true");
      inputs[missing.name].setAttribute("aria-describedby", error.id);
      inputs[missing.name].focus();
      return;
    }
    error.textContent = "";
    submitButton.disabled = true;
    dialog.setAttribute("aria-busy", "true");
    try {
      await submit(values);
      dialog.close();
    } catch (failure) {
      error.textContent = failure instanceof ApiError ? failure.detail : String(failure.message);
    } finally {
      submitButton.disabled = false;
      dialog.removeAttribute("aria-busy");
    }
  });
  mountDialog(dialog, opener);
  const first = Object.values(inputs)[0];
  if (first) first.focus();
  return {
    dialog,
    setError: (text) => { error.textContent = text; },
    setSubmittable: (yes) => { submitButton.disabled = !yes; },
  };
}

// A labelled field of a form dialog's `body`: `control` is an input, select or textarea
// with an id.
export function field(label, control, hint) {
  const hintId = hint ? `${control.id}-hint` : null;
  if (hintId) control.setAttribute("aria-describedby", hintId);
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control,
    hint ? h("span", { class: "muted field-hint", id: hintId }, hint) : null);
}

// Thrown by a form dialog's submit for a problem found before any request.
export class InputProblem extends Error {}
