"""Who is calling: the authenticated key, its role, and the tenant and use case it belongs to."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from souverain.settings import Classification


class Role(StrEnum):
    ADMIN = "admin"  # manages tenants, use cases, keys and backends
    OPERATOR = "operator"  # runs the platform: reads backends and usage
    APP = "app"  # an application calling /v1 for one use case
    AUDITOR = "auditor"  # reads everything, changes nothing


class Oversight(StrEnum):
    NONE = "none"
    REVIEW = "review"
    APPROVE = "approve"


class PrivacyPolicy(StrEnum):
    """What happens to personal data in a use case's requests before a model sees them."""

    OFF = "off"  # nothing is detected (only for use cases that need identity, on cleared backends)
    DETECT = "detect"  # detected and counted, passed on unchanged
    PSEUDONYMIZE = "pseudonymize"  # replaced by placeholders, restored in the answer
    REDACT = "redact"  # replaced by the type's name, irreversibly
    BLOCK = "block"  # refused when given types are present; other types are pseudonymised


@dataclass(frozen=True)
class UseCaseView:
    """The parts of a use case the request path needs (a snapshot, detached from the database)."""

    id: int
    name: str
    tenant_id: int
    tenant: str
    purpose: str
    category: str
    risk_class: str
    classification_ceiling: Classification
    allowed_models: tuple[str, ...]
    retention_days: int
    human_oversight: Oversight
    transparency_notice: dict[str, str] = field(default_factory=dict)
    quotas: dict[str, Any] = field(default_factory=dict)
    tenant_quotas: dict[str, Any] = field(default_factory=dict)
    privacy_policy: PrivacyPolicy = PrivacyPolicy.PSEUDONYMIZE
    privacy_block_types: tuple[str, ...] = ()  # entity types a ``block`` policy refuses (empty: all)


@dataclass(frozen=True)
class Principal:
    key_id: int
    key_prefix: str
    role: Role
    tenant_id: int | None
    use_case: UseCaseView | None
    key_quotas: dict[str, Any] = field(default_factory=dict)

    def may_call_model(self, alias: str) -> bool:
        """Whether this key's use case allows ``alias`` (an empty allow-list allows nothing)."""
        return self.use_case is not None and alias in self.use_case.allowed_models


def development_principal(model_names: list[str]) -> Principal:
    """The caller when authentication is switched off: a local development use case, internal data at most."""
    use_case = UseCaseView(
        id=0,
        name="development",
        tenant_id=0,
        tenant="local",
        purpose="Local development without authentication (not for production).",
        category="internal_productivity",
        risk_class="minimal",
        classification_ceiling=Classification.INTERNAL,
        allowed_models=tuple(model_names),
        retention_days=30,
        human_oversight=Oversight.NONE,
        privacy_policy=PrivacyPolicy.PSEUDONYMIZE,
    )
    return Principal(key_id=0, key_prefix="anonymous", role=Role.APP, tenant_id=0, use_case=use_case)
