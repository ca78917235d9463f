"""initial schema

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account",
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("company", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("segment", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("locale", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("acv", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("employees", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account_id"),
    )
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_segment"), ["segment"], unique=False)

    op.create_table(
        "humantask",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("rule", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("to_role", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("assignee", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("opened_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("due_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("resolved_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("resolved_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("resolution", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("humantask", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_humantask_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_humantask_assignee"), ["assignee"], unique=False)
        batch_op.create_index(batch_op.f("ix_humantask_status"), ["status"], unique=False)

    op.create_table(
        "outboxemail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("template", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("to_role", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("to_email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("html", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("backend", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("provider_message_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("outboxemail", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outboxemail_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outboxemail_status"), ["status"], unique=False)

    op.create_table(
        "staff",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("segments", sa.JSON(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_role"), ["role"], unique=False)

    op.create_table(
        "suppression",
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("email"),
    )
    op.create_table(
        "timelineevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("to", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("timelineevent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_timelineevent_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_timelineevent_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_timelineevent_kind"), ["kind"], unique=False)

    op.create_table(
        "webhookevent",
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_table(
        "onboarding",
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("segment", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("phase", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("health", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("specialist", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("signed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("first_value_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("completed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("cancelled_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("cancel_reason", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.account_id"],
        ),
        sa.PrimaryKeyConstraint("workflow_id"),
    )
    with op.batch_alter_table("onboarding", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_onboarding_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_onboarding_owner"), ["owner"], unique=False)
        batch_op.create_index(batch_op.f("ix_onboarding_segment"), ["segment"], unique=False)
        batch_op.create_index(batch_op.f("ix_onboarding_specialist"), ["specialist"], unique=False)
        batch_op.create_index(batch_op.f("ix_onboarding_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("onboarding", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_onboarding_status"))
        batch_op.drop_index(batch_op.f("ix_onboarding_specialist"))
        batch_op.drop_index(batch_op.f("ix_onboarding_segment"))
        batch_op.drop_index(batch_op.f("ix_onboarding_owner"))
        batch_op.drop_index(batch_op.f("ix_onboarding_account_id"))

    op.drop_table("onboarding")
    op.drop_table("webhookevent")
    with op.batch_alter_table("timelineevent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_timelineevent_kind"))
        batch_op.drop_index(batch_op.f("ix_timelineevent_at"))
        batch_op.drop_index(batch_op.f("ix_timelineevent_account_id"))

    op.drop_table("timelineevent")
    op.drop_table("suppression")
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_role"))

    op.drop_table("staff")
    with op.batch_alter_table("outboxemail", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outboxemail_status"))
        batch_op.drop_index(batch_op.f("ix_outboxemail_account_id"))

    op.drop_table("outboxemail")
    with op.batch_alter_table("humantask", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_humantask_status"))
        batch_op.drop_index(batch_op.f("ix_humantask_assignee"))
        batch_op.drop_index(batch_op.f("ix_humantask_account_id"))

    op.drop_table("humantask")
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_segment"))

    op.drop_table("account")
