"""Refuse a request body larger than the service could ever need, before reading it.

Strawberry reads and JSON-decodes the whole body before any limit of ``api/hardening.py``
applies: a 60 MB body of variables was read into memory, decoded and then refused, and
a few such requests at once cost a worker hundreds of MB. The largest useful request is a
document of 100,000 characters with a 1,000-code batch in its variables, well under
1 MiB, so a body above ``max_bytes`` is answered 413 with a coded GraphQL error, whether
its size is declared (``Content-Length``) or only found while it streams in (chunked).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from schema.errors import LimitExceeded


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int, prefix: str = "/graphql") -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        error = LimitExceeded(
            f"the request body is larger than {self.max_bytes:,} bytes; nothing was read"
        )
        body = json.dumps(
            {"data": None, "errors": [{"message": error.message,
                                       "extensions": {"code": error.code}}]}
        ).encode()
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]})
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    headers: Any = scope.get("headers") or []
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
