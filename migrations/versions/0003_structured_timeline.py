"""timeline rows carry their facts as fields; an escalation counts its repeats; tasks can be cancelled

`timelineevent.data` holds what reports read (survey scores, owner ids, touch names) as JSON
instead of parsing the detail text; `seq` (on timeline rows and on the emails that write
them) is the journey's own order, so rows of one moment read in the order they happened
although emails and records are written by different activities. `humantask.occurrences`
and `last_seen_at` let a rule that fires again update its open escalation instead of
opening another. A task's status may now
also be 'cancelled' (the onboarding was cancelled while it was open): no schema change.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("timelineevent", schema=None) as batch_op:
        batch_op.add_column(sa.Column("data", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("outboxemail", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("humantask", schema=None) as batch_op:
        batch_op.add_column(sa.Column("occurrences", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("last_seen_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("humantask", schema=None) as batch_op:
        batch_op.drop_column("last_seen_at")
        batch_op.drop_column("occurrences")
    with op.batch_alter_table("outboxemail", schema=None) as batch_op:
        batch_op.drop_column("seq")
    with op.batch_alter_table("timelineevent", schema=None) as batch_op:
        batch_op.drop_column("seq")
        batch_op.drop_column("data")
