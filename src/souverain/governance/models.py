"""Tables of the governance spine: Tenant → UseCase → ApiKey, and one usage record per request."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from souverain.storage.orm import Base


class Tenant(Base):
    """An administration or ministry."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    quotas: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UseCase(Base):
    """The unit of governance: a registered purpose with its legal basis, risk class and limits."""

    __tablename__ = "use_cases"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="use_cases_tenant_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(64))
    risk_class: Mapped[str] = mapped_column(String(16))
    classification_ceiling: Mapped[str] = mapped_column(String(16))
    allowed_models: Mapped[list[str]] = mapped_column(JSON, default=list)
    retention_days: Mapped[int] = mapped_column(Integer)
    human_oversight: Mapped[str] = mapped_column(String(16))
    transparency_notice: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    fria_reference: Mapped[str | None] = mapped_column(String(500), nullable=True)
    dpia_reference: Mapped[str | None] = mapped_column(String(500), nullable=True)
    quotas: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    privacy_policy: Mapped[str] = mapped_column(String(16), default="pseudonymize")
    privacy_block_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    # For the register of processing (GDPR Art. 30): who the data is about, what it is, who receives it.
    data_subjects: Mapped[list[str]] = mapped_column(JSON, default=list)
    personal_data: Mapped[list[str]] = mapped_column(JSON, default=list)
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiKey(Base):
    """A bearer key: only a salted hash of the secret is stored, with a visible prefix to recognise it."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    salt: Mapped[str] = mapped_column(String(64))
    secret_hash: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(16))
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="RESTRICT"), nullable=True
    )
    use_case_id: Mapped[int | None] = mapped_column(
        ForeignKey("use_cases.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    quotas: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class UsageRecord(Base):
    """One request's accounting: who, what model, where, how many tokens, how long. Never content."""

    __tablename__ = "usage_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str] = mapped_column(String(128), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    tenant: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    use_case: Mapped[str | None] = mapped_column(String(100), nullable=True)
    key_prefix: Mapped[str | None] = mapped_column(String(32), nullable=True)
    endpoint: Mapped[str] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(100), nullable=True)
    backend: Mapped[str | None] = mapped_column(String(100), nullable=True)
    zone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    classification: Mapped[str | None] = mapped_column(String(16), nullable=True)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    ttft_ms: Mapped[float | None] = mapped_column(nullable=True)
    duration_ms: Mapped[float] = mapped_column(default=0.0)
    status: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(32))
