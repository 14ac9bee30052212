// One row of the Snapshot Catalog. Rows are built with plain DOM calls and no network use,
// so hundreds of them render at once; the menu's items are made only when it opens.

import { h, plural, timeElement } from "./dom.js";
import { menuButton } from "./menu.js";

const REASONS = {
  creation: "Taken when the dataset was first indexed",
  auto: "Automatic checkpoint",
  clone: "First snapshot of a clone",
};

export function snapshotRow(snapshot, menuItems) {
  const items = snapshot.n_images + snapshot.n_videos;
  const badges = [];
  if (snapshot.is_current) badges.push(h("span", { class: "badge tone-current" }, "Current Version"));
  if (snapshot.is_restoring) badges.push(h("span", { class: "badge tone-warn" }, "Restoring"));
  return h("tr", { dataset: { snapshotId: snapshot.snapshot_id } },
    h("th", { scope: "row", class: "snapshot-name" },
      h("span", { class: "name-text" }, snapshot.snapshot_name),
      REASONS[snapshot.reason] ? h("span", { class: "reason muted" }, REASONS[snapshot.reason]) : null),
    h("td", { class: "snapshot-status" }, badges),
    h("td", { class: "snapshot-description" },
      snapshot.description || h("span", { class: "muted", "aria-label": "No description" }, "—")),
    h("td", { class: "snapshot-created" }, timeElement(snapshot.created_at)),
    h("td", { class: "num snapshot-items",
      title: `${plural(snapshot.n_images, "image")}, ${plural(snapshot.n_videos, "video")}` },
    items.toLocaleString()),
    h("td", { class: "snapshot-author" }, snapshot.created_by),
    h("td", { class: "actions" }, h("div", { class: "menu-anchor" }, menuButton({
      label: `Actions for ${snapshot.snapshot_name}`,
      controls: `menu-${snapshot.snapshot_id}`,
      items: menuItems,
    }))));
}

export function searchText(snapshot) {
  return `${snapshot.snapshot_name}\n${snapshot.description}`.toLocaleLowerCase();
}
