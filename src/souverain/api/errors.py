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


_NOT_AN_OBJECT = {"missing", "model_attributes_type", "model_type", "dict_type"}


def _describe_validation(errors: list[Any]) -> tuple[str, str | None, str]:
    """One readable sentence for the first validation error, and the parameter it concerns."""
    first = errors[0]
    location = [str(p) for p in first.get("loc", ()) if p != "body"]
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
    return _json(400, envelope(message, "invalid_request_error", param, code))


def _describe_http(request: Request, exc: StarletteHTTPException) -> tuple[str, str | None]:
    """Starlette's bare "Not Found" and "Method Not Allowed" made useful; other details are kept."""
    if exc.detail != HTTPStatus(exc.status_code).phrase:
        return str(exc.detail), None
    if exc.status_code == 404:
        return f"Invalid URL ({request.method} {request.url.path}).", "unknown_url"
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        message = f"Method {request.method} is not allowed on {request.url.path} (allowed: {allowed})."
        return message, "method_not_allowed"
    return str(exc.detail), None


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    kind = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
    message, code = _describe_http(request, exc)
    return _json(exc.status_code, envelope(message, kind, None, code), dict(exc.headers or {}) or None)


async def _unexpected(request: Request, exc: Exception) -> Response:
    # Starlette calls this handler outside every middleware, after the request id middleware has
    # finished: the id is read from the scope, written in the log line and set on the response here.
    request_id = request.scope.get("state", {}).get("request_id", "-")
    logger.error(
        "unexpected %s while serving %s (request id %s)",
        type(exc).__name__,
        request.url.path,
        request_id,
        exc_info=exc,
    )
    message = f"The server had an error processing the request (request id {request_id})."
    return _json(500, envelope(message, "server_error"), {"X-Request-Id": request_id})


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(SouverainError, _souverain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
