"""Pure ASGI middleware (no per-request task overhead): request id and body size limit."""

from __future__ import annotations

import itertools
import re
import secrets

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from souverain.logs import request_id_var

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


class RequestIdMiddleware:
    """Gives each request an id (a client's safe ``X-Request-Id`` is kept) and echoes it on the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # A random per-process prefix and a counter: unique ids without a system call per request.
        self._prefix = secrets.token_hex(8)
        self._counter = itertools.count(1)

    def _next_id(self) -> str:
        return f"{self._prefix}{next(self._counter):016x}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"").decode("latin-1")
        request_id = incoming if _SAFE_ID.match(incoming) else self._next_id()
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


def _too_large_body(limit: int) -> bytes:
    message = f"Request body is larger than the limit of {limit} bytes."
    error = {"message": message, "type": "invalid_request_error", "param": None, "code": "body_too_large"}
    return orjson.dumps({"error": error})


class BodyLimitMiddleware:
    """Answers 413 when the declared or the actual body exceeds ``limit`` bytes.

    The body is read up front (it is at most ``limit`` bytes) and replayed to the application, so the
    limit holds for chunked uploads too without the application seeing a half-read body.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._reject(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # client went away before sending its body
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._reject(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _reject(self, send: Send) -> None:
        body = _too_large_body(self.limit)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
