"""The admin API through the real app (ASGI), with real keys issued by the registry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from souverain.app import create_app
from souverain.events import Event, MemorySink
from souverain.governance.models import ApiKey, Tenant, UseCase
from souverain.governance.principal import Role
from souverain.governance.registry import Actor, Registry
from souverain.governance.schemas import KeyCreate, TenantCreate, UseCaseCreate
from souverain.settings import GovernanceSettings, Settings
from souverain.state import Services
from tests.conftest import fake_settings

pytestmark = pytest.mark.anyio

SETUP = Actor(name="test-setup", request_id="setup")
USE_CASE: dict[str, Any] = {
    "name": "assistant",
    "purpose": "Answer citizens' questions about public services.",
    "legal_basis": "GDPR Art. 6(1)(e)",
    "category": "citizen_information_assistant",
    "classification_ceiling": "internal",
    "allowed_models": ["chat-fake"],
    "retention_days": 30,
}


def build_app(settings: Settings, events: Any) -> FastAPI:
    return create_app(settings, events=events)


@dataclass
class Admin:
    client: httpx.AsyncClient
    services: Services
    events: MemorySink
    keys: dict[str, str]  # role -> full key

    def as_(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def counts(self) -> tuple[int, int, int]:
        with self.services.database.sessions() as session:
            return tuple(  # type: ignore[return-value]
                session.scalar(select(func.count()).select_from(t)) for t in (Tenant, UseCase, ApiKey)
            )


async def issue_keys(services: Services) -> dict[str, str]:
    """One key per role, with the seed use case for the app key (setup events go to a side sink)."""
    registry = Registry(services.database.sessions, services.settings, MemorySink())
    await registry.create_tenant(TenantCreate(name="seed"), SETUP)
    await registry.create_use_case("seed", UseCaseCreate.model_validate(USE_CASE), SETUP)
    keys = {}
    for role in Role:
        use_case = "seed/assistant" if role is Role.APP else None
        created = await registry.create_key(KeyCreate(role=role, use_case=use_case, name=role.value), SETUP)
        keys[role.value] = created.key
    return keys


@pytest.fixture
async def admin(tmp_path: Path) -> AsyncIterator[Admin]:
    settings = fake_settings(tmp_path, governance=GovernanceSettings(auth_required=True))
    events = MemorySink()
    app = build_app(settings, events)
    async with app.router.lifespan_context(app):
        services: Services = app.state.services
        keys = await issue_keys(services)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://souverain.test") as client:
            yield Admin(client, services, events, keys)


def admin_events(events: MemorySink) -> list[Event]:
    return [e for e in events.events if e.action.startswith("admin.")]


async def test_roles(admin: Admin) -> None:
    c = admin.client
    r = await c.get("/admin/tenants")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "missing_api_key"
    r = await c.get("/admin/tenants", headers=admin.as_("app"))
    assert (r.status_code, r.json()["error"]["code"]) == (403, "insufficient_role")
    r = await c.get("/admin/tenants", headers=admin.as_("auditor"))
    assert r.status_code == 200
    assert [t["name"] for t in r.json()] == ["seed"]
    before = admin.counts()
    for method, path, body in (
        ("POST", "/admin/tenants", {"name": "mfin"}),
        ("POST", "/admin/tenants/seed/use-cases", USE_CASE | {"name": "x"}),
        ("POST", "/admin/keys", {"role": "admin"}),
        ("DELETE", "/admin/tenants/seed", None),
    ):
        r = await c.request(method, path, json=body, headers=admin.as_("auditor"))
        assert r.status_code == 403, (path, r.text)
    assert admin.counts() == before
    assert admin_events(admin.events) == []
    r = await c.get("/admin/backends", headers=admin.as_("operator"))
    assert r.status_code == 200
    [fake] = r.json()
    assert (fake["name"], fake["zone"], fake["clearance"]) == ("fake", "on_prem", "secret")
    assert fake["models"] == ["chat-fake", "embed-fake"]
    assert "status" in fake["health"]
    assert (await c.get("/admin/usage", headers=admin.as_("operator"))).status_code == 200
    assert (await c.get("/admin/tenants", headers=admin.as_("operator"))).status_code == 403


async def test_admin_registers_and_changes_with_events(admin: Admin) -> None:
    c, h = admin.client, admin.as_("admin")
    r = await c.post("/admin/tenants", json={"name": "mfin", "display_name": "Finances"}, headers=h)
    assert r.status_code == 201, r.text
    r = await c.post("/admin/tenants/mfin/use-cases", json=USE_CASE, headers=h)
    assert r.status_code == 201, r.text
    created = r.json()
    assert (created["risk_class"], created["tenant"]) == ("limited", "mfin")
    r = await c.patch(f"/admin/use-cases/{created['id']}", json={"retention_days": 60}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["retention_days"] == 60
    r = await c.get("/admin/tenants/mfin", headers=admin.as_("auditor"))
    assert (r.json()["display_name"], r.json()["use_cases"]) == ("Finances", 1)
    r = await c.get("/admin/use-cases", params={"tenant": "mfin"}, headers=admin.as_("auditor"))
    assert [u["name"] for u in r.json()] == ["assistant"]
    events = admin_events(admin.events)
    assert [e.action for e in events] == [
        "admin.tenant.create",
        "admin.use_case.create",
        "admin.use_case.update",
    ]
    assert events[-1].details == {"use_case_id": created["id"], "changed": ["retention_days"]}
    admin_prefix = admin.keys["admin"][: len("souv_") + 12]
    assert {e.actor for e in events} == {admin_prefix}
    assert all(e.request_id not in ("", "-") for e in events)
    r = await c.delete(f"/admin/use-cases/{created['id']}", headers=h)
    assert r.status_code == 204
    assert (r.content, r.headers.get("content-type")) == (b"", None)  # no body: no content type
    assert (await c.get(f"/admin/use-cases/{created['id']}", headers=h)).status_code == 404
    r = await c.get("/admin/categories", headers=h)
    scoring = next(item for item in r.json() if item["id"] == "social_scoring")
    assert (scoring["registrable"], scoring["legal_reference"]) == (False, "AI Act Art. 5(1)(c)")


async def test_key_lifecycle_through_the_api(admin: Admin) -> None:
    c, h = admin.client, admin.as_("admin")
    r = await c.post("/admin/keys", json={"name": "portal", "use_case": "seed/assistant"}, headers=h)
    assert r.status_code == 201, r.text
    created = r.json()
    app_key, prefix = created["key"], created["prefix"]
    assert all(app_key not in repr(e) for e in admin.events.events)
    r = await c.get("/v1/models", headers={"Authorization": f"Bearer {app_key}"})
    assert r.status_code == 200, r.text
    r = await c.get("/admin/keys", params={"use_case": "seed/assistant"}, headers=admin.as_("auditor"))
    listed = {k["prefix"]: k for k in r.json()}
    assert listed[prefix]["last_used_at"] is not None
    assert not {"key", "salt", "secret_hash"} & set(listed[prefix])
    assert app_key not in r.text
    r = await c.post(f"/admin/keys/{prefix}/revoke", headers=h)
    assert (r.status_code, r.json()["status"]) == (200, "revoked")
    r = await c.get("/v1/models", headers={"Authorization": f"Bearer {app_key}"})
    assert (r.status_code, r.json()["error"]["code"]) == (401, "revoked_api_key")
    r = await c.post(f"/admin/keys/{prefix}/revoke", headers=h)
    assert r.status_code == 409
    r = await c.post("/admin/keys/souv_nosuchkey000/revoke", headers=h)
    assert r.status_code == 404
    r = await c.post("/admin/keys", json={"use_case": "seed/assistant", "expires_in_days": 0}, headers=h)
    assert (r.status_code, r.json()["error"]["param"]) == (400, "expires_in_days")


HUGE = 99999999999999999999999
BAD_INPUT = [
    ("POST", "/admin/tenants", {"name": "mfin", "colour": "blue"}, 400, "colour"),
    ("POST", "/admin/tenants", {"name": "Not A Slug"}, 400, "not a valid name"),
    ("POST", "/admin/tenants", {"name": "seed"}, 409, "already exists"),
    ("POST", "/admin/tenants", {"name": "x", "quotas": {"tokens_per_week": 5}}, 400, "tokens_per_week"),
    ("POST", "/admin/tenants/seed/use-cases", USE_CASE | {"classification_ceiling": "top"}, 400, "ceiling"),
    ("POST", "/admin/tenants/seed/use-cases", USE_CASE | {"unknown": 1}, 400, "unknown"),
    ("POST", "/admin/tenants/seed/use-cases", USE_CASE, 409, "already has a use case"),
    ("POST", "/admin/tenants/seed/use-cases", USE_CASE | {"name": "n", "category": "x"}, 400, "category"),
    (
        "POST",
        "/admin/tenants/seed/use-cases",
        USE_CASE | {"name": "n", "retention_days": 0},
        400,
        "retention",
    ),
    (
        "POST",
        "/admin/tenants/seed/use-cases",
        USE_CASE | {"name": "n", "allowed_models": ["gpt"]},
        400,
        "gpt",
    ),
    ("POST", "/admin/tenants/seed/use-cases", USE_CASE | {"transparency_notice": {"it": "x"}}, 400, "notice"),
    (
        "POST",
        "/admin/tenants/seed/use-cases",
        USE_CASE | {"name": "n", "category": "social_scoring"},
        403,
        "5(1)(c)",
    ),
    (
        "POST",
        "/admin/tenants/seed/use-cases",
        USE_CASE | {"name": "n", "category": "migration_asylum_border"},
        403,
        "dpia_reference",
    ),
    ("POST", "/admin/tenants/nope/use-cases", USE_CASE, 404, "nope"),
    ("PATCH", "/admin/use-cases/{id}", {"category": "predictive_policing_profiling"}, 403, "Art. 5(1)(d)"),
    ("PATCH", "/admin/use-cases/{id}", {"purpose": None}, 400, "cannot be null"),
    ("PATCH", "/admin/use-cases/{id}", {"colour": "blue"}, 400, "colour"),
    ("PATCH", "/admin/use-cases/{id}", {"risk_class": "high"}, 400, "contradicts"),
    ("DELETE", "/admin/use-cases/{id}", None, 409, "key"),
    ("DELETE", "/admin/tenants/seed", None, 409, "use cases"),
    ("POST", "/admin/keys", {"role": "app"}, 400, "use case"),
    ("POST", "/admin/keys", {"role": "admin", "use_case": "seed/assistant"}, 400, "not bound"),
    ("POST", "/admin/keys", {"role": "root"}, 400, "role"),
    # huge ids once reached the database (OverflowError, PostgreSQL's "integer out of range") as 500s
    ("GET", f"/admin/use-cases/{HUGE}", None, 400, "use_case_id"),
    ("PATCH", f"/admin/use-cases/{HUGE}", {"retention_days": 60}, 400, "use_case_id"),
    ("DELETE", f"/admin/use-cases/{HUGE}", None, 400, "use_case_id"),
    ("DELETE", f"/admin/use-cases/{2**31}", None, 400, "2147483647"),
    ("POST", "/admin/keys", {"use_case": HUGE}, 400, "64-bit"),
    ("POST", "/admin/keys", {"use_case": 2**40}, 400, "2147483647"),
    ("POST", "/admin/keys", {"use_case": str(HUGE)}, 400, "2147483647"),
    ("POST", "/admin/keys", rb'{"use_case": "\ud800/x"}', 400, "surrogate"),  # raw: httpx cannot encode it
    # no coercion: true was the use case 1, of another tenant
    ("POST", "/admin/keys", {"use_case": True}, 400, "use_case"),
    ("POST", "/admin/keys", {"use_case": 1.0}, 400, "use_case"),
    ("POST", "/admin/tenants", {"name": "x", "quotas": {"tokens_per_day": "100"}}, 400, "tokens_per_day"),
    ("POST", "/admin/tenants", {"name": "x", "quotas": {"requests_per_minute": True}}, 400, "valid integer"),
    # bounds: what the quota stores hold, and the same cap on both ways of giving an expiry
    ("POST", "/admin/tenants", {"name": "x", "quotas": {"tokens_per_minute": 10**40}}, 400, "64-bit"),
    ("POST", "/admin/tenants", {"name": "x", "quotas": {"tokens_per_day": 10**16}}, 400, "1000000000000000"),
    ("POST", "/admin/tenants", {"name": "x", "quotas": {"requests_per_minute": 1e23}}, 400, "integer"),
    ("POST", "/admin/keys", {"role": "admin", "expires_at": "9999-12-31T23:59:59Z"}, 400, "3650 days"),
    ("POST", "/admin/keys", {"role": "admin", "expires_at": 1893456000}, 400, "ISO 8601"),
    # text must be visible, and without control characters (line breaks only in long texts)
    ("POST", "/admin/tenants/seed/use-cases", USE_CASE | {"name": "n", "purpose": "   "}, 400, "blank"),
    ("PATCH", "/admin/use-cases/{id}", {"fria_reference": "   "}, 400, "blank"),
    ("PATCH", "/admin/use-cases/{id}", {"legal_basis": "\u200b\u00a0"}, 400, "blank"),
    ("PATCH", "/admin/use-cases/{id}", {"purpose": "Answer\u0000"}, 400, "control characters"),
    ("PATCH", "/admin/use-cases/{id}", {"data_subjects": ["citizens", " \u200b"]}, 400, "data_subjects.1"),
    ("PATCH", "/admin/use-cases/{id}", {"dpia_reference": "DPIA\n1"}, 400, "control characters"),
    ("POST", "/admin/tenants", {"name": "x", "display_name": "Fin\u0000ances"}, 400, "display_name"),
    ("POST", "/admin/keys", {"role": "admin", "name": "probe-k\u0000nul\nnewline"}, 400, "control"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "says"), BAD_INPUT)
async def test_bad_input_changes_nothing(
    admin: Admin, method: str, path: str, body: Any, status: int, says: str
) -> None:
    c, h = admin.client, admin.as_("admin")
    seed_id = (await c.get("/admin/use-cases", headers=h)).json()[0]["id"]
    before = admin.counts()
    [seed_before] = (await c.get("/admin/use-cases", headers=h)).json()
    if isinstance(body, bytes):
        r = await c.request(method, path, content=body, headers=h | {"content-type": "application/json"})
    else:
        r = await c.request(method, path.format(id=seed_id), json=body, headers=h)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert says.lower() in f"{error['message']} {error['param']}".lower(), error
    assert admin.counts() == before
    assert (await c.get("/admin/use-cases", headers=h)).json() == [seed_before]
    assert all(e.outcome == "refused" for e in admin_events(admin.events))


async def test_usage_endpoint_groups_real_requests(admin: Admin) -> None:
    app_key = {"Authorization": f"Bearer {admin.keys['app']}"}
    body = {"model": "chat-fake", "messages": [{"role": "user", "content": "Bonjour"}]}
    for _ in range(2):
        r = await admin.client.post("/v1/chat/completions", json=body, headers=app_key)
        assert r.status_code == 200, r.text
    r = await admin.client.get(
        "/admin/usage", params={"group_by": "tenant,use_case,model,day"}, headers=admin.as_("auditor")
    )
    assert r.status_code == 200, r.text
    [row] = r.json()
    assert (row["tenant"], row["use_case"], row["model"], row["requests"]) == (
        "seed",
        "assistant",
        "chat-fake",
        2,
    )
    assert row["total_tokens"] == row["prompt_tokens"] + row["completion_tokens"] > 0
    r = await admin.client.get("/admin/usage", params={"model": "embed-fake"}, headers=admin.as_("admin"))
    assert r.json()[0]["requests"] == 0
    r = await admin.client.get("/admin/usage", params={"group_by": "week"}, headers=admin.as_("admin"))
    assert (r.status_code, r.json()["error"]["param"]) == (400, "group_by")


BAD_QUERIES = [
    ("/admin/keys", {"use_case": str(HUGE)}, "use_case"),
    ("/admin/usage", {"status": str(HUGE)}, "status"),
    ("/admin/usage", {"since": "9999-12-31T23:59:59-01:00"}, "since"),
    ("/admin/usage", {"until": "0001-01-01T00:00:00+01:00"}, "until"),
    ("/admin/usage", {"since": "0"}, "since"),  # was read as Unix time
    ("/admin/usage", {"since": "2026-02-01", "until": "2026-01-01"}, "until"),
]


@pytest.mark.parametrize(("path", "params", "param"), BAD_QUERIES)
async def test_out_of_range_queries_are_400s(
    admin: Admin, path: str, params: dict[str, str], param: str
) -> None:
    r = await admin.client.get(path, params=params, headers=admin.as_("admin"))
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", param, "invalid_value")


async def test_strict_bodies_keep_what_clients_send(admin: Admin) -> None:
    """Enumerations still take their strings, long texts their line breaks; the longest expiry fits."""
    c, h = admin.client, admin.as_("admin")
    seed_id = (await c.get("/admin/use-cases", headers=h)).json()[0]["id"]
    change = {"purpose": "Answer citizens.\nAnd nothing else.", "human_oversight": "review"}
    r = await c.patch(f"/admin/use-cases/{seed_id}", json=change, headers=h)
    assert (r.status_code, r.json()["human_oversight"]) == (200, "review"), r.text
    latest = (datetime.now(UTC) + timedelta(days=3649)).isoformat()
    r = await c.post("/admin/keys", json={"use_case": seed_id, "expires_at": latest}, headers=h)
    assert (r.status_code, r.json()["use_case"]) == (201, "seed/assistant"), r.text
    r = await c.post("/admin/keys", json={"role": "auditor", "expires_in_days": 3650}, headers=h)
    assert r.status_code == 201, r.text


class BrokenSink:
    async def emit(self, event: Event) -> None:
        raise OSError("audit store down")


async def test_refused_event_means_no_change(tmp_path: Path) -> None:
    settings = fake_settings(tmp_path, governance=GovernanceSettings(auth_required=True))
    app = build_app(settings, BrokenSink())
    async with app.router.lifespan_context(app):
        keys = await issue_keys(app.state.services)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://souverain.test") as c:
            headers = {"Authorization": f"Bearer {keys['admin']}"}
            r = await c.post("/admin/tenants", json={"name": "ghost"}, headers=headers)
            assert (r.status_code, r.json()["error"]["code"]) == (503, "event_store_unavailable")
            r = await c.get("/admin/tenants", headers=headers)
            assert [t["name"] for t in r.json()] == ["seed"]
