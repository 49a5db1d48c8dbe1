"""FastAPI dependencies: handlers receive services, never globals."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from souverain.state import Services


async def get_services(request: Request) -> Services:
    """The application's services (async: a sync dependency would cost a thread hop per request)."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
