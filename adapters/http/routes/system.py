"""Health, the OpenAPI document and a human docs page (no CDN: it renders the spec itself)."""

from __future__ import annotations

from starlette.responses import HTMLResponse, JSONResponse

from adapters.http import models
from adapters.http.call import Call
from adapters.http.registry import Registry

registry = Registry()


@registry.add(
    "GET",
    "/healthz",
    "Liveness and the event log's position.",
    public=True,
    response=models.Health,
    tags=("system",),
)
def healthz(call: Call[None, None]) -> models.Health:
    return models.Health(status="ok", position=call.services.app.position())


@registry.add(
    "GET",
    "/api/v1/healthz",
    "Liveness and the event log's position.",
    public=True,
    response=models.Health,
    tags=("system",),
)
def api_healthz(call: Call[None, None]) -> models.Health:
    return healthz(call)


def openapi_response(spec: dict[str, object]) -> JSONResponse:
    return JSONResponse(spec)


DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>snapset API</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h2{margin-top:2rem;border-bottom:1px solid #ddd}.op{margin:.6rem 0;padding:.5rem .8rem;
border:1px solid #e3e3e3;border-radius:6px}.m{display:inline-block;width:4.5rem;font-weight:700}
code{background:#f4f4f4;padding:0 .3rem;border-radius:3px}details pre{white-space:pre-wrap;
font-size:12px;background:#fafafa;padding:.5rem}
</style></head><body>
<h1>snapset API</h1>
<p>The machine-readable description is <a href="/openapi.json"><code>/openapi.json</code></a>.
Authenticate with <code>Authorization: Bearer &lt;jwt&gt;</code>; <code>snapset token</code> prints one.</p>
<div id="ops">Loading…</div>
<script>
fetch('/openapi.json').then(r => r.json()).then(spec => {
  const root = document.getElementById('ops'); root.textContent = '';
  const byTag = {};
  for (const [path, methods] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const tag = (op.tags && op.tags[0]) || 'other';
      (byTag[tag] = byTag[tag] || []).push([method, path, op]);
    }
  }
  for (const [tag, ops] of Object.entries(byTag)) {
    const h = document.createElement('h2'); h.textContent = tag; root.appendChild(h);
    for (const [method, path, op] of ops) {
      const div = document.createElement('div'); div.className = 'op';
      const m = document.createElement('span'); m.className = 'm'; m.textContent = method.toUpperCase();
      const p = document.createElement('code'); p.textContent = path;
      const s = document.createElement('div'); s.textContent = op.summary || '';
      const d = document.createElement('details'); const sum = document.createElement('summary');
      sum.textContent = 'parameters and responses'; const pre = document.createElement('pre');
      pre.textContent = JSON.stringify({parameters: op.parameters, requestBody: op.requestBody,
        responses: op.responses}, null, 2);
      d.append(sum, pre); div.append(m, p, s, d); root.appendChild(div);
    }
  }
});
</script></body></html>"""


def docs_page() -> HTMLResponse:
    return HTMLResponse(DOCS_PAGE)
