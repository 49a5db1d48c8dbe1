"""The application factory: everything is built from settings in the lifespan and put on app.state."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from souverain.api import admin_routes, errors, health, openai_routes
from souverain.api.middleware import BodyLimitMiddleware, RequestIdMiddleware
from souverain.backends import registry
from souverain.backends.base import Backend
from souverain.events import EventSink, LogSink
from souverain.gateway.chat import ChatService
from souverain.gateway.embeddings import EmbeddingsService
from souverain.governance.auth import KeyAuthenticator
from souverain.governance.principal import Principal, development_principal
from souverain.governance.quota_factory import build_limiter
from souverain.governance.quotas import Limiter
from souverain.pipeline.access import AccessStage
from souverain.pipeline.events import EventStage
from souverain.pipeline.quota import QuotaStage
from souverain.pipeline.stage import Pipeline
from souverain.pipeline.usage import UsageStage
from souverain.routing.health import HealthBoard, check_health, health_loop
from souverain.routing.router import Router
from souverain.settings import Settings
from souverain.state import Services
from souverain.storage.database import Database

logger = logging.getLogger(__name__)


def build_backends(settings: Settings) -> dict[str, Backend]:
    """Instantiate every configured backend (nothing is loaded until ``start``)."""
    return {name: registry.build(name, cfg, settings) for name, cfg in settings.backends.items()}


def _anonymous(settings: Settings) -> Principal | None:
    if settings.governance.auth_required:
        return None
    logger.warning("authentication is switched off: every request runs as the anonymous development use case")
    return development_principal([m.name for m in settings.models])


def build_pipeline(database: Database, limiter: Limiter, events: EventSink) -> Pipeline:
    """The stages around every model call; ``after`` hooks run in reverse (events last)."""
    return Pipeline([EventStage(events), UsageStage(database.sessions), AccessStage(), QuotaStage(limiter)])


def create_app(
    settings: Settings,
    backends: dict[str, Backend] | None = None,
    events: EventSink | None = None,
    limiter: Limiter | None = None,
) -> FastAPI:
    """Build the ASGI application; ``backends``, ``events`` and ``limiter`` replace the configured ones."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        database = Database(settings.resolved_database_url)
        await asyncio.to_thread(database.migrate)
        active = backends if backends is not None else build_backends(settings)
        board = HealthBoard(settings.routing)
        quotas = limiter if limiter is not None else build_limiter(settings.governance)
        sink = events if events is not None else LogSink()
        pipeline = build_pipeline(database, quotas, sink)
        try:
            await asyncio.gather(*(b.start() for b in active.values()))
            await check_health(active, board)
            router = Router(settings.models, active, board)
            app.state.services = Services(
                settings=settings,
                backends=active,
                router=router,
                chat=ChatService(router, settings.server, pipeline),
                embeddings=EmbeddingsService(router, settings.server, pipeline),
                database=database,
                authenticator=KeyAuthenticator(database.sessions),
                limiter=quotas,
                events=sink,
                anonymous=_anonymous(settings),
            )
            checker = asyncio.create_task(health_loop(active, board, settings.routing.health_interval))
            try:
                yield
            finally:
                checker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await checker
        finally:
            await asyncio.gather(*(b.close() for b in active.values()), return_exceptions=True)
            await quotas.close()
            database.close()

    app = FastAPI(title="souverain", version="0.1.0", lifespan=lifespan, docs_url="/docs", redoc_url=None)
    errors.install(app)
    app.include_router(health.router)
    app.include_router(openai_routes.router)
    app.include_router(admin_routes.router)
    app.add_middleware(BodyLimitMiddleware, limit=settings.server.max_body_bytes)
    app.add_middleware(RequestIdMiddleware)
    return app
