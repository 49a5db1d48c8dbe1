"""Governance rows inserted directly, for tests of the request path independent of the admin API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from souverain.governance import keys
from souverain.governance.models import ApiKey, Tenant, UseCase


@dataclass
class Provisioned:
    key: str
    prefix: str
    key_id: int
    use_case_id: int | None
    tenant_id: int


def provision(
    sessions: sessionmaker[Session],
    *,
    tenant: str = "ministry",
    use_case: str = "assistant",
    allowed_models: list[str] | None = None,
    ceiling: str = "internal",
    role: str = "app",
    use_case_quotas: dict[str, Any] | None = None,
    tenant_quotas: dict[str, Any] | None = None,
    key_quotas: dict[str, Any] | None = None,
    expires_at: datetime | None = None,
) -> Provisioned:
    """A tenant (reused if it exists), a use case and a key; returns the full key."""
    now = datetime.now(UTC)
    with sessions() as session:
        row = session.query(Tenant).filter_by(name=tenant).one_or_none()
        if row is None:
            row = Tenant(
                name=tenant, display_name=tenant, quotas=tenant_quotas or {}, is_demo=False, created_at=now
            )
            session.add(row)
            session.flush()
        case = UseCase(
            tenant_id=row.id,
            name=use_case,
            purpose="Answer questions about public services",
            legal_basis="GDPR Art. 6(1)(e)",
            category="citizen_information_assistant",
            risk_class="limited",
            classification_ceiling=ceiling,
            allowed_models=allowed_models if allowed_models is not None else ["chat-fake", "embed-fake"],
            retention_days=30,
            human_oversight="none",
            transparency_notice={"en": "You are talking to an AI."},
            quotas=use_case_quotas or {},
            is_demo=False,
            created_at=now,
            updated_at=now,
        )
        session.add(case)
        session.flush()
        new = keys.generate()
        key = ApiKey(
            prefix=new.prefix,
            salt=new.salt,
            secret_hash=new.secret_hash,
            name="test",
            role=role,
            tenant_id=row.id,
            use_case_id=case.id if role == "app" else None,
            quotas=key_quotas or {},
            created_at=now,
            expires_at=expires_at or now + timedelta(days=1),
        )
        session.add(key)
        session.commit()
        return Provisioned(new.full, new.prefix, key.id, case.id, row.id)


def revoke(sessions: sessionmaker[Session], key_id: int) -> None:
    with sessions() as session:
        key = session.get(ApiKey, key_id)
        assert key is not None
        key.revoked_at = datetime.now(UTC)
        session.commit()
