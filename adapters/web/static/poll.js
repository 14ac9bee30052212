// Waiting on the server: the statuses worth waiting on, and the timers that wait. Every wait
// takes the AbortSignal of what it serves (a view, or the signed-in user's session) and
// ends with it. The intervals stay with the callers; nothing here backs off.

// Task statuses that no longer change.
export const FINAL = new Set(["COMPLETED", "FAILED", "ABORTED"]);
// Dataset statuses that change by themselves before long: indexing, or a task's READ ONLY.
export const SETTLING = new Set(["INDEXING", "READ ONLY"]);

// Resolves after `ms`, or at once when `signal` aborts. Either way it leaves no listener on
// `signal`, whose life (the signed-in session's, for the tasks tracker) may hold many pauses.
export function pause(ms, signal) {
  return new Promise((resolve) => {
    const end = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", end);
      resolve();
    };
    const timer = setTimeout(end, ms);
    signal.addEventListener("abort", end, { once: true });
  });
}

// Runs `step` at once, then again `ms` after each run ends, until a run resolves true (done)
// or `signal` aborts.
export async function pollUntil(step, ms, signal) {
  while (!signal.aborted) {
    if (await step()) return;
    await pause(ms, signal);
  }
}

// A view's load that repeats while what it shows is still changing: `now()` runs `step` at
// once (dropping a repeat already due), `later()` runs it in `ms`, and each run whose `step`
// resolves true runs again `ms` after it ends. `signal` drops what is due.
export function refresher(step, ms, signal) {
  let timer = null;
  const later = () => { timer = setTimeout(now, ms); };
  async function now() {
    clearTimeout(timer);
    if (await step() && !signal.aborted) later();
  }
  signal.addEventListener("abort", () => clearTimeout(timer));
  return { now, later };
}
