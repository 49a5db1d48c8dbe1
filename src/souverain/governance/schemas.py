"""Request and response models of the governance registry, shared by the admin API and the CLI.

Requests are wire models (``protocol.wire.WireModel``): unknown fields are refused, so that a misspelt
field is an error rather than a silently ignored setting, and types are not coerced (``true`` is not the
use case 1, ``"100"`` is not a quota); enumerations still take their string values. Numbers are bounded by
what the stores hold and text must be visible and free of control characters. Responses never carry a
key's salt or hash; the full key appears only in ``KeyCreated``.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    Field,
    Strict,
    StringConstraints,
    model_validator,
)

from souverain.governance import categories
from souverain.governance.categories import Risk
from souverain.governance.models import ApiKey, Tenant, UseCase
from souverain.governance.principal import Oversight, PrivacyPolicy, Role
from souverain.privacy.entities import EntityType
from souverain.protocol.wire import WireModel, is_blank, one_of
from souverain.settings import Classification
from souverain.storage.orm import MAX_ROW_ID

MAX_QUOTA = 10**15
"""The largest quota: below 2**53, the largest integer the Redis limiter's Lua script compares exactly
(and far below the 64-bit counters of Redis and PostgreSQL)."""

MAX_KEY_DAYS = 3650
"""The longest validity of a key, whether given as ``expires_in_days`` or as ``expires_at``."""

_LINE_BREAKS = frozenset("\t\n\r")


def _visible(*, multiline: bool) -> AfterValidator:
    """Refuse text with nothing visible, or with control characters (line breaks only where allowed)."""

    def check(value: str) -> str:
        controls = {c for c in value if unicodedata.category(c) == "Cc"}
        if multiline:
            controls -= _LINE_BREAKS
        if controls:
            allowed = "; line breaks and tabs are allowed" if multiline else ""
            raise ValueError(f"the text contains control characters such as NUL{allowed}")
        if value and is_blank(value):
            raise ValueError("the text is blank")
        return value

    return AfterValidator(check)


def _no_unix_time(value: Any) -> Any:
    # a lax datetime reads a JSON number as Unix time
    if isinstance(value, int | float):
        raise ValueError("give an ISO 8601 time with its offset, such as 2027-01-31T00:00:00Z")
    return value


Lax = Strict(False)  # an enumeration takes its string value: FastAPI validates parsed JSON, not raw JSON
Language = Literal["fr", "de", "en", "lb"]
Notice = Annotated[str, Field(min_length=1, max_length=2000), _visible(multiline=True)]
Reference = Annotated[str, Field(min_length=1, max_length=500), _visible(multiline=False)]
Text = Annotated[str, Field(min_length=1, max_length=2000), _visible(multiline=True)]
Label = Annotated[str, _visible(multiline=False)]
"""A name shown to people: may be empty, but not blank, and on one line."""
Quota = Annotated[int, Field(ge=1, le=MAX_QUOTA)]
UseCaseId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]


class _Strict(WireModel):
    """A request body of the registry."""


class Quotas(_Strict):
    """Limits of a tenant, use case or key; an absent limit means no limit at that level."""

    requests_per_minute: Quota | None = Field(None, description="Requests per UTC minute.")
    tokens_per_minute: Quota | None = Field(None, description="Tokens per UTC minute.")
    tokens_per_day: Quota | None = Field(None, description="Tokens per UTC day.")

    def stored(self) -> dict[str, int]:
        """The form kept in the database: only the limits that are set."""
        return self.model_dump(exclude_none=True)


_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")


def _slug(value: str) -> str:
    if not _SLUG.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid name: use 1 to 64 lowercase letters, digits and inner hyphens "
            "(e.g. citizen-assistant)"
        )
    return value


Slug = Annotated[
    str,
    AfterValidator(_slug),
    Field(description="Lowercase letters, digits and inner hyphens, e.g. citizen-assistant."),
]


def _known_category(value: str) -> str:
    if categories.get(value) is None:
        known = ", ".join(categories.CATEGORIES)
        raise ValueError(f"unknown category {value!r}; declare one of: {known}")
    return value


def _unique(models: list[str]) -> list[str]:
    repeated = sorted({m for m in models if models.count(m) > 1})
    if repeated:
        raise ValueError(f"model aliases listed more than once: {', '.join(repeated)}")
    return models


CategoryId = Annotated[
    str,
    AfterValidator(_known_category),
    Field(description="Declared category (GET /admin/categories); it fixes the risk class."),
]


def _distinct(types: list[EntityType]) -> list[EntityType]:
    return sorted(set(types))


BlockTypes = Annotated[
    list[Annotated[EntityType, Lax]],
    AfterValidator(_distinct),
    Field(description="Entity types a block policy refuses; empty: any personal data is refused."),
]
PolicyField = Annotated[
    PrivacyPolicy,
    Lax,
    Field(
        description="off, detect, pseudonymize, redact or block; a backend in the external zone always "
        "receives pseudonymised text at least, whatever this says."
    ),
]
RegisterList = Annotated[
    list[
        Annotated[
            str,
            StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
            _visible(multiline=False),
        ]
    ],
    AfterValidator(_unique),
    Field(max_length=50),
]
ModelAliases = Annotated[
    list[str],
    AfterValidator(_unique),
    Field(description="Configured model aliases the use case may call (an empty list allows none)."),
]


class TenantCreate(_Strict):
    """A new tenant (an administration or ministry)."""

    name: Slug
    display_name: Label = Field("", max_length=200, description="Human-readable name.")
    quotas: Quotas = Field(default_factory=Quotas, description="Limits shared by the tenant's use cases.")


class UseCaseCreate(_Strict):
    """A new use case; the AI Act rules are checked by the registry, not here."""

    name: Slug
    purpose: Text
    legal_basis: Text
    category: CategoryId
    risk_class: Annotated[Risk, Lax] | None = Field(
        None, description="Optional; must agree with the category if given."
    )
    classification_ceiling: Annotated[Classification, Lax]
    allowed_models: ModelAliases
    retention_days: int = Field(ge=1, le=36_500)
    human_oversight: Annotated[Oversight, Lax] = Oversight.NONE
    transparency_notice: dict[Language, Notice] = Field(default_factory=dict)
    fria_reference: Reference | None = Field(None, description="Fundamental-rights impact assessment.")
    dpia_reference: Reference | None = Field(None, description="Data protection impact assessment.")
    quotas: Quotas = Field(default_factory=Quotas)
    privacy_policy: PolicyField = PrivacyPolicy.PSEUDONYMIZE
    privacy_block_types: BlockTypes = Field(default_factory=list)
    data_subjects: RegisterList = Field(
        default_factory=list,
        description="Categories of people the data is about (GDPR Art. 30), e.g. citizens.",
    )
    personal_data: RegisterList = Field(
        default_factory=list,
        description="Categories of personal data processed (Art. 30), e.g. contact details.",
    )
    recipients: RegisterList = Field(
        default_factory=list,
        description="Recipients of the data (Art. 30), e.g. the ministry's helpdesk staff.",
    )


_NULLABLE = frozenset({"risk_class", "fria_reference", "dpia_reference"})


class UseCaseUpdate(_Strict):
    """A partial change of a use case: only the fields present are changed."""

    name: Slug | None = None
    purpose: Text | None = None
    legal_basis: Text | None = None
    category: CategoryId | None = None
    risk_class: Annotated[Risk, Lax] | None = None
    classification_ceiling: Annotated[Classification, Lax] | None = None
    allowed_models: ModelAliases | None = None
    retention_days: int | None = Field(None, ge=1, le=36_500)
    human_oversight: Annotated[Oversight, Lax] | None = None
    transparency_notice: dict[Language, Notice] | None = None
    fria_reference: Reference | None = None
    dpia_reference: Reference | None = None
    quotas: Quotas | None = None
    privacy_policy: PolicyField | None = None
    privacy_block_types: BlockTypes | None = None
    data_subjects: RegisterList | None = None
    personal_data: RegisterList | None = None
    recipients: RegisterList | None = None

    @model_validator(mode="after")
    def _no_null_for_required(self) -> UseCaseUpdate:
        nulls = sorted(f for f in self.model_fields_set if getattr(self, f) is None and f not in _NULLABLE)
        if nulls:
            raise ValueError(f"these fields cannot be null: {', '.join(nulls)}")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields the caller sent, in the form stored in the database."""
        values = self.model_dump(include=self.model_fields_set, mode="json")
        if "quotas" in values:
            values["quotas"] = {k: v for k, v in values["quotas"].items() if v is not None}
        return values


class KeyCreate(_Strict):
    """A new API key; app keys belong to a use case, the other roles to none."""

    name: Label = Field("", max_length=100, description="What the key is for, e.g. the application's name.")
    role: Annotated[Role, Lax] = Role.APP
    use_case: (
        Annotated[UseCaseId | str, one_of(f"a use case id (1 to {MAX_ROW_ID}) or 'tenant/use-case'")] | None
    ) = Field(None, description="The use case of an app key: its id, or 'tenant/use-case'.")
    expires_in_days: int | None = Field(None, ge=1, le=MAX_KEY_DAYS)
    expires_at: Annotated[AwareDatetime, Lax, BeforeValidator(_no_unix_time)] | None = Field(
        None, description=f"At most {MAX_KEY_DAYS} days ahead."
    )
    quotas: Quotas = Field(default_factory=Quotas)

    @model_validator(mode="after")
    def _one_expiry(self) -> KeyCreate:
        if self.expires_in_days is not None and self.expires_at is not None:
            raise ValueError("give expires_in_days or expires_at, not both")
        return self


def aware(moment: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; every stored time is UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


class TenantOut(BaseModel):
    id: int
    name: str
    display_name: str
    quotas: dict[str, int]
    is_demo: bool
    created_at: datetime
    use_cases: int = Field(description="Number of registered use cases.")

    @classmethod
    def of(cls, tenant: Tenant, use_cases: int) -> TenantOut:
        """The public view of a tenant row."""
        return cls(
            id=tenant.id,
            name=tenant.name,
            display_name=tenant.display_name,
            quotas=dict(tenant.quotas),
            is_demo=tenant.is_demo,
            created_at=aware(tenant.created_at) or tenant.created_at,
            use_cases=use_cases,
        )


class UseCaseOut(BaseModel):
    id: int
    tenant: str
    name: str
    purpose: str
    legal_basis: str
    category: str
    risk_class: str
    legal_reference: str
    classification_ceiling: Classification
    allowed_models: list[str]
    retention_days: int
    human_oversight: Oversight
    transparency_notice: dict[str, str]
    fria_reference: str | None
    dpia_reference: str | None
    quotas: dict[str, int]
    privacy_policy: PrivacyPolicy
    privacy_block_types: list[str]
    data_subjects: list[str]
    personal_data: list[str]
    recipients: list[str]
    is_demo: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, use_case: UseCase, tenant: Tenant) -> UseCaseOut:
        """The public view of a use-case row."""
        category = categories.get(use_case.category)
        fields = {name: getattr(use_case, name) for name in _USE_CASE_COLUMNS}
        return cls(
            **fields,
            tenant=tenant.name,
            legal_reference=category.legal_reference if category else "",
            created_at=aware(use_case.created_at) or use_case.created_at,
            updated_at=aware(use_case.updated_at) or use_case.updated_at,
        )


_USE_CASE_COLUMNS = (
    "id",
    "name",
    "purpose",
    "legal_basis",
    "category",
    "risk_class",
    "classification_ceiling",
    "allowed_models",
    "retention_days",
    "human_oversight",
    "transparency_notice",
    "fria_reference",
    "dpia_reference",
    "quotas",
    "privacy_policy",
    "privacy_block_types",
    "data_subjects",
    "personal_data",
    "recipients",
    "is_demo",
)


class KeyOut(BaseModel):
    id: int
    prefix: str
    name: str
    role: Role
    tenant: str | None
    use_case: str | None = Field(description="'tenant/use-case' of an app key.")
    quotas: dict[str, int]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    status: Literal["active", "expired", "revoked"]

    @classmethod
    def of(cls, key: ApiKey, tenant: str | None, use_case: str | None) -> KeyOut:
        """The public view of a key row: never its salt or hash."""
        expires_at = aware(key.expires_at)
        status: Literal["active", "expired", "revoked"] = "active"
        if key.revoked_at is not None:
            status = "revoked"
        elif expires_at is not None and expires_at <= datetime.now(UTC):
            status = "expired"
        return cls(
            id=key.id,
            prefix=key.prefix,
            name=key.name,
            role=Role(key.role),
            tenant=tenant,
            use_case=f"{tenant}/{use_case}" if use_case else None,
            quotas=dict(key.quotas),
            created_at=aware(key.created_at) or key.created_at,
            expires_at=expires_at,
            revoked_at=aware(key.revoked_at),
            last_used_at=aware(key.last_used_at),
            status=status,
        )


class KeyCreated(KeyOut):
    key: str = Field(description="The full key. It is shown only in this response and never stored.")


class CategoryOut(BaseModel):
    id: str
    risk: Risk
    legal_reference: str
    description: str
    registrable: bool = Field(description="False for prohibited practices (AI Act Art. 5).")

    @classmethod
    def of(cls, category: categories.Category) -> CategoryOut:
        """The public view of a category."""
        return cls(
            id=category.id,
            risk=category.risk,
            legal_reference=category.legal_reference,
            description=category.description,
            registrable=category.risk is not Risk.PROHIBITED,
        )
