"""integrations: the CRM inbox, CRM links, chat notices; the roster's Slack id and booking link

`crminbox` holds every CRM notification from the moment it is accepted until it is settled
(HubSpot and Salesforce are answered only once their notifications are stored); `crmlink`
says which CRM record an account came from, for the phase and status write-back;
`chatnotice` remembers the Slack message (channel, ts) that shows each escalation, so it is
posted once and updated in place. `staff.slack_id` and `staff.booking_url` are optional.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crminbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", AutoString(length=200), nullable=False),
        sa.Column("crm", AutoString(length=20), nullable=False),
        sa.Column("record_id", AutoString(length=40), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", AutoString(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("claimed_until", UTCDateTime(), nullable=True),
        sa.Column("account_id", AutoString(length=64), nullable=True),
        sa.Column("outcome", AutoString(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    op.create_index("ix_crminbox_record_id", "crminbox", ["record_id"])
    op.create_index("ix_crminbox_status", "crminbox", ["status"])
    op.create_index("ix_crminbox_next_attempt_at", "crminbox", ["next_attempt_at"])
    op.create_table(
        "crmlink",
        sa.Column("account_id", AutoString(length=64), nullable=False),
        sa.Column("crm", AutoString(length=20), nullable=False),
        sa.Column("record_id", AutoString(length=40), nullable=False),
        sa.Column("last_change_at", UTCDateTime(), nullable=False),
        sa.Column("synced_at", UTCDateTime(), nullable=True),
        sa.Column("synced_seq", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account_id"),
        sa.UniqueConstraint("crm", "record_id"),
    )
    op.create_table(
        "chatnotice",
        sa.Column("key", AutoString(length=300), nullable=False),
        sa.Column("account_id", AutoString(length=64), nullable=False),
        sa.Column("workflow_id", AutoString(length=100), nullable=False),
        sa.Column("slack_channel", AutoString(length=40), nullable=True),
        sa.Column("slack_ts", AutoString(length=40), nullable=True),
        sa.Column("teams_posted", sa.Boolean(), nullable=False),
        sa.Column("view", sa.JSON(), nullable=False),
        sa.Column("state", AutoString(length=20), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_chatnotice_account_id", "chatnotice", ["account_id"])
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slack_id", AutoString(length=40), nullable=True))
        batch_op.add_column(sa.Column("booking_url", AutoString(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_column("booking_url")
        batch_op.drop_column("slack_id")
    op.drop_table("chatnotice")
    op.drop_table("crmlink")
    op.drop_table("crminbox")
