"""Governance: tenants, use cases, API keys and usage records.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("quotas", sa.JSON, nullable=False),
        sa.Column("is_demo", sa.Boolean, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "use_cases",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant_id", sa.Integer, sa.ForeignKey("tenants.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("legal_basis", sa.Text, nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("risk_class", sa.String(16), nullable=False),
        sa.Column("classification_ceiling", sa.String(16), nullable=False),
        sa.Column("allowed_models", sa.JSON, nullable=False),
        sa.Column("retention_days", sa.Integer, nullable=False),
        sa.Column("human_oversight", sa.String(16), nullable=False),
        sa.Column("transparency_notice", sa.JSON, nullable=False),
        sa.Column("fria_reference", sa.String(500)),
        sa.Column("dpia_reference", sa.String(500)),
        sa.Column("quotas", sa.JSON, nullable=False),
        sa.Column("is_demo", sa.Boolean, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.UniqueConstraint("tenant_id", "name", name="use_cases_tenant_name"),
    )
    op.create_index("ix_use_cases_tenant_id", "use_cases", ["tenant_id"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("prefix", sa.String(32), nullable=False, unique=True),
        sa.Column("salt", sa.String(64), nullable=False),
        sa.Column("secret_hash", sa.String(128), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("tenant_id", sa.Integer, sa.ForeignKey("tenants.id", ondelete="RESTRICT")),
        sa.Column("use_case_id", sa.Integer, sa.ForeignKey("use_cases.id", ondelete="RESTRICT")),
        sa.Column("quotas", sa.JSON, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS),
        sa.Column("revoked_at", _TS),
        sa.Column("last_used_at", _TS),
    )
    op.create_index("ix_api_keys_use_case_id", "api_keys", ["use_case_id"])
    op.create_table(
        "usage_records",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("tenant", sa.String(100)),
        sa.Column("use_case", sa.String(100)),
        sa.Column("key_prefix", sa.String(32)),
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("model", sa.String(100)),
        sa.Column("backend", sa.String(100)),
        sa.Column("zone", sa.String(32)),
        sa.Column("classification", sa.String(16)),
        sa.Column("prompt_tokens", sa.Integer, nullable=False),
        sa.Column("completion_tokens", sa.Integer, nullable=False),
        sa.Column("ttft_ms", sa.Float),
        sa.Column("duration_ms", sa.Float, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
    )
    op.create_index("ix_usage_records_request_id", "usage_records", ["request_id"])
    op.create_index("ix_usage_records_created_at", "usage_records", ["created_at"])
    op.create_index("ix_usage_records_tenant", "usage_records", ["tenant"])


def downgrade() -> None:
    op.drop_table("usage_records")
    op.drop_table("api_keys")
    op.drop_table("use_cases")
    op.drop_table("tenants")
