// Modal dialogs on the native <dialog> element: it traps focus, closes on Escape and marks
// the rest of the page inert. Each dialog is built when needed and removed when closed, and
// focus goes back to whatever opened it.

import { ApiError } from "./api.js";
import { h } from "./dom.js";

let serial = 0;

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
  const id = `dialog-${++serial}`;
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

// A form in a dialog. `submit(values)` runs the request; the dialog stays open and shows the
// API's detail if it fails, and closes when it succeeds.
export function formDialog({ title, intro, fields, submitLabel, submit, opener }) {
  const id = `dialog-${++serial}`;
  const error = h("p", { class: "form-error", role: "alert", id: `${id}-error` });
  const inputs = {};
  const rows = fields.map((field) => {
    const inputId = `${id}-${field.name}`;
    const props = {
      id: inputId, name: field.name, maxlength: field.maxLength, value: field.value || "",
      "aria-required": field.required ? "true" : null, autocomplete: "off",
    };
    const input = field.multiline ? h("textarea", { ...props, rows: 3 })
      : h("input", { ...props, type: "text" });
    inputs[field.name] = input;
    return h("div", { class: "field" },
      h("label", { for: inputId }, field.label,
        field.required ? null : h("span", { class: "muted" }, " (optional)")),
      input);
  });
  const submitButton = h("button", { type: "submit", class: "primary" }, submitLabel);
  const cancel = h("button", { type: "button", class: "quiet" }, "Cancel");
  const form = h("form", { novalidate: true },
    h("h2", { id: `${id}-title` }, title),
    intro ? h("p", { class: "muted" }, intro) : null,
    rows, error,
    h("div", { class: "dialog-actions" }, cancel, submitButton));
  const dialog = h("dialog", { class: "dialog", "aria-labelledby": `${id}-title` }, form);
  cancel.addEventListener("click", () => dialog.close());

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = Object.fromEntries(
      Object.entries(inputs).map(([name, input]) => [name, input.value.trim()]));
    const missing = fields.find((field) => field.required && !values[field.name]);
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
  return dialog;
}
