"""Privacy: each use case's personal-data policy, and the encrypted pseudonymisation vaults.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # existing use cases get the safe default: personal data is pseudonymised before a model sees it
    op.add_column(
        "use_cases",
        sa.Column("privacy_policy", sa.String(16), nullable=False, server_default="pseudonymize"),
    )
    op.add_column(
        "use_cases",
        sa.Column("privacy_block_types", sa.JSON, nullable=False, server_default=sa.text("'[]'")),
    )
    op.create_table(
        "privacy_vaults",
        # keyed digest of (tenant, conversation id): the conversation id itself is not stored
        sa.Column("handle", sa.String(64), primary_key=True),
        sa.Column("ciphertext", sa.LargeBinary, nullable=False),  # nonce + AES-GCM ciphertext and tag
        sa.Column("version", sa.Integer, nullable=False),  # optimistic concurrency between requests
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
    )
    op.create_index("ix_privacy_vaults_expires_at", "privacy_vaults", ["expires_at"])


def downgrade() -> None:
    op.drop_table("privacy_vaults")
    with op.batch_alter_table("use_cases") as batch:
        batch.drop_column("privacy_block_types")
        batch.drop_column("privacy_policy")
