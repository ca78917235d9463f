"""onboarding remembers its CS manager and why it was assigned beyond capacity

An assignment is made once per onboarding; a retried assign_team activity reads the whole
team back from the onboarding row, so the row keeps the CS manager and the over-capacity
reason too.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("onboarding", schema=None) as batch_op:
        batch_op.add_column(sa.Column("manager", AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column("over_capacity", AutoString(), nullable=True))
        batch_op.create_index(batch_op.f("ix_onboarding_manager"), ["manager"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("onboarding", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_onboarding_manager"))
        batch_op.drop_column("over_capacity")
        batch_op.drop_column("manager")
