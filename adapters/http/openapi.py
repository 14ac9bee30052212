"""The OpenAPI document, generated from the endpoint declarations and their pydantic models."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from adapters.http.models import Error
from adapters.http.registry import Endpoint, Registry

_REF = "#/components/schemas/{model}"
_ERROR_TEXT = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict with the dataset's state",
    413: "Too large",
    429: "Too many unfinished tasks (Retry-After says when to try again)",
    422: "Invalid input",
    503: "Database unavailable",
}


def openapi(registry: Registry, *, title: str, version: str) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for endpoint in registry.endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }


def _ref(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, str]:
    schema = model.model_json_schema(ref_template=_REF)
    for name, definition in schema.pop("$defs", {}).items():
        schemas[name] = definition
    schemas[model.__name__] = schema
    return {"$ref": _REF.format(model=model.__name__)}


def _operation(endpoint: Endpoint, schemas: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": endpoint.summary,
        "description": endpoint.extra.get("description", ""),
        "operationId": endpoint.handler.__name__,
        "tags": list(endpoint.tags),
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"{(\w+)}", endpoint.path)
        ],
        "responses": {},
    }
    if not endpoint.public:
        operation["security"] = [{"bearer": []}]
    if endpoint.query is not None:
        schema = endpoint.query.model_json_schema(ref_template=_REF)
        for name, definition in schema.get("properties", {}).items():
            operation["parameters"].append(
                {
                    "name": name,
                    "in": "query",
                    "required": name in schema.get("required", []),
                    "schema": definition,
                    "description": definition.get("description", ""),
                }
            )
    content: dict[str, Any] = {}
    if endpoint.body is not None:
        content["application/json"] = {"schema": _ref(endpoint.body, schemas)}
    if endpoint.multipart:
        binary = {"type": "string", "format": "binary"}
        file_field = endpoint.extra.get("file_field")  # one file, else many named `files`
        content["multipart/form-data"] = {
            "schema": {
                "type": "object",
                "properties": {
                    **(
                        {file_field: binary}
                        if file_field
                        else {"files": {"type": "array", "items": binary}}
                    ),
                    **{k: {"type": "string"} for k in endpoint.extra.get("form_fields", [])},
                },
            }
        }
    if content:
        operation["requestBody"] = {"required": True, "content": content}
    success: dict[str, Any] = {"description": "Success"}
    if endpoint.response is not None:
        schema = _ref(endpoint.response, schemas)
        if endpoint.extra.get("array"):
            schema = {"type": "array", "items": schema}
        success["content"] = {"application/json": {"schema": schema}}
    operation["responses"][str(endpoint.status)] = success
    for code, (text, model) in endpoint.extra.get("responses", {}).items():
        operation["responses"][str(code)] = {
            "description": text,
            "content": {"application/json": {"schema": _ref(model, schemas)}},
        }
    error_ref = _ref(Error, schemas)
    # The endpoint shell answers 400 for a body, query or header it cannot read (a body that
    # is not a JSON object, a query key given twice, a bad Idempotency-Key), and 413 for a
    # body over the limit, whatever the handler does.
    codes = (
        set(endpoint.errors)
        | {400, 422, 503}
        | (set() if endpoint.public else {401})
        | ({413} if endpoint.body is not None or endpoint.multipart else set())
    )
    for code in sorted(codes):
        operation["responses"][str(code)] = {
            "description": _ERROR_TEXT.get(code, "Error"),
            "content": {"application/json": {"schema": error_ref}},
        }
    return operation
