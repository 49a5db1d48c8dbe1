"""Liveness (/healthz: the process answers) and readiness (/readyz: each backend's state)."""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from starlette.responses import Response

from souverain.api.deps import ServicesDep

router = APIRouter(tags=["health"])


# HEAD too (RFC 9110: wherever GET is), for monitors that probe with it; out of the schema, which lists GET
@router.get("/healthz")
@router.head("/healthz", include_in_schema=False)
async def healthz() -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


@router.get("/readyz")
@router.head("/readyz", include_in_schema=False)
async def readyz(services: ServicesDep) -> Response:
    board = services.router.health
    backends = {name: board.report(name) for name in services.backends}
    ready = any(state["status"] == "ready" for state in backends.values())
    body = {"status": "ready" if ready else "unavailable", "backends": backends}
    return Response(orjson.dumps(body), status_code=200 if ready else 503, media_type="application/json")
