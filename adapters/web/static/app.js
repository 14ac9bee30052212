// snapset's web UI: a small single-page app over the public JSON API. The hash holds the
// route (#/datasets, #/datasets/ID, #/datasets/ID/snapshots, #/tasks) so reloads and the
// Back button work without server routes. Each view gets an AbortSignal that ends its
// requests and timers when the user leaves it.

import { currentSession, sessionEnded, signOut } from "./api.js";
import { startActivityPanel } from "./activity.js";
import { catalogView } from "./catalog.js";
import { datasetView } from "./dataset-page.js";
import { datasetsView } from "./datasets.js";
import { forgetExports } from "./export-panel.js";
import { close as closeMenu } from "./menu.js";
import { clearNotices, notifyError } from "./notices.js";
import { signInView } from "./signin.js";
import { resetTaskFilters, taskManagerView } from "./task-manager.js";
import * as tracker from "./tasks-tracker.js";

const ROUTES = [
  [/^#\/datasets\/([0-9a-f-]{36})\/snapshots$/, "datasets", (m) => [catalogView, { id: m[1] }]],
  [/^#\/datasets\/([0-9a-f-]{36})$/, "datasets", (m) => [datasetView, { id: m[1] }]],
  [/^#\/tasks$/, "tasks", () => [taskManagerView, {}]],
  [/^#\/datasets$/, "datasets", () => [datasetsView, {}]],
];

const main = document.getElementById("main");
const topbar = document.getElementById("topbar");
let session = null;
let current = null; // AbortController of the shown view

function leaveView() {
  if (current) current.abort();
  current = new AbortController();
  closeMenu({ restoreFocus: false });
  main.replaceChildren();
  return current.signal;
}

function route() {
  if (!session) return;
  const hash = location.hash || "#/datasets";
  for (const [pattern, section, pick] of ROUTES) {
    const match = hash.match(pattern);
    if (!match) continue;
    const [view, params] = pick(match);
    const signal = leaveView();
    for (const link of topbar.querySelectorAll("[data-nav]")) {
      if (link.dataset.nav === section) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    view(main, { params, signal });
    return;
  }
  location.replace("#/datasets");
}

function showSignIn(message) {
  session = null;
  // Nothing the previous user started or chose outlives their session on this page.
  tracker.stopAll();
  forgetExports();
  resetTaskFilters();
  leaveView();
  topbar.hidden = true;
  document.getElementById("activity").hidden = true;
  signInView(main, { message, onSignedIn: enter });
}

function enter(signedIn) {
  session = signedIn;
  clearNotices();
  document.getElementById("who").textContent = signedIn.email;
  topbar.hidden = false;
  document.body.dataset.signedIn = "true";
  if (!location.hash || location.hash === "#/") history.replaceState(null, "", "#/datasets");
  route();
}

async function start() {
  startActivityPanel();
  window.addEventListener("hashchange", route);
  sessionEnded.addEventListener("ended", () => {
    if (session) showSignIn("Your session has ended. Sign in again.");
  });
  document.getElementById("sign-out").addEventListener("click", async () => {
    try {
      await signOut();
    } catch (error) {
      notifyError(error, "Signing out failed");
      return;
    }
    delete document.body.dataset.signedIn;
    clearNotices();
    showSignIn("");
  });
  try {
    const existing = await currentSession();
    if (existing) enter(existing);
    else showSignIn("");
  } catch (error) {
    showSignIn("");
    notifyError(error, "Could not reach the server");
  }
}

start();
