// The one way the page talks to the server: the public JSON API, signed in by the session
// cookie, at the URLs endpoints.js builds. The CSRF token lives only in this module's memory;
// on a reload it is read again from GET /ui/session. The API secret is never kept anywhere.

import * as endpoints from "./endpoints.js";

const UNSAFE = new Set(["POST", "PATCH", "PUT", "DELETE"]);
let csrfToken = null;

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
  }
}

// Fired when the server no longer knows the session (signed out elsewhere, or expired).
export const sessionEnded = new EventTarget();

async function send(method, url, { json, form, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (UNSAFE.has(method) && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form; // the browser writes the multipart boundary
  }
  const response = await fetch(url, {
    method, headers, body, signal, credentials: "same-origin", cache: "no-store",
  });
  if (response.ok) {
    const text = await response.text();
    return text ? JSON.parse(text) : null;
  }
  throw new ApiError(response.status, await detailOf(response));
}

async function detailOf(response) {
  try {
    const body = await response.json();
    if (body && typeof body.detail === "string") return body.detail;
  } catch {
    // not JSON: fall through to the status line
  }
  return `The server answered ${response.status} ${response.statusText}.`.replace(" .", ".");
}

// `url` comes from endpoints.js; `options`: { json, form, signal }.
export async function api(method, url, options = {}) {
  try {
    return await send(method, url, options);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      csrfToken = null;
      sessionEnded.dispatchEvent(new CustomEvent("ended", { detail: error.detail }));
    }
    throw error;
  }
}

export const get = (url, signal) => api("GET", url, { signal });

// The browser session (/ui/session): sign in, find out who is signed in, sign out.

export async function currentSession() {
  try {
    const session = await send("GET", endpoints.session());
    csrfToken = session.csrf_token;
    return session;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

export async function signIn(apiKey, apiSecret) {
  const session = await send("POST", endpoints.session(), {
    json: { api_key: apiKey, api_secret: apiSecret },
  });
  csrfToken = session.csrf_token;
  return session;
}

export async function signOut() {
  try {
    await send("DELETE", endpoints.session());
  } finally {
    csrfToken = null;
  }
}

export function isAbort(error) {
  return error && error.name === "AbortError";
}
