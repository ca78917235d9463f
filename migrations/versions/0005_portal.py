"""the customer portal: revoked links, one-time codes, forms already acted on

`portalrevocation`: per person of an account, links made before `revoked_at` no longer open
(`admin.py portal revoke`). `portalcode`: one-time codes sent by email, stored as a keyed
hash with the attempts made. `portalsubmission`: every form a person sent, by its key (the
action's id), so a double submit acts once and rate limits can count.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "portalrevocation",
        sa.Column("account_id", text(length=64), nullable=False),
        sa.Column("email", text(length=254), nullable=False),
        sa.Column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("revoked_by", text(length=100), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "email"),
    )
    op.create_table(
        "portalcode",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", text(length=64), nullable=False),
        sa.Column("email", text(length=254), nullable=False),
        sa.Column("code_hash", text(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_portalcode_account_id", "portalcode", ["account_id"])
    op.create_index("ix_portalcode_email", "portalcode", ["email"])
    op.create_index("ix_portalcode_created_at", "portalcode", ["created_at"])
    op.create_table(
        "portalsubmission",
        sa.Column("key", text(length=64), nullable=False),
        sa.Column("account_id", text(length=64), nullable=False),
        sa.Column("email", text(length=254), nullable=False),
        sa.Column("action", text(length=40), nullable=False),
        sa.Column("step", text(length=100), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("outcome", text(length=20), nullable=False),
        sa.Column("message", text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_portalsubmission_account_id", "portalsubmission", ["account_id"])
    op.create_index("ix_portalsubmission_email", "portalsubmission", ["email"])
    op.create_index("ix_portalsubmission_created_at", "portalsubmission", ["created_at"])


def downgrade() -> None:
    op.drop_table("portalsubmission")
    op.drop_table("portalcode")
    op.drop_table("portalrevocation")
