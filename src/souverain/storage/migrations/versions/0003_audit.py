"""Audit trail: hash-chained events (Merkle-tree leaves) and their signed checkpoints.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_HASH = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("status", sa.Integer),
        sa.Column("request_id", sa.String(128), nullable=False),
        # personal fields: cleared by retention or erasure; the chain commits to their keyed digests
        sa.Column("actor", sa.String(200)),
        sa.Column("actor_digest", _HASH),
        sa.Column("subject", sa.String(200)),
        sa.Column("subject_digest", _HASH),
        sa.Column("tenant", sa.String(100)),
        sa.Column("use_case", sa.String(100)),
        sa.Column("purpose", sa.Text),
        sa.Column("model", sa.String(100)),
        sa.Column("served_model", sa.String(200)),
        sa.Column("weights_sha256", _HASH),
        sa.Column("backend", sa.String(100)),
        sa.Column("zone", sa.String(32)),
        sa.Column("classification", sa.String(16)),
        sa.Column("entity_types", sa.JSON, nullable=False),
        sa.Column("prompt_tokens", sa.Integer, nullable=False),
        sa.Column("completion_tokens", sa.Integer, nullable=False),
        sa.Column("request_digest", _HASH),
        sa.Column("response_digest", _HASH),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("content", sa.LargeBinary),  # opt-in stored content, encrypted by the caller
        sa.Column("purged_at", _TS),
        sa.Column("leaf_hash", _HASH, nullable=False),
        sa.Column("prev_hash", _HASH, nullable=False),
        sa.Column("entry_hash", _HASH, nullable=False),
    )
    op.create_index("ix_audit_events_created_at", "audit_events", ["created_at"])
    op.create_index("ix_audit_events_tenant_use_case", "audit_events", ["tenant", "use_case"])
    op.create_index("ix_audit_events_request_id", "audit_events", ["request_id"])
    op.create_index("ix_audit_events_subject_digest", "audit_events", ["subject_digest"])
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("origin", sa.String(100), nullable=False),
        sa.Column("tree_size", sa.BigInteger, nullable=False),
        sa.Column("root_hash", _HASH, nullable=False),
        sa.Column("chain_head", _HASH, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.Column("frontier", sa.JSON, nullable=False),
    )
    op.create_index("ix_audit_checkpoints_tree_size", "audit_checkpoints", ["tree_size"])


def downgrade() -> None:
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_events")
