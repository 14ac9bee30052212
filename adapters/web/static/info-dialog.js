// A modal dialog that only shows something (a restore's comparison, a task's report): a
// title, a body the caller may fill in later, and a Close button. Native <dialog>, so it
// traps focus, closes on Escape, and may open on top of another dialog; it is removed when
// closed and focus goes back to whatever opened it.

import { mountDialog } from "./dialogs.js";
import { h } from "./dom.js";

let serial = 0;

export function infoDialog({ title, body, opener, wide = false, onClose = null }) {
  const id = `info-dialog-${++serial}`;
  const close = h("button", { type: "button", class: "quiet" }, "Close");
  const dialog = h("dialog", { class: wide ? "dialog dialog-wide" : "dialog",
    "aria-labelledby": `${id}-title` },
  h("h2", { id: `${id}-title` }, title),
  h("div", { class: "dialog-body info-body" }, body),
  h("div", { class: "dialog-actions" }, close));
  close.addEventListener("click", () => dialog.close());
  if (onClose) dialog.addEventListener("close", onClose);
  mountDialog(dialog, opener);
  close.focus();
  return dialog;
}
