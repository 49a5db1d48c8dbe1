"""GDPR: the other people of audit events an erasure cleared, kept outside the chain.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_retained_subjects",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),  # the cleared event
        sa.Column("subject", sa.String(64), nullable=False),  # a pseudonymous subject identifier
    )
    op.create_index("ix_audit_retained_subjects_seq", "audit_retained_subjects", ["seq"])
    op.create_index("ix_audit_retained_subjects_subject", "audit_retained_subjects", ["subject"])


def downgrade() -> None:
    op.drop_table("audit_retained_subjects")
