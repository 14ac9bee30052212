"""A pure ASGI middleware that refuses bodies over a limit with 413, before reading them all."""

from __future__ import annotations

import json
from typing import Any

Scope = dict[str, Any]


class BodyLimit:
    def __init__(self, app: Any, *, json_limit: int, upload_limit: int) -> None:
        self.app = app
        self.json_limit = json_limit
        self.upload_limit = upload_limit

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        limit = self.upload_limit if content_type.startswith("multipart/") else self.json_limit
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(send, limit)
            return
        received = 0
        responded = False

        async def limited_receive() -> dict[str, Any]:
            nonlocal received, responded
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    responded = True
                    raise _TooLarge(limit)
            return message

        async def guarded_send(message: dict[str, Any]) -> None:
            if not responded:
                await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _TooLarge as error:
            await _too_large(send, error.limit)


class _TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


async def _too_large(send: Any, limit: int) -> None:
    body = json.dumps({"detail": f"The request body is larger than the limit of {limit} bytes."})
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})
