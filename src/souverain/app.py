"""The application factory: everything is built from settings in the lifespan and put on app.state."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from souverain.api import (
    admin_routes,
    assistant_routes,
    audit_routes,
    errors,
    gdpr_routes,
    health,
    knowledge_routes,
    openai_routes,
    privacy_routes,
)
from souverain.api.middleware import BodyLimitMiddleware, RequestIdMiddleware
from souverain.assistant.factory import build_assistant
from souverain.assistant.service import AssistantOptions, AssistantService
from souverain.audit.runtime import AuditRuntime
from souverain.backends import registry
from souverain.backends.base import Backend
from souverain.events import EventSink
from souverain.gateway.chat import ChatService
from souverain.gateway.embeddings import EmbeddingsService
from souverain.gdpr.redaction import Redactor
from souverain.gdpr.rights import SubjectRights
from souverain.gdpr.sources import conversation_source, standard_sources
from souverain.gdpr.sweeper import Purge, RetentionSweeper
from souverain.governance import demo
from souverain.governance.auth import KeyAuthenticator
from souverain.governance.principal import Principal, development_principal
from souverain.governance.quota_factory import build_limiter
from souverain.governance.quotas import Limiter
from souverain.knowledge.service import build_knowledge_service, retrieval_config
from souverain.pipeline.access import AccessStage
from souverain.pipeline.events import EventStage
from souverain.pipeline.privacy import PrivacyStage
from souverain.pipeline.quota import QuotaStage
from souverain.pipeline.stage import Pipeline, Stage
from souverain.pipeline.usage import UsageStage, UsageWriter
from souverain.privacy.detector import Detector
from souverain.privacy.stores import PrivacyStores, open_privacy_stores
from souverain.privacy.subject_record import SubjectRecorder
from souverain.routing.health import HealthBoard, check_health, health_loop
from souverain.routing.router import Router
from souverain.settings import Settings
from souverain.state import Services
from souverain.storage.database import Database
from souverain.web import mount_web

logger = logging.getLogger(__name__)


def build_backends(settings: Settings) -> dict[str, Backend]:
    """Instantiate every configured backend (nothing is loaded until ``start``)."""
    return {name: registry.build(name, cfg, settings) for name, cfg in settings.backends.items()}


def _anonymous(settings: Settings) -> Principal | None:
    if settings.governance.auth_required:
        return None
    logger.warning("authentication is switched off: every request runs as the anonymous development use case")
    return development_principal([m.name for m in settings.models])


def build_pipeline(
    usage: UsageWriter,
    limiter: Limiter,
    events: EventSink,
    privacy: PrivacyStage,
    audit: AuditRuntime | None,
) -> Pipeline:
    """The stages around every model call; ``after`` hooks run in reverse (events last)."""
    digest = audit.keys.content_digest if audit is not None else None
    stages: list[Stage] = [
        EventStage(events, digest),
        UsageStage(usage),
        AccessStage(),
        QuotaStage(limiter),
        privacy,  # last before routing: it rewrites what the backend receives
    ]
    return Pipeline(stages)


async def open_events(
    settings: Settings, database: Database, events: EventSink | None
) -> tuple[EventSink, AuditRuntime | None]:
    """The given sink (tests), or the durable audit trail."""
    if events is not None:
        return events, None
    audit = await asyncio.to_thread(AuditRuntime.open, settings, database)
    return audit.sink, audit


def assistant_options(settings: Settings) -> AssistantOptions:
    """The assistant's model, default collections, prompt size and home countries, from the settings."""
    assistant = settings.assistant
    return AssistantOptions(
        model=assistant.model,
        collections=tuple(assistant.collections),
        source_chars=tuple(assistant.source_chars),
        context_chars=assistant.context_chars,
        home_countries=frozenset(assistant.home_countries),
        translate_languages=tuple(assistant.translate_questions),
    )


def build_rights(
    audit: AuditRuntime | None,
    stores: PrivacyStores,
    detector: Detector,
    database: Database,
    assistant: AssistantService,
) -> SubjectRights | None:
    """Subject access and erasure over every store; they need the audit trail to record themselves."""
    if audit is None:
        return None
    sources = [
        *standard_sources(stores, database.sessions),
        conversation_source(assistant.conversations, database, Redactor(detector, stores.subjects)),
    ]
    return SubjectRights(audit.store, stores.subjects, stores.links, detector, sources)


def build_sweeper(
    settings: Settings, stores: PrivacyStores, assistant: AssistantService, events: EventSink
) -> RetentionSweeper | None:
    """The scheduled deletion of expired personal data (None when ``privacy.purge_interval_s`` is 0)."""
    interval = settings.privacy.purge_interval_s
    if not interval:
        return None
    purges = [
        Purge("conversations", assistant.conversations.purge_expired),
        Purge("vaults", stores.vault.purge_expired),
        Purge("subject_links", stores.links.purge_expired),
    ]
    return RetentionSweeper(purges, events, interval)


def create_app(
    settings: Settings,
    backends: dict[str, Backend] | None = None,
    events: EventSink | None = None,
    limiter: Limiter | None = None,
    detector: Detector | None = None,
) -> FastAPI:
    """Build the ASGI application; ``backends``, ``events``, ``limiter`` and ``detector`` replace the
    configured ones."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        database = Database(settings.resolved_database_url)
        await asyncio.to_thread(database.migrate)
        active = backends if backends is not None else build_backends(settings)
        board = HealthBoard(settings.routing)
        quotas = limiter if limiter is not None else build_limiter(settings.governance)
        sink, audit = await open_events(settings, database, events)
        usage = UsageWriter(database.sessions)
        usage.start()
        try:
            # the name model takes a fraction of a second to load: once, off the event loop
            pii = detector if detector is not None else await asyncio.to_thread(Detector)
            stores = await asyncio.to_thread(open_privacy_stores, settings, database)
            privacy = PrivacyStage(pii, stores.vault, settings.privacy, active, stores.subjects, stores.links)
            pipeline = build_pipeline(usage, quotas, sink, privacy, audit)
            await asyncio.gather(*(b.start() for b in active.values()))
            await check_health(active, board)
            router = Router(settings.models, active, board)
            chat = ChatService(router, settings.server, pipeline)
            # its sentence encoder loads on first use
            knowledge = build_knowledge_service(database, retrieval=retrieval_config(settings.knowledge))
            recorder = SubjectRecorder(
                pii, stores.subjects, stores.links, settings.privacy.detection_budget_ms
            )
            assistant = build_assistant(
                database, chat, sink, knowledge, recorder, stores.texts, assistant_options(settings)
            )
            app.state.services = Services(
                settings=settings,
                backends=active,
                router=router,
                chat=chat,
                embeddings=EmbeddingsService(router, settings.server, pipeline),
                database=database,
                authenticator=KeyAuthenticator(database.sessions),
                limiter=quotas,
                events=sink,
                usage=usage,
                audit=audit,
                detector=pii,
                vault=stores.vault,
                privacy=stores,
                rights=build_rights(audit, stores, pii, database, assistant),
                knowledge=knowledge,
                assistant=assistant,
                anonymous=_anonymous(settings),
            )
            loops = [health_loop(active, board, settings.routing.health_interval)]
            sweeper = build_sweeper(settings, stores, assistant, sink)
            if sweeper is not None:
                loops.append(sweeper.run())
            tasks = [asyncio.create_task(loop) for loop in loops]
            if audit is not None:
                audit.start()
            try:
                yield
            finally:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
        finally:
            await asyncio.gather(*(b.close() for b in active.values()), return_exceptions=True)
            await quotas.close()
            await usage.close()
            if audit is not None:
                await audit.close()
            database.close()

    app = FastAPI(title="souverain", version="0.1.0", lifespan=lifespan, docs_url="/docs", redoc_url=None)
    errors.install(app)
    app.include_router(health.router)
    app.include_router(openai_routes.router)
    app.include_router(admin_routes.router)
    app.include_router(audit_routes.router)
    app.include_router(privacy_routes.router)
    app.include_router(gdpr_routes.router)
    app.include_router(assistant_routes.router)
    app.include_router(knowledge_routes.router)
    public = settings.assistant.public_use_case
    mount_web(app, notices=demo.NOTICES if public == demo.REFERENCE else None)
    app.add_middleware(errors.UnexpectedErrorMiddleware)  # innermost: the request id is still set
    app.add_middleware(BodyLimitMiddleware, limit=settings.server.max_body_bytes)
    app.add_middleware(RequestIdMiddleware)
    return app
