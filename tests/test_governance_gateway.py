"""The governed request path: keys, use-case model allow-lists, trust zones, quotas, usage and events."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from souverain.app import create_app
from souverain.events import Event, MemorySink
from souverain.governance.models import UsageRecord
from souverain.governance.quota_memory import InMemoryLimiter
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
from tests.conftest import fake_settings
from tests.fakes.upstream import FakeUpstream, closed_base_url
from tests.governance_fixtures import Provisioned, provision, revoke

pytestmark = pytest.mark.anyio
pytest_plugins = ["tests.fakes.fixtures"]

Factory = Callable[..., FakeUpstream]
CHAT: dict[str, Any] = {
    "model": "chat-fake",
    "messages": [{"role": "user", "content": "Bonjour"}],
    "max_tokens": 20,
}


def governed(tmp_path: Path, **overrides: Any) -> Settings:
    return fake_settings(tmp_path, governance=GovernanceSettings(auth_required=True), **overrides)


class Gateway:
    def __init__(self, app: FastAPI, client: httpx.AsyncClient, sink: MemorySink) -> None:
        self.app, self.client, self.sink = app, client, sink

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    def provision(self, **kwargs: Any) -> Provisioned:
        return provision(self.services.database.sessions, **kwargs)

    async def usage(self) -> list[UsageRecord]:
        await self.services.usage.flush()
        with self.services.database.sessions() as session:
            return list(session.scalars(select(UsageRecord).order_by(UsageRecord.id)))

    async def chat(
        self, key: str, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        all_headers = {"Authorization": f"Bearer {key}", **(headers or {})}
        return await self.client.post("/v1/chat/completions", json=body or CHAT, headers=all_headers)


def _frozen_clock() -> float:
    """Quota windows are fixed UTC minutes: a frozen clock keeps each test inside one window."""
    return 1_800_000_000.0


async def _gateway(settings: Settings, sink: MemorySink | None = None) -> AsyncIterator[Gateway]:
    sink = sink or MemorySink()
    app = create_app(settings, events=sink, limiter=InMemoryLimiter(clock=_frozen_clock))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://souverain.test") as client:
            yield Gateway(app, client, sink)


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async for gateway in _gateway(governed(tmp_path)):
        yield gateway


async def test_requests_without_a_valid_key_are_refused(gw: Gateway) -> None:
    r = await gw.client.post("/v1/chat/completions", json=CHAT)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "missing_api_key"
    r = await gw.chat("souv_aaaaaaaaaaaa_not-the-secret")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_api_key"
    valid = gw.provision()
    r = await gw.chat(valid.key[:-2] + "xx")
    assert r.status_code == 401
    # the scheme is case-insensitive (RFC 9110); another scheme or an empty token is no key
    for header, status in ((f"bearer {valid.key}", 200), (f"BEARER  {valid.key}", 200), ("Bearer ", 401)):
        r = await gw.client.post("/v1/chat/completions", json=CHAT, headers={"Authorization": header})
        assert r.status_code == status, header
    r = await gw.client.post(
        "/v1/chat/completions", json=CHAT, headers={"Authorization": f"Basic {valid.key}"}
    )
    assert r.json()["error"]["code"] == "missing_api_key"


async def test_key_lifecycle_use_expire_revoke(gw: Gateway) -> None:
    key = gw.provision()
    assert (await gw.chat(key.key)).status_code == 200
    revoke(gw.services.database.sessions, key.key_id)
    r = await gw.chat(key.key)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "revoked_api_key"
    expired = gw.provision(use_case="expired", expires_at=datetime.now(UTC) - timedelta(seconds=1))
    r = await gw.chat(expired.key)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "expired_api_key"


async def test_use_case_decides_which_models_may_be_called(gw: Gateway) -> None:
    key = gw.provision(allowed_models=["embed-fake"])
    r = await gw.chat(key.key)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "model_not_allowed"
    models = await gw.client.get("/v1/models", headers={"Authorization": f"Bearer {key.key}"})
    assert [m["id"] for m in models.json()["data"]] == ["embed-fake"]
    admin = gw.provision(use_case="admin-uc", role="admin")
    r = await gw.chat(admin.key)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "insufficient_role"


async def test_usage_record_and_event_per_request_without_content(gw: Gateway) -> None:
    key = gw.provision()
    secret_text = "Mon matricule est 1893120105732"
    body = {**CHAT, "messages": [{"role": "user", "content": secret_text}]}
    r = await gw.chat(key.key, body)
    assert r.status_code == 200
    [record] = await gw.usage()
    assert (record.tenant, record.use_case, record.key_prefix) == ("ministry", "assistant", key.prefix)
    assert (record.model, record.backend, record.zone, record.status) == ("chat-fake", "fake", "on_prem", 200)
    assert record.completion_tokens > 0
    assert record.prompt_tokens > 0
    assert record.request_id == r.headers["x-request-id"]
    [event] = gw.sink.events
    assert (event.action, event.outcome, event.actor) == ("chat.completion", "success", key.prefix)
    assert "1893120105732" not in repr(event)
    assert all("1893120105732" not in str(v) for v in vars(record).values())


async def test_refusals_are_recorded_too(gw: Gateway) -> None:
    key = gw.provision(allowed_models=["embed-fake"])
    await gw.chat(key.key)
    [record] = await gw.usage()
    assert (record.status, record.outcome, record.backend) == (403, "refused", None)
    assert gw.sink.events[-1].outcome == "refused"


async def test_rate_limit_gives_429_with_retry_after_and_the_limit_named(gw: Gateway) -> None:
    key = gw.provision(use_case_quotas={"requests_per_minute": 2})
    assert [(await gw.chat(key.key)).status_code for _ in range(2)] == [200, 200]
    r = await gw.chat(key.key)
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) >= 1
    assert "requests per minute of the use case" in r.json()["error"]["message"]


async def test_token_budget_counts_real_tokens(gw: Gateway) -> None:
    # Each call reserves its estimate (2 prompt + 10 output) but really costs 6 tokens (1 + a 5-word reply):
    # a budget of 30 admits 4 calls (24 real tokens), then the 12-token reservation no longer fits.
    key = gw.provision(key_quotas={"tokens_per_minute": 30})
    statuses = [(await gw.chat(key.key, {**CHAT, "max_tokens": 10})).status_code for _ in range(6)]
    assert statuses == [200] * 4 + [429] * 2
    assert sum(r.prompt_tokens + r.completion_tokens for r in (await gw.usage()) if r.status == 200) == 24


class FailingSink:
    async def emit(self, event: Event) -> None:
        raise OSError("disk full")


async def test_event_store_failure_refuses_the_request(tmp_path: Path) -> None:
    settings = governed(tmp_path)
    app = create_app(settings, events=FailingSink())
    async with app.router.lifespan_context(app):
        key = provision(app.state.services.database.sessions)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            r = await client.post(
                "/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {key.key}"}
            )
            assert r.status_code == 503
            assert r.json()["error"]["code"] == "event_store_unavailable"
            assert "Bonjour, je suis" not in r.text
            body = {**CHAT, "stream": True}
            async with client.stream(
                "POST", "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key.key}"}
            ) as s:
                lines = [line async for line in s.aiter_lines() if line]
            assert "data: [DONE]" not in lines
            assert "event_store_unavailable" in lines[-1]


def zoned_settings(tmp_path: Path, onprem_url: str, external_url: str) -> Settings:
    """A model preferring an external backend (cleared for public data only) over an on-premise one."""
    return governed(
        tmp_path,
        backends={
            "external": BackendSettings(
                kind="openai", base_url=external_url, zone=Zone.EXTERNAL, clearance=Classification.PUBLIC
            ),
            "onprem": BackendSettings(kind="openai", base_url=onprem_url, connect_timeout=0.5),
        },
        models=[
            ModelSettings(
                name="chat-fake",
                routes=[
                    RouteSettings(backend="external", priority=0),
                    RouteSettings(backend="onprem", priority=1),
                ],
            ),
            ModelSettings(name="external-only", routes=[RouteSettings(backend="external")]),
        ],
    )


async def test_confidential_data_never_reaches_an_external_backend(
    tmp_path: Path, upstreams: Factory
) -> None:
    external, onprem = upstreams(), upstreams()
    async for gw in _gateway(zoned_settings(tmp_path, onprem.base_url, external.base_url)):
        key = gw.provision(ceiling="confidential", allowed_models=["chat-fake", "external-only"])
        r = await gw.chat(key.key)
        assert r.status_code == 200
        assert (r.headers["x-souverain-zone"], r.headers["x-souverain-classification"]) == (
            "on_prem",
            "confidential",
        )
        assert (onprem.count(), external.count()) == (1, 0)
        # Lowered by the header to public, the preferred external backend may serve it.
        r = await gw.chat(key.key, headers={"X-Data-Classification": "public"})
        assert r.headers["x-souverain-zone"] == "external"
        assert external.count() == 1
        # Never raised above the ceiling.
        r = await gw.chat(key.key, headers={"X-Data-Classification": "secret"})
        assert r.status_code == 403
        # A model whose only backend is external is refused outright for confidential data.
        r = await gw.chat(key.key, {**CHAT, "model": "external-only"})
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "no_cleared_backend"
        assert external.count() == 1


async def test_confidential_fails_closed_when_every_on_prem_backend_is_down(
    tmp_path: Path, upstreams: Factory
) -> None:
    external = upstreams()
    async for gw in _gateway(zoned_settings(tmp_path, closed_base_url(), external.base_url)):
        key = gw.provision(ceiling="confidential")
        for stream in (False, True):
            r = await gw.chat(key.key, {**CHAT, "stream": stream})
            assert r.status_code == 503
        assert external.count() == 0
        assert external.requests == [] or all(req.path == "/v1/models" for req in external.requests)


async def test_streaming_usage_is_accounted(tmp_path: Path, upstreams: Factory) -> None:
    upstream = upstreams(reply="un deux trois quatre cinq six")
    settings = governed(
        tmp_path,
        backends={"up": BackendSettings(kind="openai", base_url=upstream.base_url)},
        models=[ModelSettings(name="chat-fake", routes=[RouteSettings(backend="up")])],
    )
    async for gw in _gateway(settings):
        key = gw.provision()
        body = {**CHAT, "stream": True}
        async with gw.client.stream(
            "POST", "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key.key}"}
        ) as r:
            lines = [line async for line in r.aiter_lines() if line]
        assert lines[-1] == "data: [DONE]"
        assert not any('"usage"' in line for line in lines)  # not asked for: not relayed
        [record] = await gw.usage()
        assert record.completion_tokens == 6
        assert record.ttft_ms is not None
        assert upstream.requests[-1].json["stream_options"] == {"include_usage": True}


async def test_key_failures_and_role_refusals_are_events(gw: Gateway) -> None:
    key = gw.provision()
    wrong = key.key[:-3] + "zzz"
    await gw.chat(wrong)
    failure = gw.sink.events[-1]
    assert (failure.action, failure.outcome, failure.status, failure.actor) == (
        "auth.failure",
        "refused",
        401,
        key.prefix,
    )
    assert wrong not in repr(failure)
    await gw.client.get("/admin/tenants", headers={"Authorization": f"Bearer {key.key}"})
    refusal = gw.sink.events[-1]
    assert (refusal.action, refusal.status, refusal.actor) == ("auth.forbidden", 403, key.prefix)
