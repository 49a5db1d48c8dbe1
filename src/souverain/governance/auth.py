"""Bearer-key authentication against the key table (no cache: a revocation applies on the next request)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from souverain.errors import Unauthenticated
from souverain.governance import keys
from souverain.governance.models import ApiKey, Tenant, UseCase
from souverain.governance.principal import Oversight, Principal, PrivacyPolicy, Role, UseCaseView
from souverain.settings import Classification

_LAST_USED_RESOLUTION = timedelta(minutes=1)  # last_used_at is a coarse signal; avoid a write per request
PUBLIC_ACTOR = "public-page"  # the actor of requests from the citizen page, which carry no key
_INVALID = "Invalid API key. Provide a valid key as 'Authorization: Bearer souv_...'."


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; every stored time is UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def use_case_view(use_case: UseCase, tenant: Tenant) -> UseCaseView:
    """A detached snapshot of a use case for the request path."""
    return UseCaseView(
        id=use_case.id,
        name=use_case.name,
        tenant_id=tenant.id,
        tenant=tenant.name,
        purpose=use_case.purpose,
        category=use_case.category,
        risk_class=use_case.risk_class,
        classification_ceiling=Classification(use_case.classification_ceiling),
        allowed_models=tuple(use_case.allowed_models),
        retention_days=use_case.retention_days,
        human_oversight=Oversight(use_case.human_oversight),
        transparency_notice=dict(use_case.transparency_notice),
        quotas=dict(use_case.quotas),
        tenant_quotas=dict(tenant.quotas),
        privacy_policy=PrivacyPolicy(use_case.privacy_policy),
        privacy_block_types=tuple(use_case.privacy_block_types),
    )


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value (the scheme in any case, RFC 9110
    section 11.1), or None for another scheme or none."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class KeyAuthenticator:
    """Turns a bearer token into a ``Principal`` or raises ``Unauthenticated``."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    async def authenticate(self, authorization: str | None) -> Principal:
        """Check the ``Authorization`` header value."""
        token = bearer_token(authorization)
        if token is None:
            raise Unauthenticated(
                "Missing API key. Send 'Authorization: Bearer souv_...'.", code="missing_api_key"
            )
        parts = keys.split(token)
        if parts is None:
            raise Unauthenticated(_INVALID, code="invalid_api_key")
        return await asyncio.to_thread(self._lookup, *parts)

    async def public(self, reference: str) -> Principal:
        """The caller of the public citizen page: no key, the configured use case (``tenant/name``)."""
        return await asyncio.to_thread(self._public, reference)

    def _public(self, reference: str) -> Principal:
        tenant_name, _, name = reference.partition("/")
        with self.sessions() as session:
            found = session.execute(
                select(UseCase, Tenant)
                .join(Tenant, UseCase.tenant_id == Tenant.id)
                .where(Tenant.name == tenant_name, UseCase.name == name)
            ).one_or_none()
            if found is None:  # configured but not registered: no anonymous access at all
                raise Unauthenticated(
                    "Missing API key. Send 'Authorization: Bearer souv_...'.", code="missing_api_key"
                )
            view = use_case_view(*found)
        return Principal(
            key_id=0, key_prefix=PUBLIC_ACTOR, role=Role.APP, tenant_id=view.tenant_id, use_case=view
        )

    def _lookup(self, prefix: str, secret: str) -> Principal:
        now = datetime.now(UTC)
        with self.sessions() as session:
            key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
            if key is None or not keys.matches(secret, key.salt, key.secret_hash):
                raise Unauthenticated(_INVALID, code="invalid_api_key")
            if key.revoked_at is not None:
                raise Unauthenticated(f"The API key {prefix} has been revoked.", code="revoked_api_key")
            expires_at = _aware(key.expires_at)
            if expires_at is not None and expires_at <= now:
                raise Unauthenticated(f"The API key {prefix} has expired.", code="expired_api_key")
            view = None
            if key.use_case_id is not None:
                use_case = session.get(UseCase, key.use_case_id)
                assert use_case is not None  # foreign key
                tenant = session.get(Tenant, use_case.tenant_id)
                assert tenant is not None
                view = use_case_view(use_case, tenant)
            last_used = _aware(key.last_used_at)
            if last_used is None or now - last_used > _LAST_USED_RESOLUTION:
                session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
                session.commit()
            return Principal(
                key_id=key.id,
                key_prefix=key.prefix,
                role=Role(key.role),
                tenant_id=key.tenant_id,
                use_case=view,
                key_quotas=dict(key.quotas),
            )
