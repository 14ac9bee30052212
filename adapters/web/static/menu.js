// A menu button (WAI-ARIA Authoring Practices "Menu Button" pattern). Enter, Space or the
// arrow keys on the button open the menu; arrows, Home and End move between items; a letter
// jumps to the next item starting with it; Escape closes and gives focus back to the button;
// Tab closes. Disabled items stay focusable (aria-disabled) so their reason can be read.
//
// One menu element serves every row: a catalog of hundreds of snapshots builds only its
// buttons, and the items are made when a menu opens, from the state at that moment.

import { h } from "./dom.js";

let open = null; // { button, menu, onClose }

export function menuButton({ label, controls, items }) {
  const button = h("button", {
    type: "button", class: "menu-button", "aria-label": label, "aria-haspopup": "menu",
    "aria-expanded": "false", dataset: { menuId: controls },
  }, h("span", { "aria-hidden": "true" }, "⋮"));
  button.addEventListener("click", () => {
    if (open && open.button === button) close({ restoreFocus: false });
    else show(button, items(), 0);
  });
  button.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      show(button, items(), event.key === "ArrowDown" ? 0 : -1);
    }
  });
  return button;
}

function show(button, items, focusIndex) {
  close({ restoreFocus: false });
  const menu = h("ul", { class: "menu", role: "menu", id: button.dataset.menuId,
    "aria-label": button.getAttribute("aria-label") });
  for (const item of items) {
    const reasonId = item.disabled ? `${menu.id}-${item.id}-reason` : null;
    const entry = h("li", {
      role: "menuitem", tabindex: "-1", class: "menu-item", dataset: { action: item.id },
      "aria-disabled": item.disabled ? "true" : null, title: item.disabled || null,
      "aria-describedby": reasonId,
    }, h("span", { class: "menu-label" }, item.label),
    item.disabled ? h("span", { class: "menu-reason", id: reasonId }, item.disabled) : null);
    entry.addEventListener("click", () => activate(item));
    menu.append(entry);
  }
  menu.addEventListener("keydown", (event) => onKey(event, items));
  menu.addEventListener("focusout", (event) => {
    if (open && !menu.contains(event.relatedTarget) && event.relatedTarget !== button) {
      close({ restoreFocus: false });
    }
  });
  button.after(menu);
  button.setAttribute("aria-expanded", "true");
  button.setAttribute("aria-controls", menu.id); // only while the menu exists
  open = { button, menu };
  focusItem(focusIndex < 0 ? items.length - 1 : focusIndex);
  document.addEventListener("pointerdown", onOutside, true);
}

function activate(item) {
  if (item.disabled) return;
  close({ restoreFocus: true });
  item.run();
}

function entries() {
  return open ? [...open.menu.querySelectorAll("[role=menuitem]")] : [];
}

function focusItem(index) {
  const all = entries();
  if (!all.length) return;
  all[(index + all.length) % all.length].focus();
}

function onKey(event, items) {
  const all = entries();
  const current = all.indexOf(document.activeElement);
  switch (event.key) {
    case "ArrowDown": focusItem(current + 1); break;
    case "ArrowUp": focusItem(current - 1); break;
    case "Home": focusItem(0); break;
    case "End": focusItem(all.length - 1); break;
    case "Escape": close({ restoreFocus: true }); break;
    case "Tab": close({ restoreFocus: true }); return; // let Tab move on from the button
    case "Enter":
    case " ":
      if (current >= 0) activate(items[current]);
      break;
    default:
      if (event.key.length === 1 && /\S/.test(event.key)) {
        const letter = event.key.toLowerCase();
        const order = [...all.slice(current + 1), ...all.slice(0, current + 1)];
        const match = order.find((el) => el.textContent.trim().toLowerCase().startsWith(letter));
        if (match) match.focus();
        break;
      }
      return;
  }
  event.preventDefault();
  event.stopPropagation();
}

function onOutside(event) {
  if (open && !open.menu.contains(event.target) && !open.button.contains(event.target)) {
    close({ restoreFocus: false });
  }
}

export function close({ restoreFocus }) {
  if (!open) return;
  const { button, menu } = open;
  open = null;
  document.removeEventListener("pointerdown", onOutside, true);
  button.setAttribute("aria-expanded", "false");
  button.removeAttribute("aria-controls");
  menu.remove();
  if (restoreFocus && button.isConnected) button.focus();
}

export function isOpen() {
  return open !== null;
}
