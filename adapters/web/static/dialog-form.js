// A modal dialog holding any form content (checkboxes, numbers, files, selects), for the
// dataset operations; dialogs.js's formDialog holds text fields only. Like it, the dialog
// stays open and shows the API's detail when `submit` fails, closes when it succeeds, and
// gives focus back to whatever opened it. (info-dialog.js shows read-only content.)

import { ApiError } from "./api.js";
import { mountDialog } from "./dialogs.js";
import { h } from "./dom.js";

let serial = 0;

export function nextId(prefix) {
  serial += 1;
  return `${prefix}-${serial}`;
}

// `body`: nodes to show between the intro and the error line. `submit()` returns nothing on
// success, or throws: an ApiError (its detail is shown) or an Error whose message is shown.
export function formDialogWith({ title, intro, body, submitLabel, submit, opener, wide = false }) {
  const id = nextId("op-dialog");
  const error = h("p", { class: "form-error", role: "alert", id: `${id}-error` });
  const submitButton = h("button", { type: "submit", class: "primary" }, submitLabel);
  const cancel = h("button", { type: "button", class: "quiet" }, "Cancel");
  const form = h("form", { novalidate: true },
    h("h2", { id: `${id}-title` }, title),
    intro ? h("p", { class: "muted" }, intro) : null,
    body, error,
    h("div", { class: "dialog-actions" }, cancel, submitButton));
  const dialog = h("dialog", { class: wide ? "dialog op-dialog-wide" : "dialog",
    "aria-labelledby": `${id}-title` }, form);
  cancel.addEventListener("click", () => dialog.close());
  form.addEventListener("input", () => { error.textContent = ""; }); // the user acted on it

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    submitButton.disabled = true;
    dialog.setAttribute("aria-busy", "true");
    try {
      await submit();
      dialog.close();
    } catch (failure) {
      error.textContent = failure instanceof ApiError ? failure.detail : String(failure.message);
    } finally {
      submitButton.disabled = false;
      dialog.removeAttribute("aria-busy");
    }
  });
  mountDialog(dialog, opener);
  return {
    dialog,
    setError: (text) => { error.textContent = text; },
    setSubmittable: (yes) => { submitButton.disabled = !yes; },
  };
}

// A labelled field: `control` is an input, select or textarea with an id.
export function field(label, control, hint) {
  const hintId = hint ? `${control.id}-hint` : null;
  if (hintId) control.setAttribute("aria-describedby", hintId);
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control,
    hint ? h("span", { class: "muted field-hint", id: hintId }, hint) : null);
}

// Thrown by a dialog's submit for a problem found before any request.
export class InputProblem extends Error {}
