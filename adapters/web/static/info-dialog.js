// A modal dialog that only shows something (a restore's comparison, a task's report): a
// title, a body the caller may fill in later, and a Close button. Native <dialog>, so it
// traps focus, closes on Escape, and may open on top of another dialog; it is removed when
// closed and focus goes back to whatever opened it.

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
  dialog.addEventListener("close", () => {
    const lost = !document.activeElement || document.activeElement === document.body
      || dialog.contains(document.activeElement);
    dialog.remove();
    if (onClose) onClose();
    const target = typeof opener === "function" ? opener() : opener;
    if (lost && target && target.isConnected) target.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  close.focus();
  return dialog;
}
