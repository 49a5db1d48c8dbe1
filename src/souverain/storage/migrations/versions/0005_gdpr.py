"""GDPR: what the register of processing needs from each use case, and which conversations hold whose data.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_REGISTER_FIELDS = ("data_subjects", "personal_data", "recipients")


def upgrade() -> None:
    # Art. 30(1)(c), (d): categories of data subjects and of personal data, and recipients
    for name in _REGISTER_FIELDS:
        op.add_column("use_cases", sa.Column(name, sa.JSON, nullable=False, server_default=sa.text("'[]'")))
    op.create_table(
        "privacy_subject_links",
        sa.Column("id", sa.Integer, primary_key=True),
        # pseudonymous subject identifier: a keyed digest of the person's identifier, never the identifier
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("handle", sa.String(64), nullable=False),  # the conversation's vault handle
        sa.Column("locator", sa.LargeBinary, nullable=False),  # tenant and conversation id, sealed
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.UniqueConstraint("subject", "handle", name="privacy_subject_links_subject_handle"),
    )
    op.create_index("ix_privacy_subject_links_handle", "privacy_subject_links", ["handle"])
    op.create_index("ix_privacy_subject_links_expires_at", "privacy_subject_links", ["expires_at"])


def downgrade() -> None:
    op.drop_table("privacy_subject_links")
    with op.batch_alter_table("use_cases") as batch:
        for name in reversed(_REGISTER_FIELDS):
            batch.drop_column(name)
