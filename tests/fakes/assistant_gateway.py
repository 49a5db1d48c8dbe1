"""The real application with the assistant wired in, its model a fake OpenAI server on loopback and its
knowledge base an in-memory retriever; for the assistant's API tests.

    async with assistant_gateway(tmp_path, upstream, retriever) as gw:
        key = gw.provision()
        reply = await gw.chat(key.key, message="...")
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
from fastapi import FastAPI
from sqlalchemy import select, update

from souverain.api import assistant_routes
from souverain.app import create_app
from souverain.assistant.factory import build_assistant
from souverain.assistant.service import AssistantOptions, AssistantService
from souverain.events import Event, MemorySink
from souverain.governance.models import UsageRecord, UseCase
from souverain.governance.quota_memory import InMemoryLimiter
from souverain.knowledge.types import Retriever
from souverain.privacy.subject_record import SubjectRecorder
from souverain.settings import (
    AssistantSettings,
    BackendSettings,
    GovernanceSettings,
    ModelSettings,
    RouteSettings,
)
from souverain.state import Services
from tests.conftest import fake_settings
from tests.fakes.upstream import FakeUpstream
from tests.governance_fixtures import Provisioned, provision

NOTICES = {
    "fr": "Vous échangez avec une IA.",
    "de": "Sie sprechen mit einer KI.",
    "en": "You are talking to an AI.",
    "lb": "Dir schwätzt mat enger KI.",
}


class FailingSink(MemorySink):
    """Refuses the events whose action is in ``refuse`` (the audit store is down for them)."""

    def __init__(self) -> None:
        super().__init__()
        self.refuse: set[str] = set()

    async def emit(self, event: Event) -> None:
        if event.action in self.refuse:
            raise RuntimeError("event store unavailable")
        await super().emit(event)


def parse_sse(body: str) -> list[tuple[str, Any]]:
    """``(event name, decoded data)`` of each server-sent event in ``body``."""
    events = []
    for block in body.strip().split("\n\n"):
        name, data = "message", ""
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                data += line[len("data: ") :]
        events.append((name, data if data == "[DONE]" else orjson.loads(data)))
    return events


class AssistantGateway:
    def __init__(self, app: FastAPI, client: httpx.AsyncClient, sink: FailingSink, upstream: FakeUpstream):
        self.app, self.client, self.sink, self.upstream = app, client, sink, upstream

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    @property
    def assistant(self) -> AssistantService:
        return assistant_routes.assistant_of(self.services)

    def provision(self, **kwargs: Any) -> Provisioned:
        """A key (app, or staff with ``role``); its use case may call chat-fake, notices in 4 languages."""
        kwargs.setdefault("allowed_models", ["chat-fake"])
        kwargs.setdefault("ceiling", "internal")
        key = provision(self.services.database.sessions, **kwargs)
        if key.use_case_id is not None:
            self.set_notices(key.use_case_id, NOTICES)
        return key

    def set_notices(self, use_case_id: int, notices: dict[str, str]) -> None:
        with self.services.database.sessions() as session:
            session.execute(
                update(UseCase).where(UseCase.id == use_case_id).values(transparency_notice=notices)
            )
            session.commit()

    async def chat(self, key: str, **body: Any) -> httpx.Response:
        return await self.client.post(
            "/v1/assistant/chat", json=body, headers={"Authorization": f"Bearer {key}"}
        )

    async def stream(self, key: str, **body: Any) -> list[tuple[str, Any]]:
        response = await self.chat(key, stream=True, **body)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/event-stream")
        return parse_sse(response.text)

    async def usage(self) -> list[UsageRecord]:
        await self.services.usage.flush()
        with self.services.database.sessions() as session:
            return list(session.scalars(select(UsageRecord).order_by(UsageRecord.id)))

    def actions(self) -> list[str]:
        return [event.action for event in self.sink.events]

    def last_prompt(self) -> list[dict[str, Any]]:
        """The messages of the last chat request the fake model received."""
        chats = [r for r in self.upstream.requests if r.path == "/v1/chat/completions"]
        messages: list[dict[str, Any]] = chats[-1].json["messages"]
        return messages


def wire_assistant(app: FastAPI, retriever: Retriever, options: AssistantOptions) -> None:
    """What the application factory does for the assistant (router, service on ``Services``)."""
    if not any(getattr(route, "path", None) == "/v1/assistant/chat" for route in app.routes):
        app.include_router(assistant_routes.router)
    services: Services = app.state.services
    privacy = services.privacy
    budget = services.settings.privacy.detection_budget_ms
    recorder = SubjectRecorder(services.detector, privacy.subjects, privacy.links, budget)
    assistant = build_assistant(
        services.database, services.chat, services.events, retriever, recorder, privacy.texts, options
    )
    object.__setattr__(services, "assistant", assistant)  # the field the lead adds to Services


@contextlib.asynccontextmanager
async def assistant_gateway(
    tmp_path: Path,
    upstream: FakeUpstream,
    retriever: Retriever,
    options: AssistantOptions | None = None,
    public_use_case: str | None = None,
) -> AsyncIterator[AssistantGateway]:
    """The governed application (keys required, except for the citizen page's ``public_use_case``) with the
    assistant calling ``chat-fake`` on ``upstream``."""
    route = RouteSettings(backend="upstream")
    settings = fake_settings(
        tmp_path,
        governance=GovernanceSettings(auth_required=True),
        backends={"upstream": BackendSettings(kind="openai", base_url=upstream.base_url)},
        models=[ModelSettings(name="chat-fake", routes=[route], max_output_tokens=400)],
        assistant=AssistantSettings(model="chat-fake", public_use_case=public_use_case),
    )
    sink = FailingSink()
    app = create_app(settings, events=sink, limiter=InMemoryLimiter(clock=lambda: 1_800_000_000.0))
    async with app.router.lifespan_context(app):
        wire_assistant(app, retriever, options or AssistantOptions(model="chat-fake"))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://souverain.test") as client:
            yield AssistantGateway(app, client, sink, upstream)
