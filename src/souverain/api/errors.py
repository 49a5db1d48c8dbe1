"""The one place where exceptions become HTTP responses in the OpenAI error envelope."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from souverain.errors import SouverainError

logger = logging.getLogger(__name__)


def envelope(message: str, error_type: str, param: str | None = None, code: str | None = None) -> bytes:
    """The OpenAI error body."""
    return orjson.dumps({"error": {"message": message, "type": error_type, "param": param, "code": code}})


def _json(status: int, body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _describe_validation(errors: list[Any]) -> tuple[str, str | None, str]:
    """One readable sentence for the first validation error, and the parameter it concerns."""
    first = errors[0]
    location = [str(p) for p in first.get("loc", ()) if p != "body"]
    param = ".".join(location) or None
    kind = first.get("type", "")
    if kind == "json_invalid":
        return "The request body is not valid JSON.", None, "invalid_json"
    if kind == "extra_forbidden":
        return f"Unrecognized request argument supplied: {param}.", param, "unknown_parameter"
    if kind == "missing":
        return f"Missing required parameter: {param}.", param, "missing_parameter"
    where = f" at {param}" if param else ""
    return f"Invalid value{where}: {first.get('msg', 'invalid')}.", param, "invalid_value"


async def _souverain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SouverainError)
    body = envelope(exc.message, exc.error_type, exc.param, exc.code)
    return _json(exc.status_code, body, exc.headers or None)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    message, param, code = _describe_validation(list(exc.errors()))
    return _json(400, envelope(message, "invalid_request_error", param, code))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    kind = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
    return _json(exc.status_code, envelope(str(exc.detail), kind), dict(exc.headers or {}) or None)


async def _unexpected(request: Request, exc: Exception) -> Response:
    request_id = request.scope.get("state", {}).get("request_id", "-")
    logger.error("unexpected %s while serving %s", type(exc).__name__, request.url.path, exc_info=exc)
    message = f"The server had an error processing the request (request id {request_id})."
    return _json(500, envelope(message, "server_error"))


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(SouverainError, _souverain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
