"""The audit API through the real app: model calls land in the trail through the audit sink, and
admins and auditors (only they) read it back, filtered and paged, or export it as JSON lines."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import Engine, select

from souverain.api import audit_routes
from souverain.app import create_app
from souverain.audit import query
from souverain.audit.checkpoints import stored_checkpoints
from souverain.audit.models import EVENTS
from souverain.audit.query import AuditFilter
from souverain.audit.sink import AuditSink
from souverain.audit.store import AuditStore
from souverain.audit.verify import verify
from souverain.settings import GovernanceSettings
from tests.audit_support import open_store
from tests.conftest import fake_settings
from tests.governance_fixtures import provision

pytestmark = pytest.mark.anyio
CHAT = {"model": "chat-fake", "messages": [{"role": "user", "content": "Bonjour"}]}


@dataclass
class Trail:
    client: httpx.AsyncClient
    store: AuditStore
    keys: dict[str, str]  # role -> full key

    def as_(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}


@pytest.fixture
async def trail(tmp_path: Path) -> AsyncIterator[Trail]:
    settings = fake_settings(tmp_path, governance=GovernanceSettings(auth_required=True))
    settings.data_dir.mkdir(parents=True)
    with open_store(settings.resolved_database_url, settings.data_dir) as store:
        app = create_app(settings, events=AuditSink(store))
        if not any(getattr(r, "path", "") == "/admin/audit" for r in app.routes):
            app.include_router(audit_routes.router)
        async with app.router.lifespan_context(app):
            keys = {
                role: provision(store.database.sessions, use_case=f"uc-{role}", role=role).key
                for role in ("app", "admin", "auditor", "operator")
            }
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://souverain.test") as client:
                yield Trail(client, store, keys)


async def test_model_calls_are_in_the_trail_and_readable_by_auditors(trail: Trail) -> None:
    c = trail.client
    for _ in range(3):
        assert (await c.post("/v1/chat/completions", json=CHAT, headers=trail.as_("app"))).status_code == 200
    embed_only = provision(
        trail.store.database.sessions, use_case="embed-only", allowed_models=["embed-fake"]
    )
    refused = await c.post(
        "/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {embed_only.key}"}
    )
    assert refused.status_code == 403
    r = await c.get("/admin/audit", headers=trail.as_("auditor"))
    assert r.status_code == 200, r.text
    events = r.json()["data"]
    assert [e["seq"] for e in events] == [1, 2, 3, 4]
    first = events[0]
    assert (first["action"], first["outcome"], first["tenant"], first["use_case"]) == (
        "chat.completion",
        "success",
        "ministry",
        "uc-app",
    )
    assert trail.keys["app"].startswith(first["actor"] + "_")  # the key's prefix, never the key
    assert first["actor_digest"] == trail.store.keys.personal_digest("actor", first["actor"])
    assert "content" not in first
    assert first["time"].endswith("Z")
    assert events[3]["outcome"] == "refused"
    r = await c.get("/admin/audit", params={"outcome": "refused"}, headers=trail.as_("admin"))
    assert [e["seq"] for e in r.json()["data"]] == [4]
    r = await c.get("/admin/audit", params={"since": "2999-01-01T00:00:00Z"}, headers=trail.as_("admin"))
    assert r.json() == {"data": [], "next_cursor": None}
    assert verify(trail.store, stored_checkpoints(trail.store)).intact


async def test_pages_follow_the_cursor(trail: Trail) -> None:
    for _ in range(5):
        await trail.client.post("/v1/chat/completions", json=CHAT, headers=trail.as_("app"))
    seen, cursor = [], None
    while True:
        params: dict[str, str | int] = {"limit": 2, "action": "chat.completion"}
        if cursor:
            params["cursor"] = cursor
        page = (await trail.client.get("/admin/audit", params=params, headers=trail.as_("auditor"))).json()
        seen += [e["seq"] for e in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [1, 2, 3, 4, 5]
    bad = await trail.client.get("/admin/audit", params={"cursor": "abc"}, headers=trail.as_("auditor"))
    assert (bad.status_code, bad.json()["error"]["param"]) == (400, "cursor")


async def test_only_admins_and_auditors_read_the_trail(trail: Trail) -> None:
    for path in ("/admin/audit", "/admin/audit/export"):
        assert (await trail.client.get(path)).status_code == 401
        for role in ("app", "operator"):
            r = await trail.client.get(path, headers=trail.as_(role))
            assert (r.status_code, r.json()["error"]["code"]) == (403, "insufficient_role")
    with trail.store.database.engine.connect() as connection:
        actions = list(connection.scalars(select(EVENTS.c.action)))
    assert "audit.export" not in actions  # refused exports export nothing (the refusals are recorded)


async def test_export_streams_json_lines_and_is_itself_audited(trail: Trail) -> None:
    for _ in range(3):
        await trail.client.post("/v1/chat/completions", json=CHAT, headers=trail.as_("app"))
    r = await trail.client.get("/admin/audit/export", headers=trail.as_("auditor"))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/x-ndjson")
    lines = [orjson.loads(line) for line in r.content.splitlines()]
    assert [e["action"] for e in lines] == ["chat.completion"] * 3 + ["audit.export"]
    assert lines[-1]["details"] == {"filters": {}}
    r = await trail.client.get(
        "/admin/audit/export", params={"action": "audit.export"}, headers=trail.as_("admin")
    )
    exported = [orjson.loads(line) for line in r.content.splitlines()]
    assert [e["seq"] for e in exported] == [4, 5]
    assert exported[-1]["details"] == {"filters": {"action": "audit.export"}}


BAD_FILTERS = [
    ({"cursor": "9" * 23}, "cursor"),
    ({"cursor": "\u0661"}, "cursor"),  # other scripts' digits pass str.isdigit
    ({"cursor": "\uff11"}, "cursor"),
    ({"since": "9999-12-31T23:59:59-01:00"}, "since"),  # year 10000 in UTC
    ({"until": "0001-01-01T00:00:00+01:00"}, "until"),  # year 0 in UTC
    ({"since": "99999999999"}, "since"),  # was read as Unix time
    ({"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
    ({"outcome": "refusd"}, "outcome"),  # a typo would have matched nothing, silently
]


@pytest.mark.parametrize(("params", "param"), BAD_FILTERS)
async def test_out_of_range_filters_are_400s_and_export_nothing(
    trail: Trail, params: dict[str, str], param: str
) -> None:
    for path in ("/admin/audit", "/admin/audit/export"):
        if path.endswith("export") and "cursor" in params:
            continue
        r = await trail.client.get(path, params=params, headers=trail.as_("auditor"))
        assert r.status_code == 400, r.text
        error = r.json()["error"]
        assert (error["param"], error["code"]) == (param, "invalid_value")
    with trail.store.database.engine.connect() as connection:
        assert "audit.export" not in list(connection.scalars(select(EVENTS.c.action)))


async def test_an_export_failing_part_way_is_recorded_as_an_error(
    trail: Trail, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its start was recorded as a success before the first line; its failure must be recorded too.

    The filters are validated before the export starts, so no request can make the read fail: the
    read is replaced by one that fails after its first page."""
    for _ in range(2):
        await trail.client.post("/v1/chat/completions", json=CHAT, headers=trail.as_("app"))

    def failing_pages(engine: Engine, filters: AuditFilter) -> Iterator[list[dict[str, Any]]]:
        yield query.page(engine, filters, 0, 1)
        raise OSError("the database went away")

    monkeypatch.setattr(query, "pages", failing_pages)
    with pytest.raises(OSError, match="went away"):  # the stream is cut, not ended as if complete
        await trail.client.get("/admin/audit/export", headers=trail.as_("auditor"))
    with trail.store.database.engine.connect() as connection:
        rows = connection.execute(select(EVENTS).where(EVENTS.c.action == "audit.export")).all()
    assert [(row.outcome, row.status) for row in rows] == [("success", None), ("error", 500)]
    assert rows[0].request_id == rows[1].request_id
    assert rows[1].details == {"filters": {}, "error": "OSError", "events_sent": 1}
