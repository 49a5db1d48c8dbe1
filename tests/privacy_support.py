"""A governed gateway over fake backends for the privacy tests, and the canary's personal data."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from souverain.app import build_backends, create_app
from souverain.backends.base import Backend
from souverain.backends.fake import FakeBackend
from souverain.events import MemorySink
from souverain.privacy.detector import Detector
from souverain.settings import (
    BackendSettings,
    Classification,
    GovernanceSettings,
    ModelSettings,
    RouteSettings,
    Settings,
    Zone,
)
from souverain.state import Services
from tests.conftest import TEST_PRIVACY
from tests.governance_fixtures import Provisioned, provision

NAME = "Marie Dupont"
MATRICULE = "1893120105732"
IBAN = "LU28 0019 4006 4475 0000"
PHONE = "+352 621 123 456"
EMAIL = "marie.dupont@example.lu"
CANARY = (
    f"Bonjour, je m'appelle {NAME}. Mon matricule est {MATRICULE}, mon IBAN {IBAN}, "
    f"mon téléphone {PHONE} et mon adresse {EMAIL}."
)


def clear_forms() -> list[str]:
    """Every spelling of the canary values that must never appear where it should not."""
    values = [NAME, MATRICULE, IBAN, PHONE, EMAIL]
    compact = [v.replace(" ", "") for v in values]
    return sorted({*values, *compact, "Dupont", "0019 4006 4475", "621 123 456", "621123456"})


def leaks(text: str) -> list[str]:
    """The canary values found in ``text``."""
    return [value for value in clear_forms() if value in text]


def privacy_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Authentication on; an on-prem fake that echoes the last user message, and an external one."""
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "governance": GovernanceSettings(auth_required=True),
        "privacy": TEST_PRIVACY,
        "backends": {
            "fake": BackendSettings(kind="fake", reply="Réponse : {echo}"),
            "outside": BackendSettings(
                kind="fake", reply="Answer: {echo}", zone=Zone.EXTERNAL, clearance=Classification.PUBLIC
            ),
        },
        "models": [
            ModelSettings(name="chat-fake", routes=[RouteSettings(backend="fake")], max_output_tokens=100),
            ModelSettings(
                name="chat-mixed",
                routes=[RouteSettings(backend="fake"), RouteSettings(backend="outside", priority=1)],
                max_output_tokens=100,
            ),
            ModelSettings(name="embed-fake", type="embeddings", routes=[RouteSettings(backend="fake")]),
        ],
    }
    values.update(overrides)
    return Settings(**values)


class SplittingBackend(FakeBackend):
    """The fake, streaming its reply ``size`` characters per chunk (placeholders end up split)."""

    size = 3

    async def stream(self, payload: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        async for chunk in super().stream(payload):
            choices = chunk.get("choices") or []
            content = choices[0].get("delta", {}).get("content") if choices else None
            if not content:
                yield chunk
                continue
            for start in range(0, len(content), self.size):
                piece = json.loads(json.dumps(chunk))
                piece["choices"][0]["delta"]["content"] = content[start : start + self.size]
                yield piece


@dataclass
class Gateway:
    app: FastAPI
    client: httpx.AsyncClient
    sink: MemorySink

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    def backend(self, name: str = "fake") -> FakeBackend:
        backend = self.services.backends[name]
        assert isinstance(backend, FakeBackend)
        return backend

    def provision(self, **kwargs: Any) -> Provisioned:
        models = ["chat-fake", "chat-mixed", "embed-fake"]
        return provision(self.services.database.sessions, allowed_models=models, **kwargs)

    async def key(self, policy: str = "pseudonymize", block: Iterable[str] = (), name: str = "uc") -> str:
        """An app key whose use case has ``policy``, set through the admin API."""
        app_key = self.provision(use_case=name)
        admin = self.provision(use_case=f"{name}-admin", role="admin")
        changes = {"privacy_policy": policy, "privacy_block_types": list(block)}
        r = await self.client.patch(
            f"/admin/use-cases/{app_key.use_case_id}", json=changes, headers=bearer(admin.key)
        )
        assert r.status_code == 200, r.text
        assert (r.json()["privacy_policy"], r.json()["privacy_block_types"]) == (policy, sorted(block))
        return app_key.key

    async def chat(self, key: str, text: str, **options: Any) -> httpx.Response:
        headers = {**bearer(key), **options.pop("headers", {})}
        body = {"model": "chat-fake", "messages": [{"role": "user", "content": text}], **options}
        return await self.client.post("/v1/chat/completions", json=body, headers=headers)

    async def stream(self, key: str, text: str, **options: Any) -> tuple[httpx.Response, str]:
        """The response and the content it streamed."""
        headers = {**bearer(key), **options.pop("headers", {})}
        body = {"model": "chat-fake", "messages": [{"role": "user", "content": text}], "stream": True}
        async with self.client.stream(
            "POST", "/v1/chat/completions", json={**body, **options}, headers=headers
        ) as r:
            lines = [line async for line in r.aiter_lines() if line.startswith("data: ")]
        assert lines[-1] == "data: [DONE]", lines[-3:]
        chunks = [json.loads(line[len("data: ") :]) for line in lines[:-1]]
        text_out = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices"))
        return r, text_out


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@asynccontextmanager
async def gateway(
    settings: Settings,
    detector: Detector | None = None,
    backends: dict[str, Backend] | None = None,
    sink: MemorySink | None = None,
    durable_events: bool = False,
) -> AsyncIterator[Gateway]:
    """The real app over ASGITransport; events in memory, or in the audit trail when ``durable_events``."""
    sink = sink if sink is not None else MemorySink()
    events = None if durable_events else sink
    app = create_app(settings, backends=backends, events=events, detector=detector)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://souverain.test") as client:
            yield Gateway(app, client, sink)


def splitting_backends(settings: Settings) -> dict[str, Backend]:
    """The configured backends with the on-prem fake replaced by a ``SplittingBackend``."""
    backends = build_backends(settings)
    backends["fake"] = SplittingBackend("fake", settings.backends["fake"], settings)
    return backends
