"""The one place where exceptions become HTTP responses in the OpenAI error envelope."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from souverain.errors import SouverainError

logger = logging.getLogger(__name__)


def _text(value: str | None) -> str | None:
    """``value`` made encodable: an error body must never fail to render (a lone surrogate would)."""
    if value is None or value.isascii():
        return value
    return value.encode("utf-8", "replace").decode("utf-8")


def envelope(message: str, error_type: str, param: str | None = None, code: str | None = None) -> bytes:
    """The OpenAI error body."""
    error = {"message": _text(message), "type": error_type, "param": _text(param), "code": _text(code)}
    return orjson.dumps({"error": error})


def _json(status: int, body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type="application/json", headers=headers)


_SOURCES = {"body", "query", "path", "header", "cookie"}
_NOT_AN_OBJECT = {"missing", "model_attributes_type", "model_type", "dict_type"}


def _describe_validation(errors: list[Any]) -> tuple[str, str | None, str]:
    """One readable sentence for the first validation error, and the parameter it concerns."""
    first = errors[0]
    location = [str(p) for p in first.get("loc", ())]
    if location and location[0] in _SOURCES:
        location = location[1:]  # the parameter's name, not where FastAPI found it
    param = (first.get("ctx") or {}).get("param") or ".".join(location) or None
    kind = first.get("type", "")
    if kind == "json_invalid":
        return "The request body is not valid JSON.", None, "invalid_json"
    if param is None and kind in _NOT_AN_OBJECT:
        # the body itself is empty, or JSON that is not an object (null, a list, a string, a number)
        return "The request body must be a JSON object.", None, "invalid_body"
    if kind == "extra_forbidden":
        return f"Unrecognized request argument supplied: {param}.", param, "unknown_parameter"
    if kind == "missing":
        return f"Missing required parameter: {param}.", param, "missing_parameter"
    where = f" at {param}" if param else ""
    detail = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    return f"Invalid value{where}: {detail}.", param, "invalid_value"


async def _souverain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SouverainError)
    body = envelope(exc.message, exc.error_type, exc.param, exc.code)
    return _json(exc.status_code, body, exc.headers or None)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    message, param, code = _describe_validation(list(exc.errors()))
    if code == "invalid_body" and _has_body(request) and not _is_json(request.headers.get("content-type")):
        # FastAPI reads a body as JSON only when it is said to be JSON (curl -d says it is a form): a 400
        # "must be a JSON object" would hide the cause
        message = "The request body must be JSON, sent with the header Content-Type: application/json."
        return _json(415, envelope(message, "invalid_request_error", None, "unsupported_media_type"))
    return _json(400, envelope(message, "invalid_request_error", param, code))


def _has_body(request: Request) -> bool:
    """Whether the request came with a body (its length said, or sent in chunks)."""
    length = request.headers.get("content-length", "0")
    return (
        length.isascii() and length.isdigit() and int(length) > 0
    ) or "transfer-encoding" in request.headers


def _is_json(content_type: str | None) -> bool:
    """Whether a Content-Type names JSON (``application/json``, or a ``+json`` type)."""
    media = (content_type or "").split(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _shortened(path: str, limit: int = 200) -> str:
    """A path as quoted in an error message: a client's 5,000-character path is not echoed whole."""
    return path if len(path) <= limit else f"{path[:limit]}…"


def _describe_http(request: Request, exc: StarletteHTTPException) -> tuple[str, str | None]:
    """Starlette's bare "Not Found" and "Method Not Allowed" made useful; other details are kept."""
    if exc.detail != HTTPStatus(exc.status_code).phrase:
        return str(exc.detail), None
    path = _shortened(request.url.path)
    if exc.status_code == 404:
        return f"Invalid URL ({request.method} {path}).", "unknown_url"
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        message = f"Method {request.method} is not allowed on {path} (allowed: {allowed})."
        return message, "method_not_allowed"
    return str(exc.detail), None


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    kind = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
    message, code = _describe_http(request, exc)
    return _json(exc.status_code, envelope(message, kind, None, code), dict(exc.headers or {}) or None)


class UnexpectedErrorMiddleware:
    """Answers an unexpected exception with the generic 500 instead of re-raising it.

    Starlette's outermost handler re-raises after answering, and uvicorn then logs the traceback (whose
    message may quote request content) and closes the connection, so that the client's next request on
    it is reset. Installed inside the request id middleware, this logs one line with the request id
    instead. A response that had already started (a stream) cannot become a 500: the exception is then
    re-raised, the ASGI way of telling the server to cut the stream rather than end it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:  # logged here; answered as a 500 when still possible
            request_id = _log_unexpected(scope, exc)
            if started:
                raise  # how an application aborts a response it has begun: the server cuts the stream
            await _server_error(request_id)(scope, receive, send)  # X-Request-Id is added outside


def _log_unexpected(scope: Scope, exc: Exception) -> str:
    """Log ``exc`` with the request id and the route (its template, not the request's own path)."""
    request_id = str(scope.get("state", {}).get("request_id", "-"))
    route = getattr(scope.get("route"), "path", None) or scope.get("path", "")
    logger.error(
        "unexpected %s while serving %s (request id %s)", type(exc).__name__, route, request_id, exc_info=exc
    )
    return request_id


def _server_error(request_id: str, headers: dict[str, str] | None = None) -> Response:
    message = f"The server had an error processing the request (request id {request_id})."
    return _json(500, envelope(message, "server_error"), headers)


async def _unexpected(request: Request, exc: Exception) -> Response:
    # Starlette calls this handler outside every middleware, after the request id middleware has
    # finished: the id is read from the scope, written in the log line and set on the response here.
    request_id = _log_unexpected(request.scope, exc)
    return _server_error(request_id, {"X-Request-Id": request_id})


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(SouverainError, _souverain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
