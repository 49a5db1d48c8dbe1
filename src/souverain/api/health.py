"""Liveness (/healthz: the process answers) and readiness (/readyz: each backend's state)."""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from starlette.responses import Response

from souverain.api.deps import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


@router.get("/readyz")
async def readyz(services: ServicesDep) -> Response:
    board = services.router.health
    backends = {name: board.report(name) for name in services.backends}
    ready = any(state["status"] == "ready" for state in backends.values())
    body = {"status": "ready" if ready else "unavailable", "backends": backends}
    return Response(orjson.dumps(body), status_code=200 if ready else 503, media_type="application/json")
