"""Assistant: conversations kept for their use case's retention, their messages, and hand-over tickets.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def _conversation_fk() -> sa.Column[int]:
    target = sa.ForeignKey("assistant_conversations.id", ondelete="CASCADE")
    return sa.Column("conversation", sa.Integer, target, nullable=False)


def upgrade() -> None:
    op.create_table(
        "assistant_conversations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant", sa.String(100), nullable=False),  # the tenant's name
        sa.Column("use_case", sa.String(100), nullable=False),
        sa.Column("conversation_id", sa.String(128), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.UniqueConstraint("tenant", "conversation_id", name="assistant_conversations_tenant_conversation"),
    )
    op.create_index("ix_assistant_conversations_expires_at", "assistant_conversations", ["expires_at"])
    op.create_table(
        "assistant_messages",
        sa.Column("id", sa.Integer, primary_key=True),
        _conversation_fk(),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("citations", sa.JSON, nullable=False),
        sa.Column("grounded", sa.Boolean, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index("ix_assistant_messages_conversation", "assistant_messages", ["conversation"])
    op.create_table(
        "assistant_handovers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("ticket_id", sa.String(40), nullable=False, unique=True),
        _conversation_fk(),
        sa.Column("tenant", sa.String(100), nullable=False),
        sa.Column("use_case", sa.String(100), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    for column in ("conversation", "tenant", "status"):
        op.create_index(f"ix_assistant_handovers_{column}", "assistant_handovers", [column])


def downgrade() -> None:
    op.drop_table("assistant_handovers")
    op.drop_table("assistant_messages")
    op.drop_table("assistant_conversations")
