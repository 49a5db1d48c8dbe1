"""The governance registry and usage store at service level, on real SQLite and real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from souverain.audit.models import EVENTS
from souverain.audit.sink import AuditSink
from souverain.errors import BackendUnavailable, Conflict, InvalidRequest, PolicyRefused, Unauthenticated
from souverain.events import Event, MemorySink
from souverain.governance import demo
from souverain.governance.auth import KeyAuthenticator
from souverain.governance.changes import Change
from souverain.governance.models import ApiKey, Tenant, UsageRecord, UseCase
from souverain.governance.principal import Role
from souverain.governance.registry import Actor, Registry
from souverain.governance.schemas import KeyCreate, Quotas, TenantCreate, UseCaseCreate, UseCaseUpdate
from souverain.governance.usage import UsageFilter, UsageStore
from souverain.settings import Settings
from souverain.storage.database import Database
from tests.audit_support import open_store
from tests.conftest import fake_settings
from tests.databases import database_url

pytestmark = pytest.mark.anyio

KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
ACTOR = Actor(name="souv_testadmin00", request_id="req-1")


@dataclass
class Env:
    registry: Registry
    events: MemorySink
    database: Database
    settings: Settings

    def counts(self) -> tuple[int, int, int]:
        """Rows in tenants, use cases and keys."""
        with self.database.sessions() as session:
            return tuple(  # type: ignore[return-value]
                session.scalar(select(func.count()).select_from(t)) for t in (Tenant, UseCase, ApiKey)
            )


@pytest.fixture(params=KINDS)
async def env(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Env]:
    with database_url(request.param, tmp_path) as url:
        settings = fake_settings(tmp_path, database_url=url)
        database = Database(url)
        database.migrate()
        events = MemorySink()
        try:
            yield Env(Registry(database.sessions, settings, events), events, database, settings)
        finally:
            database.close()


def use_case(**overrides: Any) -> UseCaseCreate:
    values: dict[str, Any] = {
        "name": "assistant",
        "purpose": "Answer citizens' questions about public services.",
        "legal_basis": "GDPR Art. 6(1)(e)",
        "category": "citizen_information_assistant",
        "classification_ceiling": "internal",
        "allowed_models": ["chat-fake"],
        "retention_days": 30,
        "transparency_notice": {"en": "You are talking to an AI.", "fr": "Vous parlez à une IA."},
    }
    return UseCaseCreate.model_validate(values | overrides)


def last(events: MemorySink) -> Event:
    return events.events[-1]


async def test_tenants_create_list_duplicate_delete(env: Env) -> None:
    created = await env.registry.create_tenant(
        TenantCreate(name="mfin", display_name="Finances", quotas=Quotas(tokens_per_day=1000)), ACTOR
    )
    assert created.quotas == {"tokens_per_day": 1000}
    assert last(env.events).action == "admin.tenant.create"
    assert last(env.events).actor == ACTOR.name
    assert last(env.events).details["tenant_id"] == created.id
    before = env.counts()
    with pytest.raises(Conflict, match="already exists"):
        await env.registry.create_tenant(TenantCreate(name="mfin"), ACTOR)
    assert env.counts() == before
    refused = last(env.events)
    assert (refused.outcome, refused.status, refused.details) == ("refused", 409, {"error": "duplicate"})
    await env.registry.create_use_case("mfin", use_case(), ACTOR)
    with pytest.raises(Conflict, match="delete its use cases first"):
        await env.registry.delete_tenant("mfin", ACTOR)
    await env.registry.create_tenant(TenantCreate(name="empty"), ACTOR)
    await env.registry.delete_tenant("empty", ACTOR)
    assert [t.name for t in await env.registry.list_tenants()] == ["mfin"]
    assert (await env.registry.get_tenant("mfin")).use_cases == 1


async def test_ai_act_rules_refuse_and_change_nothing(env: Env) -> None:
    await env.registry.create_tenant(TenantCreate(name="mfam"), ACTOR)
    before = env.counts()
    with pytest.raises(PolicyRefused) as refused:
        await env.registry.create_use_case("mfam", use_case(category="social_scoring"), ACTOR)
    assert "social_scoring are prohibited (AI Act Art. 5(1)(c))" in refused.value.message
    with pytest.raises(PolicyRefused) as refused:
        await env.registry.create_use_case("mfam", use_case(category="public_benefits_eligibility"), ACTOR)
    for missing in ("fria_reference", "dpia_reference", "human_oversight=approve", "Annex III(5)(a)"):
        assert missing in refused.value.message
    with pytest.raises(InvalidRequest, match="contradicts the category") as mismatch:
        await env.registry.create_use_case("mfam", use_case(risk_class="minimal"), ACTOR)
    assert mismatch.value.param == "risk_class"
    with pytest.raises(InvalidRequest, match="Unknown model alias") as unknown:
        await env.registry.create_use_case("mfam", use_case(allowed_models=["gpt-4"]), ACTOR)
    assert unknown.value.param == "allowed_models"
    assert env.counts() == before
    assert [e.outcome for e in env.events.events[-4:]] == ["refused"] * 4
    high = use_case(
        name="benefits",
        category="public_benefits_eligibility",
        fria_reference="FRIA-2025-04",
        dpia_reference="DPIA-2025-11",
        human_oversight="approve",
    )
    created = await env.registry.create_use_case("mfam", high, ACTOR)
    assert (created.risk_class, created.legal_reference) == ("high", "AI Act Annex III(5)(a)")


async def test_update_is_checked_and_names_changed_fields(env: Env) -> None:
    await env.registry.create_tenant(TenantCreate(name="mint"), ACTOR)
    created = await env.registry.create_use_case("mint", use_case(), ACTOR)
    await env.registry.create_use_case("mint", use_case(name="other"), ACTOR)
    updated = await env.registry.update_use_case(
        created.id,
        UseCaseUpdate(purpose="New purpose.", retention_days=90, allowed_models=["chat-fake"]),
        ACTOR,
    )
    assert (updated.purpose, updated.retention_days) == ("New purpose.", 90)
    event = last(env.events)
    assert (event.action, event.use_case, event.tenant) == ("admin.use_case.update", "assistant", "mint")
    assert event.details == {"use_case_id": created.id, "changed": ["purpose", "retention_days"]}
    with pytest.raises(PolicyRefused, match=r"Art\. 5\(1\)\(g\)"):
        await env.registry.update_use_case(
            created.id, UseCaseUpdate(category="biometric_categorisation"), ACTOR
        )
    with pytest.raises(PolicyRefused, match="high-risk"):
        await env.registry.update_use_case(
            "mint/assistant", UseCaseUpdate(category="employment_decisions"), ACTOR
        )
    with pytest.raises(Conflict, match="already has a use case named 'other'"):
        await env.registry.update_use_case(created.id, UseCaseUpdate(name="other"), ACTOR)
    unchanged = await env.registry.get_use_case(created.id)
    assert (unchanged.category, unchanged.risk_class, unchanged.name) == (
        "citizen_information_assistant",
        "limited",
        "assistant",
    )
    to_minimal = await env.registry.update_use_case(
        created.id, UseCaseUpdate(category="document_search"), ACTOR
    )
    assert to_minimal.risk_class == "minimal"
    assert last(env.events).details["changed"] == ["category", "risk_class"]


async def test_key_lifecycle_create_use_expire_revoke(env: Env) -> None:
    await env.registry.create_tenant(TenantCreate(name="mjus"), ACTOR)
    await env.registry.create_use_case("mjus", use_case(), ACTOR)
    created = await env.registry.create_key(KeyCreate(name="portal", use_case="mjus/assistant"), ACTOR)
    assert created.key.startswith(created.prefix + "_")
    with env.database.sessions() as session:
        row = session.scalars(select(ApiKey)).one()
        assert created.key.split("_", 2)[2] not in (row.secret_hash, row.salt)  # only a salted hash is stored
    assert all(created.key not in repr(e) for e in env.events.events)
    authenticator = KeyAuthenticator(env.database.sessions)
    principal = await authenticator.authenticate(f"Bearer {created.key}")
    assert principal.use_case is not None
    assert (principal.role, principal.use_case.name) == (Role.APP, "assistant")
    [listed] = await env.registry.list_keys(use_case="mjus/assistant")
    assert listed.last_used_at is not None
    assert "key" not in listed.model_dump()

    with env.database.sessions() as session:  # let the key's validity run out
        session.execute(update(ApiKey).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        session.commit()
    with pytest.raises(Unauthenticated, match="expired"):
        await authenticator.authenticate(f"Bearer {created.key}")
    assert (await env.registry.list_keys())[0].status == "expired"

    second = await env.registry.create_key(KeyCreate(use_case="mjus/assistant", expires_in_days=7), ACTOR)
    revoked = await env.registry.revoke_key(second.prefix, ACTOR)
    assert revoked.status == "revoked"
    assert (last(env.events).action, last(env.events).details["key_prefix"]) == (
        "admin.key.revoke",
        second.prefix,
    )
    with pytest.raises(Unauthenticated, match="revoked"):
        await authenticator.authenticate(f"Bearer {second.key}")
    with pytest.raises(Conflict, match="already revoked"):
        await env.registry.revoke_key(second.prefix, ACTOR)


async def test_key_scope_rules_and_use_case_deletion(env: Env) -> None:
    await env.registry.create_tenant(TenantCreate(name="msan"), ACTOR)
    created = await env.registry.create_use_case("msan", use_case(), ACTOR)
    before = env.counts()
    with pytest.raises(InvalidRequest, match="app key belongs to a use case"):
        await env.registry.create_key(KeyCreate(role=Role.APP), ACTOR)
    with pytest.raises(InvalidRequest, match=r"^An auditor key is not bound to a use case"):
        await env.registry.create_key(KeyCreate(role=Role.AUDITOR, use_case=created.id), ACTOR)
    past = datetime.now(UTC) - timedelta(days=1)
    with pytest.raises(InvalidRequest, match="in the past"):
        await env.registry.create_key(KeyCreate(use_case=created.id, expires_at=past), ACTOR)
    beyond = datetime.now(UTC) + timedelta(days=3651)  # expires_in_days stops at 3650 too
    with pytest.raises(InvalidRequest, match="more than 3650 days ahead"):
        await env.registry.create_key(KeyCreate(use_case=created.id, expires_at=beyond), ACTOR)
    assert env.counts() == before
    auditor = await env.registry.create_key(KeyCreate(role=Role.AUDITOR, name="dpo"), ACTOR)
    assert (auditor.use_case, auditor.tenant) == (None, None)
    await env.registry.create_key(KeyCreate(use_case=str(created.id)), ACTOR)
    with pytest.raises(Conflict, match="1 key"):
        await env.registry.delete_use_case(created.id, ACTOR)
    spare = await env.registry.create_use_case("msan", use_case(name="spare"), ACTOR)
    await env.registry.delete_use_case(spare.id, ACTOR)
    assert [u.name for u in await env.registry.list_use_cases("msan")] == ["assistant"]


async def test_use_case_ids_beyond_the_column_are_refused_not_sent(env: Env) -> None:
    """PostgreSQL's 32-bit ids: a larger one used to fail in the driver ("integer out of range", a 500)."""
    for ref in ("2147483648", "9" * 30):
        with pytest.raises(InvalidRequest, match="runs from 1 to 2147483647"):
            await env.registry.get_use_case(ref)
        with pytest.raises(InvalidRequest, match="runs from 1 to 2147483647"):
            await env.registry.list_keys(use_case=ref)
    with pytest.raises(InvalidRequest, match="by its id or as 'tenant/use-case'"):
        await env.registry.get_use_case("\u0661")  # ARABIC-INDIC DIGIT ONE: isdigit(), yet no id


def _crash(session: Session, change: Change) -> None:
    change.tenant = "mfin"
    session.add(Tenant(name="mfin", display_name="", quotas={}, created_at=datetime.now(UTC)))
    raise RuntimeError("a bug, whose message might quote a value")


async def test_a_change_failing_unexpectedly_is_an_error_event(env: Env) -> None:
    """It answers a 500: the trail records it, with the exception's type only, and nothing is changed."""
    before = env.counts()
    with pytest.raises(RuntimeError):
        await env.registry.tx.write("admin.tenant.create", ACTOR, _crash)
    event = last(env.events)
    assert (event.action, event.outcome, event.status) == ("admin.tenant.create", "error", 500)
    assert event.tenant == "mfin"
    assert (event.request_id, event.details) == (ACTOR.request_id, {"error": "RuntimeError"})
    assert env.counts() == before


async def test_a_change_failing_unexpectedly_is_recorded_beside_a_joined_trail(tmp_path: Path) -> None:
    """With the trail in the same database, the change's own transaction is rolled back, event included."""
    settings = fake_settings(tmp_path)
    with open_store(f"sqlite:///{tmp_path / 'joined.db'}", tmp_path) as store:
        registry = Registry(store.database.sessions, settings, AuditSink(store), store)
        with pytest.raises(RuntimeError):
            await registry.tx.write("admin.tenant.create", ACTOR, _crash)
        with store.database.engine.connect() as connection:
            rows = connection.execute(select(EVENTS.c.action, EVENTS.c.outcome, EVENTS.c.status)).all()
            tenants = connection.scalar(select(func.count()).select_from(Tenant))
    assert [tuple(row) for row in rows] == [("admin.tenant.create", "error", 500)]
    assert tenants == 0


async def test_bootstrap_runs_only_while_no_admin_key_is_usable(env: Env) -> None:
    first = await env.registry.bootstrap_admin(ACTOR)
    assert first.role is Role.ADMIN
    assert last(env.events).details["bootstrap"] is True
    with pytest.raises(Conflict, match="still usable"):
        await env.registry.bootstrap_admin(ACTOR)
    assert env.counts()[2] == 1
    # the last usable admin key cannot be revoked: nobody could administer the installation any more
    with pytest.raises(Conflict, match="last usable admin key") as refused:
        await env.registry.revoke_key(first.prefix, ACTOR)
    assert refused.value.code == "last_admin_key"
    second = await env.registry.create_key(KeyCreate(name="relève", role=Role.ADMIN), ACTOR)
    assert (await env.registry.revoke_key(first.prefix, ACTOR)).status == "revoked"
    # every admin key expired (here: the remaining one, moved into the past): bootstrap is the way back in
    with env.database.sessions.begin() as session:
        key = session.scalar(select(ApiKey).where(ApiKey.prefix == second.prefix))
        assert key is not None
        key.expires_at = datetime.now(UTC) - timedelta(days=1)
    again = await env.registry.bootstrap_admin(ACTOR)
    assert again.role is Role.ADMIN
    assert again.prefix not in (first.prefix, second.prefix)


class BrokenSink:
    async def emit(self, event: Event) -> None:
        raise OSError("audit store down")


async def test_change_is_not_visible_when_the_event_is_refused(env: Env) -> None:
    broken = Registry(env.database.sessions, env.settings, BrokenSink())
    with pytest.raises(BackendUnavailable, match="event store is unavailable"):
        await broken.create_tenant(TenantCreate(name="ghost"), ACTOR)
    with pytest.raises(BackendUnavailable):
        await broken.bootstrap_admin(ACTOR)
    assert env.counts() == (0, 0, 0)


async def test_demo_is_labelled_and_issues_a_new_key_each_time(env: Env) -> None:
    first = await demo.ensure_demo(env.registry, ACTOR)
    second = await demo.ensure_demo(env.registry, ACTOR)
    assert (first.created_tenant, first.created_use_case) == (True, True)
    assert (second.created_tenant, second.created_use_case) == (False, False)
    assert first.key.key != second.key.key
    [demo_case] = await env.registry.list_use_cases("demo")
    assert demo_case.is_demo
    assert "DEMO" in demo_case.purpose
    assert demo_case.allowed_models == ["chat-fake", "embed-fake"]
    assert set(demo_case.transparency_notice) == {"fr", "de", "en", "lb"}
    assert (demo_case.category, demo_case.classification_ceiling.value) == (
        "citizen_information_assistant",
        "internal",
    )
    assert env.counts() == (1, 1, 2)


def usage_record(day: int, tenant: str, model: str, tokens: int, status: int = 200) -> UsageRecord:
    return UsageRecord(
        request_id=f"r{day}{tenant}{model}",
        created_at=datetime(2025, 3, day, 23, 30, tzinfo=UTC),
        tenant=tenant,
        use_case="assistant",
        key_prefix="souv_x",
        endpoint="chat.completion",
        model=model,
        prompt_tokens=tokens,
        completion_tokens=1,
        duration_ms=10.0 * tokens,
        status=status,
        outcome="success" if status == 200 else "error",
    )


async def test_usage_grouping_and_filters(env: Env) -> None:
    store = UsageStore(env.database.sessions)
    store.record(usage_record(1, "mfin", "chat-fake", 10))
    await store.arecord(usage_record(1, "mfam", "chat-fake", 20))
    await store.arecord(usage_record(2, "mfin", "embed-fake", 30, status=429))
    by_day = store.query(UsageFilter(), ["day"])
    assert [(r.group["day"], r.requests, r.prompt_tokens) for r in by_day] == [
        ("2025-03-01", 2, 30),
        ("2025-03-02", 1, 30),
    ]
    by_tenant = await store.aquery(UsageFilter(), ["tenant", "model"])
    assert [(r.group["tenant"], r.group["model"], r.total_tokens, r.errors) for r in by_tenant] == [
        ("mfam", "chat-fake", 21, 0),
        ("mfin", "chat-fake", 11, 0),
        ("mfin", "embed-fake", 31, 1),
    ]
    since = datetime(2025, 3, 2, tzinfo=UTC)
    [only] = store.query(UsageFilter(since=since, tenant="mfin"), [])
    assert (only.requests, only.avg_duration_ms) == (1, 300.0)
    [none] = store.query(UsageFilter(until=datetime(2025, 3, 1, tzinfo=UTC)), [])
    assert (none.requests, none.avg_duration_ms) == (0, None)
    with pytest.raises(InvalidRequest, match="Cannot group usage by week"):
        store.query(UsageFilter(), ["week"])
